#include "broker/peer.hpp"

#include "common/syscall.hpp"

#include <sys/socket.h>

#include <algorithm>

namespace dockerbox::broker {

bool Identity::inGroup(gid_t g) const {
  return gid == g || std::find(groups.begin(), groups.end(), g) != groups.end();
}

Result<Identity> readPeerIdentity(int fd) {
  Identity who;
  ucred cred{};
  socklen_t len = sizeof(cred);
  auto rc = DOCKERBOX_SYSCALL(::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len), "getsockopt(SO_PEERCRED)");
  if (!rc) return rc.error();
  if (len != sizeof(cred)) return fail(ErrorKind::Internal, "short SO_PEERCRED");
  who.uid = cred.uid;
  who.gid = cred.gid;
  who.pid = cred.pid;

  // SO_PEERGROUPS: ask with a buffer; ERANGE tells the size needed.
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
      groups.resize(glen / sizeof(gid_t));
      who.groups = std::move(groups);
      return who;
    }
    if (errno != ERANGE) {
      return fail(ErrorKind::Internal, "cannot read peer groups", "SO_PEERGROUPS: " + errnoText(errno));
    }
    groups.resize(glen / sizeof(gid_t) + 1);
  }
  return fail(ErrorKind::Internal, "cannot read peer groups", "SO_PEERGROUPS kept growing");
}

Admission admit(const Identity& who, std::optional<gid_t> socketGroup) {
  if (who.uid == 0) return Admission::Admitted;
  if (socketGroup && who.inGroup(*socketGroup)) return Admission::Admitted;
  return Admission::Refused;
}

std::string describe(const Identity& who) {
  std::string out = "uid=" + std::to_string(who.uid) + " gid=" + std::to_string(who.gid) +
                    " pid=" + std::to_string(who.pid) + " groups=";
  for (std::size_t i = 0; i < who.groups.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(who.groups[i]);
  }
  return out;
}

}  // namespace dockerbox::broker
