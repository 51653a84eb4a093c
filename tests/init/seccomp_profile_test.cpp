// dockerbox-init's seccomp filters, proven from the outside: each probe runs in a forked
// child that sets no_new_privs, loads a filter and reports one syscall's outcome through
// its exit code; the parent asserts. Where the kernel would also answer EPERM (no
// privilege), the probe passes arguments the kernel rejects first with another errno, so
// EPERM can only have come from the filter. Runs as any user; a test skips when an outer
// filter (a CI container's own seccomp profile) already changes what the bare kernel says.
#include "init/seccomp_profile.hpp"

#include "init/config.hpp"
#include "init/port_channel.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

namespace dockerbox::init {
namespace {

enum class Profile { None, DockerDefault, Reaper, ReaperRelay, ReaperPorts };

// Exit codes a child reports besides an errno (all errnos are below 134).
constexpr int kSucceeded = 200;
constexpr int kSetupFailed = 201;
constexpr int kLoadFailed = 202;

constexpr std::uint64_t kWithSysAdmin = kDockerDefaultCaps | (1ULL << CAP_SYS_ADMIN);

/// The probe's report: kSucceeded, or the errno of its failure.
int outcome(long rc) { return rc < 0 ? errno : kSucceeded; }

/// Forks a child that confines itself with `profile` and exits with `probe()`; returns
/// the child's wait status. `fd` is the pty master of Profile::ReaperRelay, the port
/// channel of Profile::ReaperPorts.
int runConfined(Profile profile, std::uint64_t caps, const std::function<int()>& probe,
                int fd = -1) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kSetupFailed);
    Result<void> loaded;
    if (profile == Profile::DockerDefault) loaded = loadDockerDefaultSeccomp(caps);
    if (profile == Profile::Reaper) loaded = loadReaperSeccomp();
    if (profile == Profile::ReaperRelay || profile == Profile::ReaperPorts) {
      ReaperFds fds;
      (profile == Profile::ReaperRelay ? fds.relayedPtyMaster : fds.portChannel) = fd;
      loaded = loadReaperSeccomp(fds);
    }
    if (!loaded) ::_exit(kLoadFailed);
    ::_exit(probe());
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

/// The exit code of a probe that must exit normally (a failed check names the status).
int exitCode(Profile profile, std::uint64_t caps, const std::function<int()>& probe) {
  int status = runConfined(profile, caps, probe);
  EXPECT_TRUE(WIFEXITED(status)) << "wait status " << status;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int underDefault(const std::function<int()>& probe) {
  return exitCode(Profile::DockerDefault, kDockerDefaultCaps, probe);
}
int underSysAdmin(const std::function<int()>& probe) {
  return exitCode(Profile::DockerDefault, kWithSysAdmin, probe);
}
int unconfined(const std::function<int()>& probe) { return exitCode(Profile::None, 0, probe); }

bool killedBySigsys(const std::function<int()>& probe) {
  int status = runConfined(Profile::Reaper, 0, probe);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

/// Skips the calling test unless the probe, without our filter, gets `expected` from the
/// kernel: only then does a different answer under the filter prove the filter gave it.
#define SKIP_UNLESS_KERNEL_SAYS(probe, expected)                                        \
  if (int bare = unconfined(probe); bare != (expected))                                 \
  GTEST_SKIP() << #probe " gives " << bare << " without our filter, not " << (expected) \
               << ": an outer seccomp filter?"

bool kernelAtLeast(int kernel, int major) {
  utsname uts{};
  int k = 0;
  int m = 0;
  if (::uname(&uts) != 0 || std::sscanf(uts.release, "%d.%d", &k, &m) != 2) return false;
  return k > kernel || (k == kernel && m >= major);
}

// A keyctl operation that does not exist: EOPNOTSUPP from the kernel, EPERM from the filter.
int keyctlProbe() { return outcome(::syscall(SYS_keyctl, 9999, 0, 0, 0, 0)); }
// CSIGNAL bits are invalid for unshare: the kernel says EINVAL before any privilege check.
int unshareInvalidProbe() { return outcome(::unshare(CLONE_NEWNS | 0x1)); }
// A missing mount point: the kernel says ENOENT before it checks CAP_SYS_ADMIN.
int mountProbe() {
  return outcome(::mount("none", "/nonexistent/dockerbox-seccomp-test", "tmpfs", 0, nullptr));
}
// CLONE_NEWNS with CLONE_FS is invalid: EINVAL from the kernel, so no child ever starts.
int cloneNewNsProbe() {
  long rc = ::syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0);
  if (rc == 0) ::_exit(kSucceeded);
  return outcome(rc);
}
// clone3 with no arguments: EINVAL from the kernel, ENOSYS from the filter.
int clone3Probe() { return outcome(::syscall(SYS_clone3, nullptr, 0)); }

TEST(DockerDefaultSeccomp, EverydayCallsWork) {
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_getpid)); }), kSucceeded);
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_uname, nullptr)); }), EFAULT);
  EXPECT_EQ(underDefault([] {
              int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
              return fd < 0 ? errno : (::close(fd), kSucceeded);
            }),
            kSucceeded);
  // fork() is clone with only SIGCHLD, which the namespace-flag mask lets through.
  EXPECT_EQ(underDefault([] {
              pid_t child = ::fork();
              if (child == 0) ::_exit(0);
              int status = 0;
              return child > 0 && ::waitpid(child, &status, 0) == child ? kSucceeded : errno;
            }),
            kSucceeded);
}

