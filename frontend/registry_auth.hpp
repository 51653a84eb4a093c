// X-Registry-Auth: the credentials the docker CLI sends with a pull (base64url of a JSON
// AuthConfig). Runs in: a frontend worker. Input: an untrusted header.
#pragma once

#include "common/result.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::frontend {

struct RegistryAuth {
  std::string username;
  std::string password;
};

/// Credentials in the header, or none (absent, "e30=" = `{}`, or only an identity token,
/// which dockerbox cannot use yet). `username`+`password` win over `auth` (base64 of
/// "user:password"), as in dockerd. A header that does not decode is a 400, as in dockerd.
/// Caps: 8 KiB of header, 256 bytes of user name, 4 KiB of password.
[[nodiscard]] Result<std::optional<RegistryAuth>> parseRegistryAuth(std::string_view header);

/// The body of POST /auth (docker login): the same AuthConfig JSON, not encoded, with the
/// registry's address.
struct LoginRequest {
  std::string server;  // "serveraddress"; "" is Docker Hub
  RegistryAuth auth;
};
[[nodiscard]] Result<LoginRequest> parseLoginBody(std::string_view body);

}  // namespace dockerbox::frontend
