#include "frontend/filters.hpp"

#include "frontend/limits.hpp"
#include "frontend/strict_json.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <array>
#include <charconv>

namespace dockerbox::frontend {
namespace {

Error invalidFilter(std::string detail = {}) {
  // dockerd's invalidFilter.Error(): "invalid filter" or "invalid filter 'key=value'".
  return fail(ErrorKind::BadRequest,
              detail.empty() ? "invalid filter" : "invalid filter '" + detail + "'");
}

/// Keys dockerd accepts for GET /containers/json (daemon/list.go acceptedPsFilterTags).
constexpr std::array kDockerPsKeys{"ancestor", "before", "exited", "health", "id",
                                   "isolation", "is-task", "label", "name", "network",
                                   "publish", "since", "status", "volume", "expose"};
constexpr std::array kSupportedPsKeys{"ancestor", "before", "exited", "health", "id",
                                      "label",    "name",   "since",  "status"};
constexpr std::array kHealthValues{"starting", "healthy", "unhealthy", "none"};
constexpr std::array kStates{"created", "restarting", "running", "removing",
                             "paused", "exited", "dead"};

template <std::size_t N>
bool contains(const std::array<const char*, N>& list, std::string_view key) {
  return std::any_of(list.begin(), list.end(), [&](const char* k) { return key == k; });
}

std::optional<std::int32_t> parseInt(std::string_view text) {
  std::int32_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

bool matchAt(std::string_view pattern, std::string_view text, std::size_t at) {
  if (text.size() - at < pattern.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '.' && pattern[i] != text[at + i]) return false;
  }
  return true;
}

/// "alpine" -> "docker.io/library/alpine:latest"; digests keep their "@sha256:...".
std::string fullReference(std::string_view ref) {
  std::string out(ref);
  auto slash = out.find('/');
  std::string first = slash == std::string::npos ? "" : out.substr(0, slash);
  bool hasRegistry = !first.empty() && (first.find('.') != std::string::npos ||
                                        first.find(':') != std::string::npos || first == "localhost");
  if (!hasRegistry) out = (slash == std::string::npos ? "docker.io/library/" : "docker.io/") + out;
  auto lastSlash = out.rfind('/');
  if (out.find('@') == std::string::npos && out.find(':', lastSlash) == std::string::npos) out += ":latest";
  return out;
}

bool isHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

bool matchAncestor(std::string_view wanted, std::string_view image, std::string_view imageId) {
  if (wanted.empty()) return false;
  if (!image.empty() && fullReference(wanted) == fullReference(image)) return true;
  std::string_view hex = imageId.starts_with("sha256:") ? imageId.substr(7) : imageId;
  std::string_view want = wanted.starts_with("sha256:") ? wanted.substr(7) : wanted;
  return isHex(want) && !hex.empty() && hex.starts_with(want);
}

std::optional<std::string> ContainerFilter::last(const std::string& key) const {
  auto found = args_.find(key);
  if (found == args_.end() || found->second.empty()) return std::nullopt;
  return found->second.back();
}

Result<FilterArgs> parseFilters(std::string_view json) {
  if (json.empty()) return FilterArgs{};
  if (json.size() > kMaxFiltersBytes) return invalidFilter();
  // Strict: a key given twice is refused rather than silently replaced (strict_json.hpp).
  auto parsed = parseStrictJson(json);
  if (!parsed || !parsed->is_object()) return invalidFilter();
  FilterArgs out;
  for (const auto& [key, entry] : parsed->as_object()) {
    auto& values = out[std::string(key)];
    auto add = [&](std::string_view value) -> bool {
      if (value.size() > kMaxFilterValueBytes || values.size() >= kMaxFilterValues) return false;
      if (std::find(values.begin(), values.end(), value) == values.end()) values.emplace_back(value);
      return true;
    };
    if (entry.is_object()) {  // map form: {"value": true}; Go ignores the boolean itself
      for (const auto& [value, flag] : entry.as_object()) {
        if (!flag.is_bool() || !add(value)) return invalidFilter();
      }
    } else if (entry.is_array()) {  // list form (docker-py, compose)
      for (const auto& value : entry.as_array()) {
        if (!value.is_string() || !add(value.as_string())) return invalidFilter();
      }
    } else {
      return invalidFilter();
    }
  }
  return out;
}

std::optional<bool> matchSimplePattern(std::string_view pattern, std::string_view text) {
  bool anchoredStart = !pattern.empty() && pattern.front() == '^';
  if (anchoredStart) pattern.remove_prefix(1);
  bool anchoredEnd = !pattern.empty() && pattern.back() == '$';
  if (anchoredEnd) pattern.remove_suffix(1);
  if (pattern.find_first_of("^$*+?()[]{}|\\") != std::string_view::npos) return std::nullopt;
  if (anchoredStart && anchoredEnd) return text.size() == pattern.size() && matchAt(pattern, text, 0);
  if (anchoredStart) return matchAt(pattern, text, 0);
  if (anchoredEnd) return text.size() >= pattern.size() && matchAt(pattern, text, text.size() - pattern.size());
  for (std::size_t at = 0; at + pattern.size() <= text.size(); ++at) {
    if (matchAt(pattern, text, at)) return true;
  }
  return false;
}

Result<ContainerFilter> ContainerFilter::make(const FilterArgs& args) {
  for (const auto& [key, values] : args) {
    if (!contains(kDockerPsKeys, key)) return invalidFilter(key);
    if (!contains(kSupportedPsKeys, key)) {
      return fail(ErrorKind::BadRequest, "filter " + key + " is not supported yet");
    }
    for (const auto& value : values) {
      if (key == "status" && !contains(kStates, value)) return invalidFilter("status=" + value);
      if (key == "exited" && !parseInt(value)) return invalidFilter("exited=" + value);
      if (key == "health" && !contains(kHealthValues, value)) {
        return fail(ErrorKind::BadRequest, "Unrecognised filter value for health: " + value);
      }
      if ((key == "id" || key == "name") && !matchSimplePattern(value, "")) {
        return fail(ErrorKind::BadRequest,
                    "filter " + key + ": only literal patterns with '.', '^' and '$' are "
                    "supported, got '" + value + "'");
      }
    }
  }
  return ContainerFilter(args);
}

bool ContainerFilter::matches(const ContainerFacts& facts) const {
  // Values of one key are alternatives (any may match); different keys must all match;
  // every label filter must match (dockerd's MatchKVList).
  for (const auto& entry : args_) {
    // Plain references, not structured bindings: lambdas capture them (clang 14 cannot).
    const std::string& key = entry.first;
    const std::vector<std::string>& values = entry.second;
    auto any = [&](auto&& predicate) { return std::any_of(values.begin(), values.end(), predicate); };
    bool ok = true;
    if (key == "id") {
      ok = any([&](const std::string& v) { return matchSimplePattern(v, facts.id).value_or(false); });
    } else if (key == "name") {
      ok = any([&](const std::string& v) {
        return std::any_of(facts.names->begin(), facts.names->end(), [&](const std::string& name) {
          return matchSimplePattern(v, name).value_or(false);
        });
      });
    } else if (key == "status") {
      ok = any([&](const std::string& v) { return v == toApiString(facts.state); });
    } else if (key == "exited") {
      ok = facts.state == ContainerState::Exited && facts.exitCode &&
           any([&](const std::string& v) { return parseInt(v) == facts.exitCode; });
    } else if (key == "health") {
      // dockerd's: "none" is a container without a check (here: none running).
      ok = any([&](const std::string& v) { return v == (facts.health.empty() ? "none" : facts.health); });
    } else if (key == "ancestor") {
      ok = any([&](const std::string& v) { return matchAncestor(v, facts.image, facts.imageId); });
    } else if (key == "before" || key == "since") {
      ok = true;  // applied over the whole list by the renderer
    } else if (key == "label") {
      ok = std::all_of(values.begin(), values.end(), [&](const std::string& v) {
        auto eq = v.find('=');
        std::string_view wantKey = std::string_view(v).substr(0, eq);
        return std::any_of(facts.labels->begin(), facts.labels->end(), [&](const auto& label) {
          return label.first == wantKey &&
                 (eq == std::string::npos || label.second == std::string_view(v).substr(eq + 1));
        });
      });
    } else {
      ok = false;  // make() admits no other key; deny rather than guess
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace dockerbox::frontend
