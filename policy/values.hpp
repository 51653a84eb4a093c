// Scalar values the policy compares: sizes and CPU counts from the policy file, capability
// names, and the User spellings a client may send. Pure functions, no I/O.
#pragma once

#include "policy/checked.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace dockerbox::policy {

/// A size as Docker spells it: digits with an optional fraction and an optional binary unit
/// (b, k, m, g, t, p; "kb"/"kib" forms too; case-insensitive): "512m", "1.5g", "1073741824".
/// Must be above zero and fit in 63 bits.
[[nodiscard]] Checked<std::uint64_t> parseSize(std::string_view text);

/// A CPU count (`max_cpus = 1.5`) as Docker's NanoCpus. Must be finite, above 0 and at most
/// 4096 CPUs.
[[nodiscard]] Checked<std::uint64_t> cpusToNanoCpus(double cpus);

/// "cap_net_admin" -> "NET_ADMIN": upper case, without the "CAP_" prefix (Docker accepts
/// both spellings, so the policy compares this form).
[[nodiscard]] std::string normaliseCapability(std::string_view name);

/// Whether a normalised capability is a Linux capability name or "ALL".
[[nodiscard]] bool isKnownCapability(std::string_view normalised);

/// How a container or exec `User` ("uid[:gid]" or "name[:group]") runs.
enum class ContainerUser {
  Unspecified,  // empty: the image's default user (the policy cannot see it)
  NonRoot,      // neither part is uid/gid 0 or "root"
  Root,         // "0", "00", "0:0", "root", "root:root", "1000:0", "ROOT", ...
  Invalid,      // unparseable: treated like Root (fail closed)
};

/// Classifies a User string. Numeric parts are read as numbers ("000" is 0); a number that
/// does not fit in 32 bits, an empty part next to ':', more than one ':' or a character
/// outside [A-Za-z0-9._$-] is Invalid. Names other than "root" are resolved inside the image
/// and cannot be judged here.
[[nodiscard]] ContainerUser classifyUser(std::string_view user);

}  // namespace dockerbox::policy
