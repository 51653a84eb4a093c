// Runs in the engine (dockerbox-engine, unprivileged). Input: /events filter terms from the
// client (validated for length by the decoder; keys are checked here against Docker's
// list).
//
// Docker's matching (moby daemon/events/filter.go): values of one key are alternatives,
// different keys must all match. `container` (and the other object keys) match the actor id
// by prefix or its `name` attribute; `image` matches the image name with or without its tag;
// `label` matches `key` or `key=value` among the attributes; `event` matches the action or
// the part before ": " (`exec_start: echo hi`).
#pragma once

#include "broker/request.hpp"
#include "engine/state/records.hpp"
#include "common/result.hpp"

#include <map>
#include <string>
#include <vector>

namespace dockerbox::broker::containers {

class EventFilter {
 public:
  /// BadRequest `Invalid filter '<key>'` for a key Docker does not know.
  [[nodiscard]] static Result<EventFilter> parse(const KeyValues& terms);

  [[nodiscard]] bool matches(const state::Event& event) const;

 private:
  [[nodiscard]] bool any(const std::string& key, const auto& predicate) const;
  std::map<std::string, std::vector<std::string>> terms_;
};

}  // namespace dockerbox::broker::containers
