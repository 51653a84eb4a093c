// Runs in pid 1 of a Run as host root with every capability (CAP_NET_ADMIN in the
// container's network namespace), before the fork; see loopback.hpp. Input: none.
#include "init/loopback.hpp"

#include "init/sys_error.hpp"

#include "common/unique_fd.hpp"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace dockerbox::init {

Result<void> bringLoopbackUp() {
  // Any socket of the namespace takes the interface ioctls; a datagram one needs nothing
  // but to exist. It is closed before the fork, so the program never sees it.
  UniqueFd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!control) return sysError("loopback: socket", errno);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", sizeof(request.ifr_name) - 1);
  if (auto ok =
          sysCheck(::ioctl(control.get(), SIOCGIFFLAGS, &request), "loopback: SIOCGIFFLAGS lo");
      !ok) {
    return ok;
  }
  // Read, then set only when needed: with the host's namespace lo is up and stays as it is.
  if ((request.ifr_flags & IFF_UP) != 0) return {};
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  return sysCheck(::ioctl(control.get(), SIOCSIFFLAGS, &request), "loopback: SIOCSIFFLAGS lo up");
}

}  // namespace dockerbox::init
