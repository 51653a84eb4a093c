// Runs in: a frontend worker. Input: the untrusted X-Registry-Auth header. The credentials
// are passed on to the broker typed, and never logged.
#include "frontend/registry_auth.hpp"

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <vector>

namespace dockerbox::frontend {
namespace {

constexpr std::size_t kMaxHeader = 8 * 1024;
constexpr std::size_t kMaxUser = 256;
constexpr std::size_t kMaxPassword = 4 * 1024;

/// Standard or URL-safe base64, padded or not.
std::optional<std::string> decodeBase64(std::string_view text) {
  std::string padded(text);
  for (char& c : padded) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (padded.size() % 4 != 0) padded += '=';
  std::vector<char> out(boost::beast::detail::base64::decoded_size(padded.size()));
  auto [written, read] = boost::beast::detail::base64::decode(out.data(), padded.data(), padded.size());
  // Beast stops at the first character that is not base64 (the padding included).
  const auto unpadded = padded.find_last_not_of('=');
  if (read < (unpadded == std::string::npos ? 0 : unpadded + 1)) return std::nullopt;
  return std::string(out.data(), written);
}

Error invalid() { return fail(ErrorKind::BadRequest, "invalid X-Registry-Auth header"); }

bool printable(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

namespace {

/// An AuthConfig object: username + password, or `auth` (base64 of "user:password").
Result<std::optional<RegistryAuth>> authOf(const boost::json::object& o) {
  auto text = [&](std::string_view key) -> std::optional<std::string> {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  RegistryAuth auth;
  auth.username = text("username").value_or("");
  auth.password = text("password").value_or("");
  if (auth.username.empty() && auth.password.empty()) {
    if (auto encoded = text("auth"); encoded && !encoded->empty()) {
      auto pair = decodeBase64(*encoded);
      if (!pair) return invalid();
      const auto colon = pair->find(':');
      if (colon == std::string::npos) return invalid();
      auth.username = pair->substr(0, colon);
      auth.password = pair->substr(colon + 1);
    }
  }
  if (auth.username.empty() && auth.password.empty()) return std::optional<RegistryAuth>();
  if (auth.username.empty() || auth.username.size() > kMaxUser || auth.password.size() > kMaxPassword ||
      !printable(auth.username) || !printable(auth.password) || auth.username.find(':') != std::string::npos) {
    return invalid();
  }
  return std::optional(std::move(auth));
}

Result<boost::json::object> parseObject(std::string_view json) {
  boost::json::parse_options options;
  options.max_depth = 4;
  boost::system::error_code ec;
  auto value = boost::json::parse(json, ec, {}, options);
  if (ec || !value.is_object()) return invalid();
  return std::move(value.as_object());
}

}  // namespace

Result<std::optional<RegistryAuth>> parseRegistryAuth(std::string_view header) {
  if (header.empty()) return std::optional<RegistryAuth>();
  if (header.size() > kMaxHeader) return invalid();
  auto json = decodeBase64(header);
  if (!json) return invalid();
  auto object = parseObject(*json);
  if (!object) return object.error();
  return authOf(*object);
}

Result<LoginRequest> parseLoginBody(std::string_view body) {
  auto bad = [] { return fail(ErrorKind::BadRequest, "invalid authentication configuration: a JSON AuthConfig object is expected"); };
  if (body.size() > kMaxHeader) return bad();
  auto object = parseObject(body);
  if (!object) return bad();
  const auto* token = object->if_contains("identitytoken");
  if (token != nullptr && token->is_string() && !token->as_string().empty()) {
    return fail(ErrorKind::NotImplemented, "dockerbox cannot log in with an identity token yet; log in with a "
                                           "user name and password");
  }
  LoginRequest out;
  if (const auto* server = object->if_contains("serveraddress"); server != nullptr) {
    if (!server->is_string() || server->as_string().size() > 256 || !printable(server->as_string())) return bad();
    out.server = std::string(server->as_string());
  }
  auto auth = authOf(*object);
  if (!auth) return fail(ErrorKind::BadRequest, "invalid authentication configuration: bad user name or password");
  if (!*auth || (*auth)->password.empty()) {
    return fail(ErrorKind::BadRequest, "a user name and a password are needed to log in");
  }
  out.auth = std::move(**auth);
  return out;
}

}  // namespace dockerbox::frontend
