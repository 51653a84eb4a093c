// Runs in the engine (dockerbox-engine, unprivileged). Input: client filter terms (see the
// header).
#include "engine/containers/event_filter.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace dockerbox::broker::containers {

namespace {

constexpr std::array<std::string_view, 14> kKnownKeys = {
    "config", "container", "daemon", "event", "image", "label", "network",
    "node",   "plugin",    "scope",  "secret", "service", "type", "volume"};

// Keys naming an object by id or name, matched like moby's fuzzyMatchName.
constexpr std::array<std::string_view, 9> kObjectKeys = {"config", "container", "daemon", "network", "node",
                                                         "plugin", "secret",    "service", "volume"};

const std::string* attribute(const state::Event& e, std::string_view key) {
  for (const auto& kv : e.attributes) {
    if (kv.key == key) return &kv.value;
  }
  return nullptr;
}

/// "alpine:latest" -> "alpine"; "localhost:5000/app" stays (that colon is a port).
std::string stripTag(std::string_view ref) {
  auto colon = ref.rfind(':');
  if (colon == std::string_view::npos || ref.find('/', colon) != std::string_view::npos) return std::string(ref);
  return std::string(ref.substr(0, colon));
}

}  // namespace

Result<EventFilter> EventFilter::parse(const KeyValues& terms) {
  EventFilter filter;
  for (const auto& [key, value] : terms) {
    if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) == kKnownKeys.end()) {
      return fail(ErrorKind::BadRequest, "Invalid filter '" + key + "'");
    }
    filter.terms_[key].push_back(value);
  }
  return filter;
}

bool EventFilter::any(const std::string& key, const auto& predicate) const {
  auto it = terms_.find(key);
  if (it == terms_.end()) return true;  // no term for this key: it does not restrict
  return std::any_of(it->second.begin(), it->second.end(), predicate);
}

bool EventFilter::matches(const state::Event& e) const {
  if (!any("type", [&](const std::string& v) { return v == e.type; })) return false;
  if (!any("event", [&](const std::string& v) {
        return v == e.action || e.action.starts_with(v + ":");
      })) {
    return false;
  }
  if (!any("scope", [](const std::string& v) { return v == "local"; })) return false;
  const std::string* name = attribute(e, "name");
  for (auto key : kObjectKeys) {
    if (!any(std::string(key), [&](const std::string& v) {
          return e.actorId.starts_with(v) || (name != nullptr && name->starts_with(v));
        })) {
      return false;
    }
  }
  const std::string* imageName = attribute(e, e.type == "image" ? "name" : "image");
  if (!any("image", [&](const std::string& v) {
        if (v == e.actorId || v == stripTag(e.actorId)) return true;
        return imageName != nullptr && (v == *imageName || v == stripTag(*imageName));
      })) {
    return false;
  }
  return any("label", [&](const std::string& v) {
    auto eq = v.find('=');
    const std::string* found = attribute(e, v.substr(0, eq));
    if (found == nullptr) return false;
    return eq == std::string::npos || *found == v.substr(eq + 1);
  });
}

}  // namespace dockerbox::broker::containers
