// Runs in: dockerbox-registry and the engine (unprivileged). Input: untrusted references.
// The grammar is distribution/reference's (reference.go, normalize.go).
#include "registry/reference.hpp"

#include <cctype>

namespace dockerbox::registry {
namespace {

constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxTagLength = 128;

bool lowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool word(char c) { return lowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; }

Error invalid(std::string_view text) {
  return fail(ErrorKind::BadRequest, "invalid reference format", std::string(text.substr(0, 300)));
}

/// path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool validComponent(std::string_view c) {
  if (c.empty() || !lowerAlnum(c.front()) || !lowerAlnum(c.back())) return false;
  for (std::size_t i = 0; i < c.size();) {
    if (lowerAlnum(c[i])) { ++i; continue; }
    std::size_t j = i;
    while (j < c.size() && !lowerAlnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

/// domain: host[:port], host being DNS labels ([A-Za-z0-9-], not starting or ending with
/// '-') joined by '.', or a bracketed IPv6 address.
bool validDomain(std::string_view d) {
  if (d.empty()) return false;
  std::string_view host = d;
  if (d.front() == '[') {
    auto close = d.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : d.substr(1, close - 1)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    std::string_view rest = d.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':' || rest.size() < 2 || rest.size() > 6) return false;
    return rest.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
  }
  if (auto colon = d.find(':'); colon != std::string_view::npos) {
    std::string_view port = d.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  std::size_t start = 0;
  while (true) {
    auto dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool validTag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength || !word(t.front())) return false;
  for (char c : t) {
    if (!(word(c) || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace

bool isSha256Digest(std::string_view digest) {
  if (digest.size() != 71 || !digest.starts_with("sha256:")) return false;
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string Reference::canonical() const {
  std::string out = repository();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::familiarName() const {
  if (domain != "docker.io") return repository();
  return path.starts_with("library/") ? path.substr(8) : path;
}

std::string Reference::familiar() const {
  std::string name = familiarName();
  if (!tag.empty()) name += ":" + tag;
  if (!digest.empty()) name += "@" + digest;
  return name;
}

std::string Reference::apiHost() const { return domain == "docker.io" ? "registry-1.docker.io" : domain; }

Result<Reference> parseRegistryAddress(std::string_view text) {
  std::string_view host = text;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (host.starts_with(scheme)) host.remove_prefix(scheme.size());
  }
  host = host.substr(0, host.find('/'));
  Reference ref;
  if (host.empty() && !text.empty()) {
    return fail(ErrorKind::BadRequest, "invalid registry address: " + std::string(text.substr(0, 300)));
  }
  if (host.empty() || host == "index.docker.io" || host == "registry-1.docker.io" || host == "docker.io") {
    ref.domain = "docker.io";
    return ref;
  }
  if (!validDomain(host)) {
    return fail(ErrorKind::BadRequest, "invalid registry address: " + std::string(text.substr(0, 300)));
  }
  ref.domain = std::string(host);
  return ref;
}

Result<Reference> parseReference(std::string_view text) {
  if (text.empty()) return invalid(text);
  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!ref.digest.starts_with("sha256:")) {
      return fail(ErrorKind::BadRequest, "invalid reference format: only sha256 digests are supported",
                  std::string(text.substr(0, 300)));
    }
    if (!isSha256Digest(ref.digest)) return invalid(text);
  }
  // The tag is after the last ':' that is not part of the domain (no '/' after it).
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos && rest.find('/', colon) == std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!validTag(ref.tag)) return invalid(text);
  }
  if (rest.empty()) return invalid(text);
  // Docker's rule: the first component is a domain if it has '.' or ':', is "localhost", or
  // has upper case (which no path may have, so it then fails as a domain or not at all).
  std::string_view remote = rest;
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    const bool upper = first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || upper) {
      if (!validDomain(first)) return invalid(text);
      ref.domain = std::string(first);
      remote = rest.substr(slash + 1);
    }
  }
  if (ref.domain.empty() || ref.domain == "index.docker.io") ref.domain = "docker.io";
  if (remote.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
    return fail(ErrorKind::BadRequest, "invalid reference format: repository name must be lowercase",
                std::string(text.substr(0, 300)));
  }
  std::size_t start = 0;
  while (true) {
    auto next = remote.find('/', start);
    if (!validComponent(remote.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start))) {
      return invalid(text);
    }
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  ref.path = std::string(remote);
  if (ref.domain == "docker.io" && ref.path.find('/') == std::string::npos) ref.path = "library/" + ref.path;
  if (ref.repository().size() > kMaxNameLength) {
    return fail(ErrorKind::BadRequest, "invalid reference format: repository name must not be more than 255 characters",
                std::string(text.substr(0, 300)));
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace dockerbox::registry
