// Scalar values the policy compares: sizes and CPU counts from the policy file, capability
// names, the User spellings a client may send, IP addresses and port ranges for published
// ports. Pure functions, no I/O.
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

/// A textual IPv4 or IPv6 address in one canonical spelling, so that equal addresses compare
/// equal as strings: inet_pton's grammar, printed back by inet_ntop ("0:0:0:0:0:0:0:1" and
/// "::0001" are "::1", hex is lower case). Refused: host names, short or octal IPv4 forms
/// ("127.1", "010.0.0.1"), zone ids ("fe80::1%eth0"), brackets, spaces, a port. An IPv4-mapped
/// address ("::ffff:127.0.0.1") stays IPv6: it is not the same entry as "127.0.0.1".
[[nodiscard]] Checked<std::string> normaliseIpAddress(std::string_view text);

/// Whether a normalised address is IPv6 (it is written "[addr]:port" in messages).
[[nodiscard]] bool isIpv6(std::string_view normalised);

/// An inclusive range of host ports from `publish_ports`; "8080" is 8080-8080. Only
/// parsePortRange() makes valid ones (1 <= low <= high); the default value allows nothing
/// but port 0, which is never looked up in a range.
struct PortRange {
  std::uint16_t low = 0;
  std::uint16_t high = 0;

  [[nodiscard]] bool contains(std::uint16_t port) const { return port >= low && port <= high; }
  /// "8080" or "1024-65535": the policy file's own spelling.
  [[nodiscard]] std::string toString() const;
  friend bool operator==(const PortRange&, const PortRange&) = default;
};

/// "8080" or "1024-65535": decimal ports 1-65535, the first not above the second. No spaces,
/// signs or "*" (write "1-65535").
[[nodiscard]] Checked<PortRange> parsePortRange(std::string_view text);

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
