// Registry authentication (distribution's token auth, RFC 6750 challenges, Basic).
// Runs in: dockerbox-registry. Input: a registry's WWW-Authenticate header and a token
// server's reply (untrusted).
#pragma once

#include "common/result.hpp"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::registry {

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope
};

/// Every challenge in a WWW-Authenticate value (`Bearer realm="…",service="…"`), quoted
/// strings unescaped. At most 16 challenges of 16 parameters each.
[[nodiscard]] Result<std::vector<Challenge>> parseChallenges(std::string_view header);

/// The bearer token in a token server's JSON reply (`token`, else `access_token`): printable
/// ASCII of at most 64 KiB, so it can go into a header as it is.
[[nodiscard]] Result<std::string> parseTokenReply(std::string_view body);

/// Base64 (RFC 4648, padded), for Basic credentials.
[[nodiscard]] std::string base64(std::string_view bytes);

}  // namespace dockerbox::registry
