// bringLoopbackUp in a forked child: in a new network namespace (root only, where `lo`
// starts down) it must come up and carry 127.0.0.1; where `lo` is up already it must do
// nothing, which a child without CAP_NET_ADMIN proves (setting the flags would fail).
#include "init/loopback.hpp"

#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <functional>

namespace dockerbox::init {
namespace {

constexpr int kNoNamespace = 77;
constexpr int kNotAsExpected = 10;
constexpr int kFailed = 11;

/// `lo`'s flags in the calling process's namespace; -1 when they cannot be read.
int loopbackFlags() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", sizeof(request.ifr_name) - 1);
  int flags = fd >= 0 && ::ioctl(fd, SIOCGIFFLAGS, &request) == 0 ? request.ifr_flags : -1;
  if (fd >= 0) ::close(fd);
  return flags;
}

bool isUp() {
  int flags = loopbackFlags();
  return flags >= 0 && (flags & IFF_UP) != 0;
}

/// A TCP connection over 127.0.0.1 inside the namespace: the kernel only routes it on a
/// loopback that is up.
bool loopbackCarriesTcp() {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  bool ok = server >= 0 && client >= 0 &&
            ::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
            ::listen(server, 1) == 0 &&
            ::getsockname(server, reinterpret_cast<sockaddr*>(&address), &size) == 0 &&
            ::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(server);
  ::close(client);
  return ok;
}

int inChild(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(Loopback, ComesUpInANewNetworkNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  int code = inChild([] {
    if (::unshare(CLONE_NEWNET) != 0) return kNoNamespace;
    if (loopbackFlags() < 0 || isUp() || loopbackCarriesTcp()) return kNotAsExpected;
    if (auto ok = bringLoopbackUp(); !ok) {
      std::fprintf(stderr, "%s\n", ok.error().message.c_str());
      return kFailed;
    }
    if (!isUp() || !loopbackCarriesTcp()) return kNotAsExpected;
    return bringLoopbackUp() ? 0 : kFailed;  // up already now: nothing to do
  });
  if (code == kNoNamespace) GTEST_SKIP() << "unshare(CLONE_NEWNET) refused here";
  EXPECT_EQ(code, 0);
}

TEST(Loopback, LeavesAnUpLoopbackAlone) {
  if (!isUp()) GTEST_SKIP() << "lo is down here";
  int code = inChild([] {
    // Without CAP_NET_ADMIN, as --network host's lo is not ours to set: only reading.
    if (::geteuid() == 0 &&
        (::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0)) {
      return kFailed;
    }
    return bringLoopbackUp() ? 0 : kNotAsExpected;
  });
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace dockerbox::init
