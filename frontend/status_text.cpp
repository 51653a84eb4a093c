#include "frontend/status_text.hpp"

#include <algorithm>

namespace dockerbox::frontend {

std::string humanDuration(std::int64_t seconds) {
  // Mirrors go-units HumanDuration branch for branch; only the hour step rounds
  // (time.Duration.Round, half away from zero), every other step truncates.
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return std::to_string(seconds) + " seconds";
  std::int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return std::to_string(minutes) + " minutes";
  std::int64_t hours = (seconds + 1800) / 3600;
  if (hours == 1) return "About an hour";
  if (hours < 48) return std::to_string(hours) + " hours";
  if (hours < 24 * 7 * 2) return std::to_string(hours / 24) + " days";
  if (hours < 24 * 30 * 2) return std::to_string(hours / 24 / 7) + " weeks";
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24 / 30) + " months";
  return std::to_string(seconds / 3600 / 24 / 365) + " years";
}

std::string_view toApiString(ContainerState state) {
  switch (state) {
    case ContainerState::Created: return "created";
    case ContainerState::Running: return "running";
    case ContainerState::Paused: return "paused";
    case ContainerState::Restarting: return "restarting";
    case ContainerState::Removing: return "removing";
    case ContainerState::Exited: return "exited";
    case ContainerState::Dead: return "dead";
  }
  return "dead";
}

std::string containerStatusText(ContainerState state, const ContainerTimes& times,
                                std::int64_t nowUnixSeconds) {
  // A clock step backwards must not print a negative duration.
  auto since = [&](std::int64_t t) {
    return humanDuration(std::max<std::int64_t>(0, nowUnixSeconds - t));
  };
  auto code = [&] {
    return times.exitCode ? "(" + std::to_string(*times.exitCode) + ") " : std::string();
  };
  // A running container whose start time was not reported (miniboxd restarted, say) has
  // been up at most since it was created; 0 would print "Up 56 years".
  const std::int64_t up = times.startedAt != 0 ? times.startedAt : times.created;
  switch (state) {
    case ContainerState::Running: return up == 0 ? "Up" : "Up " + since(up);
    case ContainerState::Paused: return (up == 0 ? "Up" : "Up " + since(up)) + " (Paused)";
    case ContainerState::Restarting:
      return "Restarting " + code() + since(times.finishedAt) + " ago";
    case ContainerState::Removing: return "Removal In Progress";
    case ContainerState::Dead: return "Dead";
    case ContainerState::Created: return "Created";
    case ContainerState::Exited: {
      // dockerd always knows the exit code and time; miniboxd may not report them, so
      // print what is known ("Exited (3) 2 minutes ago", "Exited (3)", "Exited").
      std::string text = "Exited";
      if (times.exitCode) text += " (" + std::to_string(*times.exitCode) + ")";
      if (times.finishedAt != 0) text += " " + since(times.finishedAt) + " ago";
      return text;
    }
  }
  return "Dead";
}

}  // namespace dockerbox::frontend
