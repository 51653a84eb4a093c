// Runs as root, in the broker. Input: image references already validated by the request
// decoder, and store names from miniboxd (trusted, still checked).
#include "broker/minibox/image_ref.hpp"

#include <algorithm>

namespace dockerbox::broker::minibox {
namespace {

constexpr std::size_t kMaxReferenceBytes = 512;  // Docker caps a full reference at 255 name bytes
constexpr std::size_t kMaxTagBytes = 128;        // Docker's tag grammar: [\w][\w.-]{0,127}

Error badRef(std::string_view reference, std::string_view why) {
  return fail(ErrorKind::BadRequest, "invalid image reference \"" +
                                         std::string(reference.substr(0, 128)) +
                                         "\": " + std::string(why));
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

/// One path component: lowercase alphanumerics separated by `.`, `_`, `-` (Docker's grammar,
/// simplified: separators may not lead, trail or repeat).
bool validComponent(std::string_view part) {
  if (part.empty() || !isLowerAlnum(part.front()) || !isLowerAlnum(part.back())) return false;
  for (std::size_t i = 0; i < part.size(); ++i) {
    const char c = part[i];
    if (isLowerAlnum(c)) continue;
    if (c != '.' && c != '_' && c != '-') return false;
    if (!isLowerAlnum(part[i + 1]) && part[i + 1] != '_') return false;  // back() is alnum
  }
  return true;
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagBytes) return false;
  if (!isAlnum(tag.front()) && tag.front() != '_') return false;
  return std::all_of(tag.begin(), tag.end(),
                     [](char c) { return isAlnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool validRegistry(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return isAlnum(c) || c == '.' || c == '-' || c == ':';
  });
}

bool looksLikeRegistry(std::string_view first) {
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
         first == "localhost";
}

bool validPath(std::string_view path) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    if (!validComponent(path.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

}  // namespace

Result<ImageRef> ImageRef::parse(std::string_view reference) {
  if (reference.empty()) return badRef(reference, "empty");
  if (reference.size() > kMaxReferenceBytes) return badRef(reference, "too long");
  if (reference.find('@') != std::string_view::npos)
    return badRef(reference, "digests are not supported by miniboxd");
  std::string_view name = reference;
  std::string tag = "latest";
  const std::size_t colon = reference.rfind(':');
  if (colon != std::string_view::npos && reference.find('/', colon) == std::string_view::npos) {
    name = reference.substr(0, colon);
    tag = std::string(reference.substr(colon + 1));
    if (!validTag(tag)) return badRef(reference, "invalid tag");
  }
  std::string registry(kDockerHub);
  const std::size_t slash = name.find('/');
  if (slash != std::string_view::npos && looksLikeRegistry(name.substr(0, slash))) {
    registry = std::string(name.substr(0, slash));
    name = name.substr(slash + 1);
    if (!validRegistry(registry)) return badRef(reference, "invalid registry");
  }
  if (!validPath(name)) return badRef(reference, "invalid repository name");
  const bool single = name.find('/') == std::string_view::npos;
  if (registry == kDockerHub) {
    return ImageRef(std::move(registry),
                    single ? "library/" + std::string(name) : std::string(name), std::move(tag));
  }
  if (single) return badRef(reference, "a registry other than docker.io needs <org>/<name>");
  return ImageRef(std::move(registry), std::string(name), std::move(tag));
}

std::string ImageRef::wireRepository() const {
  if (registry_ != kDockerHub) return registry_ + "/" + path_;
  constexpr std::string_view kLibrary = "library/";
  std::string_view path = path_;
  if (path.starts_with(kLibrary) && path.find('/', kLibrary.size()) == std::string_view::npos)
    path.remove_prefix(kLibrary.size());
  return std::string(path);
}

std::string ImageRef::storeName() const {
  return (registry_ == kDockerHub ? path_ : registry_ + "/" + path_) + ":" + tag_;
}

std::string ImageRef::dockerName() const { return wireRepository() + ":" + tag_; }

std::string dockerNameFromStore(std::string_view storeName) {
  auto ref = ImageRef::parse(storeName);
  return ref ? ref->dockerName() : std::string(storeName);
}

}  // namespace dockerbox::broker::minibox
