// Kernel-attested identity of a client (P1) and the coarse admission decision made before
// one byte of the client is read. Runs as root; input: the accepted client fd only.
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace dockerbox::broker {

/// Who is on the other end of a connection, as the kernel says (SO_PEERCRED and
/// SO_PEERGROUPS). The frontend never supplies any of this.
struct Identity {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  pid_t pid = 0;
  std::vector<gid_t> groups;  // supplementary groups at connect time
  std::optional<uid_t> loginuid;  // /proc/<pid>/loginuid at accept time, where set (audit only)

  [[nodiscard]] bool inGroup(gid_t g) const;
};

/// Reads SO_PEERCRED and SO_PEERGROUPS from a connected AF_UNIX socket.
[[nodiscard]] Result<Identity> readPeerIdentity(int fd);

enum class Admission { Admitted, Refused };

/// Root is always admitted; others only when the socket group is set and they are in it
/// (as primary or supplementary group).
[[nodiscard]] Admission admit(const Identity& who, std::optional<gid_t> socketGroup);

/// "uid=1000 gid=1000 pid=42 groups=1000,27" for logs.
[[nodiscard]] std::string describe(const Identity& who);

}  // namespace dockerbox::broker