TEST(DockerDefaultSeccomp, ThreadsStartAlthoughClone3SaysEnosys) {
  // glibc 2.34+ tries clone3 first and falls back to clone only on ENOSYS.
  EXPECT_EQ(underDefault([] {
              int ran = 0;
              std::thread([&] { ran = 1; }).join();
              return ran == 1 ? kSucceeded : 0;
            }),
            kSucceeded);
}

TEST(DockerDefaultSeccomp, UnlistedCallsGetEperm) {
  SKIP_UNLESS_KERNEL_SAYS(keyctlProbe, EOPNOTSUPP);
  EXPECT_EQ(underDefault(keyctlProbe), EPERM);
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_init_module, nullptr, 0, "")); }),
            EPERM);
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_finit_module, -1, "", 0)); }), EPERM);
}

TEST(DockerDefaultSeccomp, NamespacesNeedSysAdmin) {
  EXPECT_EQ(underDefault([] { return outcome(::unshare(CLONE_NEWUSER)); }), EPERM);
  EXPECT_EQ(underDefault([] { return outcome(::unshare(CLONE_NEWNS)); }), EPERM);
  EXPECT_EQ(underDefault(unshareInvalidProbe), EPERM);
  // With CAP_SYS_ADMIN in the set the filter lets unshare through: the kernel answers.
  SKIP_UNLESS_KERNEL_SAYS(unshareInvalidProbe, EINVAL);
  EXPECT_EQ(underSysAdmin(unshareInvalidProbe), EINVAL);
}

TEST(DockerDefaultSeccomp, MountNeedsSysAdmin) {
  SKIP_UNLESS_KERNEL_SAYS(mountProbe, ENOENT);
  EXPECT_EQ(underDefault(mountProbe), EPERM);
  EXPECT_EQ(underSysAdmin(mountProbe), ENOENT);
}

TEST(DockerDefaultSeccomp, CloneNamespaceFlagsNeedSysAdmin) {
  SKIP_UNLESS_KERNEL_SAYS(cloneNewNsProbe, EINVAL);
  EXPECT_EQ(underDefault(cloneNewNsProbe), EPERM);
  EXPECT_EQ(underSysAdmin(cloneNewNsProbe), EINVAL);
}

