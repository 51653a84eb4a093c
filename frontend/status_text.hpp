// Human-readable container status, as dockerd composes it for `docker ps` (container/state.go
// String(), with docker/go-units HumanDuration). Runs in: a frontend worker. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::frontend {

/// go-units HumanDuration for a non-negative number of seconds: "Less than a second",
/// "1 second", "5 seconds", "About a minute", "3 minutes", "About an hour", "5 hours",
/// "3 days", "2 weeks", "4 months", "2 years".
[[nodiscard]] std::string humanDuration(std::int64_t seconds);

/// Docker's container states, as the API spells them (ContainerSummary.State).
enum class ContainerState { Created, Running, Paused, Restarting, Removing, Exited, Dead };

[[nodiscard]] std::string_view toApiString(ContainerState state);

struct ContainerTimes {
  std::int64_t startedAt = 0;   // unix seconds; 0 = never
  std::int64_t finishedAt = 0;  // unix seconds; 0 = never
  std::optional<std::int32_t> exitCode;
  std::int64_t created = 0;     // unix seconds; "Up" counts from here when startedAt is 0
};

/// The Status column: "Up 5 seconds", "Up 3 minutes (Paused)", "Exited (3) 2 minutes ago",
/// "Created", "Restarting (1) 5 seconds ago", "Removal In Progress", "Dead".
[[nodiscard]] std::string containerStatusText(ContainerState state, const ContainerTimes& times,
                                              std::int64_t nowUnixSeconds);

}  // namespace dockerbox::frontend
