// Runs in: dockerbox-registry and the engine (unprivileged). Input: untrusted registry bytes.
#include "registry/manifest.hpp"

#include "registry/json_limits.hpp"
#include "registry/reference.hpp"

#include <boost/json.hpp>

#include <sys/utsname.h>

#include <algorithm>

namespace dockerbox::registry {
namespace json = boost::json;
namespace {

Error bad(std::string message) { return fail(ErrorKind::Unavailable, "invalid manifest: " + std::move(message)); }

const json::string* stringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

Result<Platform> platformOf(const json::object& o) {
  Platform p;
  const auto* os = stringAt(o, "os");
  const auto* arch = stringAt(o, "architecture");
  if (os == nullptr || arch == nullptr) return bad("an index entry's platform lacks os or architecture");
  p.os = std::string(*os);
  p.architecture = std::string(*arch);
  if (const auto* variant = stringAt(o, "variant")) p.variant = std::string(*variant);
  return p;
}

Result<Descriptor> descriptorOf(const json::value& v, bool withPlatform) {
  const json::object* o = v.if_object();
  if (o == nullptr) return bad("a descriptor is not an object");
  Descriptor d;
  if (const auto* type = stringAt(*o, "mediaType")) d.mediaType = std::string(*type);
  const auto* digest = stringAt(*o, "digest");
  if (digest == nullptr || !isSha256Digest(*digest)) return bad("a descriptor's digest is missing or not sha256");
  d.digest = std::string(*digest);
  const json::value* size = o->if_contains("size");
  if (size == nullptr || !size->is_int64() || size->as_int64() < 0) return bad("a descriptor's size is missing or negative");
  d.size = size->as_int64();
  if (withPlatform) {
    if (const json::value* platform = o->if_contains("platform"); platform != nullptr && platform->is_object()) {
      auto p = platformOf(platform->as_object());
      if (!p) return p.error();
      d.platform = std::move(*p);
    }
  }
  return d;
}

Result<std::vector<Descriptor>> descriptorsOf(const json::object& o, std::string_view key, bool withPlatform) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_array()) return bad(std::string("\"") + std::string(key) + "\" is missing");
  const json::array& a = v->as_array();
  if (a.size() > kMaxDescriptors) return bad(std::string("too many entries in \"") + std::string(key) + "\"");
  std::vector<Descriptor> out;
  out.reserve(a.size());
  for (const auto& entry : a) {
    auto d = descriptorOf(entry, withPlatform);
    if (!d) return d.error();
    out.push_back(std::move(*d));
  }
  return out;
}

/// Go's GOARCH names for uname's machine.
std::string goArch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine.starts_with("armv")) return "arm";
  if (machine == "i386" || machine == "i686") return "386";
  return std::string(machine);
}

std::string normalVariant(const Platform& p) {
  if (!p.variant.empty()) return p.variant;
  if (p.architecture == "arm64") return "v8";
  if (p.architecture == "arm") return "v7";
  return {};
}

}  // namespace

std::string Platform::text() const { return os + "/" + architecture + (variant.empty() ? "" : "/" + variant); }

Result<Platform> parsePlatform(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (parts.size() < 4) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  const bool valid = (parts.size() == 2 || parts.size() == 3) &&
                     std::all_of(parts.begin(), parts.end(), [](const std::string& s) {
                       return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
                     });
  if (!valid) {
    return fail(ErrorKind::BadRequest, "\"" + std::string(text.substr(0, 100)) +
                                           "\": unknown operating system or architecture: invalid argument");
  }
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

Platform hostPlatform() {
  struct utsname u {};
  Platform p{"linux", "amd64", ""};
  if (::uname(&u) == 0) p.architecture = goArch(u.machine);
  return p;
}

Result<AnyManifest> parseManifest(std::string_view body, std::string_view contentType) {
  if (body.size() > kMaxManifestBytes) return bad("larger than 4 MiB");
  auto parsed = parseLimitedJson(body);
  if (!parsed) return bad(parsed.error().message);
  const json::object* o = parsed->if_object();
  if (o == nullptr) return bad("not a JSON object");
  std::string type;
  if (const auto* t = stringAt(*o, "mediaType")) {
    type = std::string(*t);
  } else {
    type = std::string(contentType.substr(0, contentType.find(';')));
    while (!type.empty() && type.back() == ' ') type.pop_back();
  }
  if (const json::value* version = o->if_contains("schemaVersion");
      version != nullptr && version->is_int64() && version->as_int64() == 1) {
    return fail(ErrorKind::Unavailable,
                "invalid manifest: Docker image format v1 (schema 1) is not supported; push the image again with a "
                "current client");
  }
  if (type == kOciIndex || type == kDockerManifestList) {
    ImageIndex index;
    index.mediaType = type;
    auto entries = descriptorsOf(*o, "manifests", true);
    if (!entries) return entries.error();
    index.manifests = std::move(*entries);
    return AnyManifest(std::move(index));
  }
  if (type == kOciManifest || type == kDockerManifest) {
    ImageManifest m;
    m.mediaType = type;
    const json::value* config = o->if_contains("config");
    if (config == nullptr) return bad("\"config\" is missing");
    auto c = descriptorOf(*config, false);
    if (!c) return c.error();
    m.config = std::move(*c);
    if (m.config.size > static_cast<std::int64_t>(kMaxConfigBytes)) return bad("the image config is larger than 4 MiB");
    auto layers = descriptorsOf(*o, "layers", false);
    if (!layers) return layers.error();
    m.layers = std::move(*layers);
    return AnyManifest(std::move(m));
  }
  return bad("unsupported media type \"" + type.substr(0, 100) + "\"");
}

Result<Descriptor> selectPlatform(const ImageIndex& index, const Platform& want) {
  const std::string wantVariant = normalVariant(want);
  for (const auto& d : index.manifests) {
    if (!d.platform) continue;
    if (d.mediaType != kOciManifest && d.mediaType != kDockerManifest && !d.mediaType.empty()) continue;
    if (d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
    // A variant is compared when one was asked for, and always on arm (whose variants
    // differ in what they run); elsewhere (amd64 v2, v3) any entry runs.
    const bool arm = want.architecture == "arm" || want.architecture == "arm64";
    if ((!want.variant.empty() || arm) && normalVariant(*d.platform) != wantVariant) continue;
    return d;
  }
  return fail(ErrorKind::NotFound, "no matching manifest for " + want.text() + " in the manifest list entries");
}

}  // namespace dockerbox::registry
