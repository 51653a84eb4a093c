// Runs in: dockerbox-registry and the engine (unprivileged). Input: untrusted config blobs.
// Unknown fields are ignored (the spec allows them); a known field of the wrong type is an
// error, never a silent default.
#include "registry/image_config.hpp"

#include "registry/json_limits.hpp"
#include "registry/manifest.hpp"
#include "registry/reference.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dockerbox::registry {
namespace json = boost::json;
namespace {

constexpr std::size_t kMaxEntries = 4096;
constexpr std::size_t kMaxString = 64 << 10;

Error bad(std::string_view field) {
  return fail(ErrorKind::Unavailable, "invalid image config: \"" + std::string(field) + "\" has the wrong type or size");
}

Result<std::string> stringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::string();
  if (!v->is_string() || v->as_string().size() > kMaxString) return bad(key);
  return std::string(v->as_string());
}

Result<std::optional<std::vector<std::string>>> listOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::vector<std::string>>();
  if (!v->is_array() || v->as_array().size() > kMaxEntries) return bad(key);
  std::vector<std::string> out;
  for (const auto& e : v->as_array()) {
    if (!e.is_string() || e.as_string().size() > kMaxString) return bad(key);
    out.emplace_back(e.as_string());
  }
  return std::optional(std::move(out));
}

/// {"80/tcp": {}} style sets: the keys, sorted.
Result<std::vector<std::string>> keysOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::vector<std::string>();
  if (!v->is_object() || v->as_object().size() > kMaxEntries) return bad(key);
  std::vector<std::string> out;
  for (const auto& [k, unused] : v->as_object()) {
    if (k.size() > kMaxString) return bad(key);
    out.emplace_back(k);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::int64_t> intOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::int64_t{0};
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v->as_uint64());
  return bad(key);
}

Result<HealthConfig> healthOf(const json::object& o) {
  HealthConfig h;
  auto test = listOf(o, "Test");
  if (!test) return test.error();
  if (*test) h.test = std::move(**test);
  for (auto [key, field] : {std::pair{"Interval", &h.interval}, {"Timeout", &h.timeout},
                            {"StartPeriod", &h.startPeriod}, {"StartInterval", &h.startInterval},
                            {"Retries", &h.retries}}) {
    auto n = intOf(o, key);
    if (!n) return n.error();
    if (*n < 0) return bad(key);
    *field = *n;
  }
  return h;
}

Result<void> readContainerConfig(const json::object& c, ImageConfig& out) {
  auto entrypoint = listOf(c, "Entrypoint");
  if (!entrypoint) return entrypoint.error();
  out.entrypoint = std::move(*entrypoint);
  auto cmd = listOf(c, "Cmd");
  if (!cmd) return cmd.error();
  out.cmd = std::move(*cmd);
  auto env = listOf(c, "Env");
  if (!env) return env.error();
  if (*env) out.env = std::move(**env);
  auto onBuild = listOf(c, "OnBuild");
  if (!onBuild) return onBuild.error();
  if (*onBuild) out.onBuild = std::move(**onBuild);
  auto shell = listOf(c, "Shell");
  if (!shell) return shell.error();
  out.shell = std::move(*shell);
  for (auto [key, field] : {std::pair{"WorkingDir", &out.workingDir}, {"User", &out.user},
                            {"StopSignal", &out.stopSignal}}) {
    auto s = stringOf(c, key);
    if (!s) return s.error();
    *field = std::move(*s);
  }
  auto ports = keysOf(c, "ExposedPorts");
  if (!ports) return ports.error();
  out.exposedPorts = std::move(*ports);
  auto volumes = keysOf(c, "Volumes");
  if (!volumes) return volumes.error();
  out.volumes = std::move(*volumes);
  if (const json::value* labels = c.if_contains("Labels"); labels != nullptr && !labels->is_null()) {
    if (!labels->is_object() || labels->as_object().size() > kMaxEntries) return bad("Labels");
    for (const auto& [k, v] : labels->as_object()) {
      if (!v.is_string() || k.size() > kMaxString || v.as_string().size() > kMaxString) return bad("Labels");
      out.labels.emplace_back(std::string(k), std::string(v.as_string()));
    }
    std::sort(out.labels.begin(), out.labels.end());
  }
  if (const json::value* health = c.if_contains("Healthcheck"); health != nullptr && !health->is_null()) {
    if (!health->is_object()) return bad("Healthcheck");
    auto h = healthOf(health->as_object());
    if (!h) return h.error();
    out.healthcheck = std::move(*h);
  }
  return {};
}

}  // namespace

Result<ImageConfig> parseImageConfig(std::string_view body) {
  if (body.size() > kMaxConfigBytes) return fail(ErrorKind::Unavailable, "invalid image config: larger than 4 MiB");
  auto parsed = parseLimitedJson(body);
  if (!parsed) return fail(ErrorKind::Unavailable, "invalid image config: " + parsed.error().message);
  const json::object* o = parsed->if_object();
  if (o == nullptr) return fail(ErrorKind::Unavailable, "invalid image config: not a JSON object");
  ImageConfig out;
  for (auto [key, field] : {std::pair{"architecture", &out.architecture}, {"os", &out.os},
                            {"variant", &out.variant}, {"created", &out.created}, {"author", &out.author}}) {
    auto s = stringOf(*o, key);
    if (!s) return s.error();
    *field = std::move(*s);
  }
  if (const json::value* c = o->if_contains("config"); c != nullptr && !c->is_null()) {
    if (!c->is_object()) return bad("config");
    if (auto ok = readContainerConfig(c->as_object(), out); !ok) return ok.error();
  }
  if (const json::value* rootfs = o->if_contains("rootfs"); rootfs != nullptr && !rootfs->is_null()) {
    if (!rootfs->is_object()) return bad("rootfs");
    auto ids = listOf(rootfs->as_object(), "diff_ids");
    if (!ids) return ids.error();
    if (*ids) {
      for (const auto& id : **ids) {
        if (!isSha256Digest(id)) return bad("rootfs.diff_ids");
      }
      out.diffIds = std::move(**ids);
    }
  }
  return out;
}

}  // namespace dockerbox::registry
