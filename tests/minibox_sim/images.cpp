// minibox-sim: image references and store. Input: image strings from test clients.
#include "tests/minibox_sim/images.hpp"

#include <algorithm>

namespace dockerbox::sim {

std::string ImageRef::cacheName() const {
  if (registry == "docker.io") return ns + "/" + name;
  return registry + "/" + ns + "/" + name;
}

Result<ImageRef> parseImageRef(std::string_view s) {
  if (s.empty()) return fail(ErrorKind::BadRequest, "empty image reference");
  ImageRef ref;
  std::string_view path = s;
  ref.tag = "latest";
  if (auto colon = s.rfind(':'); colon != std::string_view::npos) {
    std::string_view tag = s.substr(colon + 1);
    if (!tag.empty() && tag.find('/') == std::string_view::npos) {
      path = s.substr(0, colon);
      ref.tag = std::string(tag);
    }
  }
  std::string_view rest = path;
  ref.registry = "docker.io";
  if (auto slash = path.find('/'); slash != std::string_view::npos) {
    std::string_view first = path.substr(0, slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      ref.registry = std::string(first);
      rest = path.substr(slash + 1);
    }
  }
  if (auto slash = rest.rfind('/'); slash != std::string_view::npos) {
    ref.ns = std::string(rest.substr(0, slash));
    ref.name = std::string(rest.substr(slash + 1));
  } else if (ref.registry == "docker.io") {
    ref.ns = "library";
    ref.name = std::string(rest);
  } else {
    return fail(ErrorKind::BadRequest,
                "invalid image reference: non-docker.io registry requires org/name format, got: " +
                    std::string(s));
  }
  if (ref.name.empty()) {
    return fail(ErrorKind::BadRequest, "invalid image reference: empty image name in: " +
                                           std::string(s));
  }
  return ref;
}

Result<void> checkPlatform(std::string_view platform) {
  std::size_t parts = 1;
  bool emptyPart = platform.empty() || platform.front() == '/' || platform.back() == '/';
  for (std::size_t i = 0; i < platform.size(); ++i) {
    if (platform[i] != '/') continue;
    ++parts;
    if (i + 1 < platform.size() && platform[i + 1] == '/') emptyPart = true;
  }
  if (emptyPart || parts < 2 || parts > 3) {
    return fail(ErrorKind::BadRequest,
                "platform must be os/arch or os/arch/variant, got: " + std::string(platform));
  }
  return {};
}

ImageStore::ImageStore(std::vector<std::string> registry, std::vector<std::string> preload)
    : registry_(registry.begin(), registry.end()), local_(preload.begin(), preload.end()) {}

std::vector<std::string> ImageStore::listNames() const {
  std::vector<std::string> out;
  for (const auto& key : local_) {
    auto colon = std::min(key.rfind(':'), key.size());
    std::string repo = key.substr(0, colon);
    for (auto& c : repo) {
      if (c == '_') c = '/';
    }
    out.push_back(repo + key.substr(colon));
  }
  return out;
}

std::uint64_t ImageStore::sizeOf(const std::string& key) {
  // FNV-1a: deterministic across runs, so tests can predict freed_bytes if they want to.
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  return (1ULL << 20U) + h % (32ULL << 20U);
}

}  // namespace dockerbox::sim
