// libFuzzer target: manifests and indexes as a registry sends them
// (registry/manifest.hpp). Input: a Content-Type line, a newline, the body. No input may
// crash; what parses has checked digests and sizes and at most kMaxDescriptors entries, and
// platform selection on it never crashes either.
#include "registry/manifest.hpp"
#include "registry/reference.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dockerbox::registry;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string_view type = nl == std::string_view::npos ? std::string_view() : text.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? text : text.substr(nl + 1);
  auto parsed = parseManifest(body, type);
  if (!parsed) return 0;
  if (auto* m = std::get_if<ImageManifest>(&*parsed)) {
    check(isSha256Digest(m->config.digest) && m->config.size >= 0);
    check(m->layers.size() <= kMaxDescriptors);
    for (const auto& l : m->layers) check(isSha256Digest(l.digest) && l.size >= 0);
  } else {
    const auto& index = std::get<ImageIndex>(*parsed);
    check(index.manifests.size() <= kMaxDescriptors);
    for (const Platform& p : {Platform{"linux", "amd64", ""}, Platform{"linux", "arm64", ""},
                              Platform{"linux", "arm", "v6"}}) {
      if (auto d = selectPlatform(index, p)) check(d->platform && d->platform->os == p.os);
    }
  }
  return 0;
}
