// Docker's `filters` query parameter: parsing both JSON forms and applying the container
// list filters. Runs in: a frontend worker. Input: untrusted JSON from the query string.
#pragma once

#include "common/result.hpp"
#include "frontend/status_text.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::frontend {

/// key -> values. The docker CLI sends the map form {"label":{"a=b":true}}, docker-py and
/// compose the list form {"label":["a=b"]} (client-flows.md fact 11); both land here.
using FilterArgs = std::map<std::string, std::vector<std::string>>;

/// Parses a `filters` value. Empty text means no filters. Anything else that is not one
/// of the two forms fails with dockerd's "invalid filter" (BadRequest).
[[nodiscard]] Result<FilterArgs> parseFilters(std::string_view json);

/// What a container list item offers to the filters.
struct ContainerFacts {
  std::string_view id;
  const std::vector<std::string>* names = nullptr;  // with leading "/"
  ContainerState state = ContainerState::Created;
  std::optional<std::int32_t> exitCode;
  const std::vector<std::pair<std::string, std::string>>* labels = nullptr;
  std::string_view image;    // as the client named it at create
  std::string_view imageId;  // "sha256:<64 hex>" or empty
  std::string_view health;   // "", "starting", "healthy", "unhealthy" (while running)
};

/// The container filters dockerbox applies itself: id, name, status, label (k and k=v),
/// exited, ancestor, health, and before/since (which need the whole list: see beforeRef()). Other
/// keys dockerd knows are refused with "filter <key> is not supported yet"; unknown keys
/// with dockerd's "invalid filter '<key>'".
class ContainerFilter {
 public:
  [[nodiscard]] static Result<ContainerFilter> make(const FilterArgs& args);

  [[nodiscard]] bool empty() const { return args_.empty(); }
  /// dockerd lists stopped containers too when a status or exited filter is given.
  [[nodiscard]] bool impliesAll() const { return args_.contains("status") || args_.contains("exited"); }
  /// Per-item filters (everything but before and since).
  [[nodiscard]] bool matches(const ContainerFacts& facts) const;
  /// The containers named by before= and since= (the last value wins, as in dockerd).
  /// They are found in the newest-first list: before skips everything up to and including
  /// its container, since stops at its container.
  [[nodiscard]] std::optional<std::string> beforeRef() const { return last("before"); }
  [[nodiscard]] std::optional<std::string> sinceRef() const { return last("since"); }

 private:
  explicit ContainerFilter(FilterArgs args) : args_(std::move(args)) {}
  [[nodiscard]] std::optional<std::string> last(const std::string& key) const;
  FilterArgs args_;
};

/// Whether an `ancestor=` value names a container's image: the same reference once
/// docker.io/, library/ and a missing :latest are filled in, or the image id or a prefix of it.
[[nodiscard]] bool matchAncestor(std::string_view wanted, std::string_view image,
                                 std::string_view imageId);

/// dockerd matches id and name filters as unanchored regular expressions. Running an
/// untrusted regex is a denial-of-service risk, so dockerbox supports the subset clients
/// use: literal text where '.' is any character, with optional leading '^' and trailing
/// '$'. Returns nullopt (refused) for any other regex syntax.
[[nodiscard]] std::optional<bool> matchSimplePattern(std::string_view pattern,
                                                     std::string_view text);

}  // namespace dockerbox::frontend
