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
};

/// The container filters dockerbox applies itself: id, name, status, label, exited. Other
/// keys dockerd knows are refused with "filter <key> is not supported yet"; unknown keys
/// with dockerd's "invalid filter '<key>'".
class ContainerFilter {
 public:
  [[nodiscard]] static Result<ContainerFilter> make(const FilterArgs& args);

  [[nodiscard]] bool empty() const { return args_.empty(); }
  /// dockerd lists stopped containers too when a status filter is given.
  [[nodiscard]] bool impliesAll() const { return args_.contains("status"); }
  [[nodiscard]] bool matches(const ContainerFacts& facts) const;

 private:
  explicit ContainerFilter(FilterArgs args) : args_(std::move(args)) {}
  FilterArgs args_;
};

/// dockerd matches id and name filters as unanchored regular expressions. Running an
/// untrusted regex is a denial-of-service risk, so dockerbox supports the subset clients
/// use: literal text where '.' is any character, with optional leading '^' and trailing
/// '$'. Returns nullopt (refused) for any other regex syntax.
[[nodiscard]] std::optional<bool> matchSimplePattern(std::string_view pattern,
                                                     std::string_view text);

}  // namespace dockerbox::frontend