TEST(DockerDefaultSeccomp, Clone3IsEnosysWithoutSysAdmin) {
  SKIP_UNLESS_KERNEL_SAYS(clone3Probe, EINVAL);
  EXPECT_EQ(underDefault(clone3Probe), ENOSYS);
  EXPECT_EQ(underSysAdmin(clone3Probe), EINVAL);
}

TEST(DockerDefaultSeccomp, PtraceFollowsTheKernelVersionRule) {
  // Tracing ourselves while untraced: ESRCH from the kernel, EPERM from the filter.
  auto ptraceProbe = [] {
    return outcome(::syscall(SYS_ptrace, PTRACE_PEEKUSER, ::getpid(), 0, 0));
  };
  SKIP_UNLESS_KERNEL_SAYS(ptraceProbe, ESRCH);
  EXPECT_EQ(underDefault(ptraceProbe), kernelAtLeast(4, 8) ? ESRCH : EPERM);
}

TEST(DockerDefaultSeccomp, PersonalityOnlyForListedPersonas) {
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_personality, 0xffffffffUL)); }),
            kSucceeded);
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_personality, PER_LINUX32)); }),
            kSucceeded);
  // ADDR_NO_RANDOMIZE would switch off ASLR for everything the container execs next.
  EXPECT_EQ(underDefault([] { return outcome(::syscall(SYS_personality, ADDR_NO_RANDOMIZE)); }),
            EPERM);
}

TEST(DockerDefaultSeccomp, SocketRefusesAlgAndVsockOnly) {
  auto socketProbe = [](int family) {
    return [family] {
      int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      return fd < 0 ? errno : (::close(fd), kSucceeded);
    };
  };
  if (unconfined(socketProbe(AF_VSOCK)) == EPERM) GTEST_SKIP() << "AF_VSOCK refused already";
  EXPECT_EQ(underDefault(socketProbe(AF_VSOCK)), EPERM);
  EXPECT_EQ(underDefault(socketProbe(AF_ALG)), EPERM);
  // The family between them (39, AF_NFC) and those above reach the kernel.
  EXPECT_NE(underDefault(socketProbe(AF_NFC)), EPERM);
  for (int family = AF_VSOCK + 1; family < 64; ++family) {
    EXPECT_NE(underDefault(socketProbe(family)), EPERM) << family;
  }
  EXPECT_NE(underDefault(socketProbe(AF_UNIX)), EPERM);
  // The kernel reads an int: a high bit must not smuggle AF_VSOCK or AF_ALG past the filter.
  auto wideProbe = [](std::uint64_t family) {
    return [family] {
      long fd = ::syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
      return fd < 0 ? errno : (::close(static_cast<int>(fd)), kSucceeded);
    };
  };
  EXPECT_EQ(underDefault(wideProbe((std::uint64_t{1} << 32) | AF_VSOCK)), EPERM);
  EXPECT_EQ(underDefault(wideProbe((std::uint64_t{1} << 32) | AF_ALG)), EPERM);
}

TEST(DockerDefaultSeccomp, MostNamesAreKnownToLibseccomp) {
  SeccompNameCoverage coverage = dockerDefaultNameCoverage();
  EXPECT_GE(coverage.names, 390U);
  // Only the calls newer than this libseccomp may be unknown: a handful, not most.
  EXPECT_LT(coverage.unknownToLibrary * 10, coverage.names);
  EXPECT_GE(coverage.realOnX8664, 300U);
  EXPECT_GE(coverage.realOnX86, 300U);
  EXPECT_GE(coverage.realOnX32, 250U);
}

TEST(ReaperSeccomp, WaitsSignalsAndExits) {
  EXPECT_EQ(exitCode(Profile::Reaper, 0, [] { return outcome(::kill(::getpid(), 0)); }),
            kSucceeded);
  EXPECT_EQ(exitCode(Profile::Reaper, 0,
                     [] { return outcome(::syscall(SYS_wait4, -1, nullptr, 0, nullptr)); }),
            ECHILD);
  EXPECT_EQ(exitCode(Profile::Reaper, 0, [] { return outcome(::write(STDERR_FILENO, "", 0)); }),
            kSucceeded);
}

TEST(ReaperSeccomp, AnythingElseKills) {
  EXPECT_TRUE(killedBySigsys([] { return outcome(::socket(AF_UNIX, SOCK_STREAM, 0)); }));
  EXPECT_TRUE(killedBySigsys([] { return outcome(::write(STDOUT_FILENO, "", 0)); }));
  EXPECT_TRUE(killedBySigsys([] { return outcome(::syscall(SYS_openat, AT_FDCWD, "/", 0)); }));
  // An x32 call from the x86_64 reaper is another ABI: killed before the kernel looks.
  EXPECT_TRUE(killedBySigsys([] { return outcome(::syscall(0x40000000 | SYS_getpid)); }));
}

TEST(ReaperSeccomp, WithoutARelayPollIsRefused) {
  EXPECT_TRUE(killedBySigsys([] { return outcome(::poll(nullptr, 0, 0)); }));
}

TEST(ReaperSeccomp, WithoutAPortChannelNoSocketAtAll) {
  EXPECT_TRUE(killedBySigsys(
      [] { return outcome(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)); }));
  EXPECT_TRUE(killedBySigsys(
      [] { return outcome(::sendmsg(STDERR_FILENO, nullptr, MSG_DONTWAIT | MSG_NOSIGNAL)); }));
}

/// Opens a socket of `domain`/`type`/`protocol` (through the raw call, so every bit of
/// the arguments is ours) and reports the outcome.
std::function<int()> socketProbe(std::uint64_t domain, std::uint64_t type,
                                 std::uint64_t protocol = 0) {
  return [=] {
    long fd = ::syscall(SYS_socket, domain, type, protocol);
    return fd < 0 ? errno : (::close(static_cast<int>(fd)), kSucceeded);
  };
}

/// The port channel's filter around a real socketpair: exactly the four kinds of socket
/// and the reply on the channel; any other socket, or sendmsg elsewhere or otherwise, kills.
class PortChannelSeccomp : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends_), 0);
  }
  void TearDown() override {
    ::close(ends_[0]);
    ::close(ends_[1]);
  }
  int exitCodeWithChannel(const std::function<int()>& probe) const {
    int status = runConfined(Profile::ReaperPorts, 0, probe, ends_[0]);
    EXPECT_TRUE(WIFEXITED(status)) << "wait status " << status;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool killedWithChannel(const std::function<int()>& probe) const {
    int status = runConfined(Profile::ReaperPorts, 0, probe, ends_[0]);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
  }
  /// One reply byte on `fd`, as the channel sends it.
  static std::function<int()> replyProbe(int fd, int flags) {
    return [fd, flags] {
      char byte = 0;
      iovec data{&byte, 1};
      msghdr message{};
      message.msg_iov = &data;
      message.msg_iovlen = 1;
      return outcome(::sendmsg(fd, &message, flags));
    };
  }
  int ends_[2] = {-1, -1};
};

TEST_F(PortChannelSeccomp, AllowsTheFourSocketsAndTheReply) {
  for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
    EXPECT_EQ(exitCodeWithChannel(socketProbe(AF_INET, type | SOCK_CLOEXEC)), kSucceeded) << type;
    const int v6 = exitCodeWithChannel(socketProbe(AF_INET6, type | SOCK_CLOEXEC));
    EXPECT_TRUE(v6 == kSucceeded || v6 == EAFNOSUPPORT) << v6;
  }
  EXPECT_EQ(exitCodeWithChannel(replyProbe(ends_[0], kPortReplyFlags)), kSucceeded);
}

TEST_F(PortChannelSeccomp, AnythingElseKills) {
  const std::vector<std::function<int()>> killed = {
      socketProbe(AF_INET, SOCK_STREAM),                      // no SOCK_CLOEXEC
      socketProbe(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK),
      socketProbe(AF_INET, SOCK_RAW | SOCK_CLOEXEC),
      socketProbe(AF_INET, SOCK_SEQPACKET | SOCK_CLOEXEC),
      socketProbe(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP),  // protocol 0 only
      socketProbe(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC),
      socketProbe(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC),
      socketProbe(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC),
      // A high bit beside a listed value is no match: the kernel would read an int.
      socketProbe((std::uint64_t{1} << 32) | AF_INET, SOCK_STREAM | SOCK_CLOEXEC),
      socketProbe(AF_INET, (std::uint64_t{1} << 32) | SOCK_STREAM | SOCK_CLOEXEC),
      replyProbe(ends_[1], kPortReplyFlags),  // another fd
      replyProbe(STDERR_FILENO, kPortReplyFlags),
      replyProbe(ends_[0], 0),  // flags that could wait or raise SIGPIPE
      replyProbe(ends_[0], MSG_NOSIGNAL),
      [this] { return outcome(::send(ends_[0], "x", 1, kPortReplyFlags)); },  // sendto
      [this] { return outcome(::fcntl(ends_[0], F_SETFL, O_NONBLOCK)); },
  };
  for (std::size_t i = 0; i < killed.size(); ++i) EXPECT_TRUE(killedWithChannel(killed[i])) << i;
}

/// The relay's filter around a real pty master: what the relay does works, the same
/// calls on another fd or another ioctl kill.
class RelaySeccomp : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (master_ < 0 || ::unlockpt(master_) != 0) GTEST_SKIP() << "no pty here";
  }
  void TearDown() override {
    if (master_ >= 0) ::close(master_);
  }
  int exitCodeUnderRelay(const std::function<int()>& probe) const {
    int status = runConfined(Profile::ReaperRelay, 0, probe, master_);
    EXPECT_TRUE(WIFEXITED(status)) << "wait status " << status;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  bool killedUnderRelay(const std::function<int()>& probe) const {
    int status = runConfined(Profile::ReaperRelay, 0, probe, master_);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
  }
  int master_ = -1;
};

TEST_F(RelaySeccomp, RelaysThroughItsMasterAndStdout) {
  int master = master_;
  EXPECT_EQ(exitCodeUnderRelay([master] { return outcome(::write(master, "x", 1)); }),
            kSucceeded);
  EXPECT_EQ(exitCodeUnderRelay([master] {
              winsize ws{24, 80, 0, 0};
              return outcome(::ioctl(master, TIOCSWINSZ, &ws));
            }),
            kSucceeded);
  EXPECT_EQ(exitCodeUnderRelay([master] {
              pollfd fd{master, POLLOUT, 0};
              return outcome(::poll(&fd, 1, 0));
            }),
            kSucceeded);
  EXPECT_EQ(exitCodeUnderRelay([] { return outcome(::write(STDOUT_FILENO, "", 0)); }),
            kSucceeded);
}

TEST_F(RelaySeccomp, NothingElseOnAnyFd) {
  int master = master_;
  EXPECT_TRUE(killedUnderRelay([master] {
    winsize ws{};
    return outcome(::ioctl(master, TIOCGWINSZ, &ws));
  }));
  EXPECT_TRUE(killedUnderRelay([master] { return outcome(::ioctl(master, TIOCSTI, "x")); }));
  EXPECT_TRUE(killedUnderRelay([] {
    winsize ws{24, 80, 0, 0};
    return outcome(::ioctl(STDERR_FILENO, TIOCSWINSZ, &ws));
  }));
  EXPECT_TRUE(killedUnderRelay([] { return outcome(::write(STDIN_FILENO, "", 0)); }));
  EXPECT_TRUE(killedUnderRelay([master] { return outcome(::writev(master, nullptr, 0)); }));
  EXPECT_TRUE(killedUnderRelay([] { return outcome(::syscall(SYS_openat, AT_FDCWD, "/", 0)); }));
}

}  // namespace
}  // namespace dockerbox::init
