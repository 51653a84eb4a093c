// The sandbox, proven from the outside (design.md P3): a forked child enters it, and the
// parent reads the child's ids, capabilities, no_new_privs, seccomp mode and namespaces
// from /proc. Death tests show that forbidden syscalls kill. Needs root (skipped otherwise).
#include "frontend/sandbox.hpp"

#include "frontend/seccomp_filter.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <functional>
#include <map>
#include <sstream>
#include <string>

namespace dockerbox::frontend {
namespace {

constexpr uid_t kUid = 65534;
constexpr gid_t kGid = 65534;
constexpr int kSandboxFailed = 90;

#define SKIP_UNLESS_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs root to enter"

/// Forks a child that enters the sandbox (keeping `keepFd`), then runs `body` and exits
/// with its result. Returns the child's pid.
pid_t forkSandboxed(int keepFd, const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  SandboxConfig config{kUid, kGid, keepFd, SeccompViolation::Kill};
  if (!enterSandbox(config)) ::_exit(kSandboxFailed);
  ::_exit(body());
}

int waitFor(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

std::map<std::string, std::string> procStatus(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::map<std::string, std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

std::string namespaceOf(const std::string& pid, const char* ns) {
  char target[PATH_MAX] = {};
  auto length = ::readlink(("/proc/" + pid + "/ns/" + ns).c_str(), target, sizeof target - 1);
  return length > 0 ? std::string(target, static_cast<std::size_t>(length)) : std::string();
}

TEST(Sandbox, ProcShowsAConfinedProcess) {
  SKIP_UNLESS_ROOT();
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  pid_t pid = forkSandboxed(pair[1], [&] {
    char byte = 'R';
    if (::write(pair[1], &byte, 1) != 1) return 2;
    return ::read(pair[1], &byte, 1) >= 0 ? 0 : 3;  // wait until the parent has looked
  });
  ::close(pair[1]);
  char ready = 0;
  ASSERT_EQ(::read(pair[0], &ready, 1), 1) << "the child did not reach the sandbox";

  auto status = procStatus(pid);
  EXPECT_EQ(status["Uid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(status["Gid"], "65534\t65534\t65534\t65534");
  EXPECT_EQ(status["Groups"], "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status[set], "0000000000000000") << set;
  }
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["Seccomp"], "2");
  for (const char* ns : {"mnt", "net", "ipc"}) {
    EXPECT_NE(namespaceOf(std::to_string(pid), ns), namespaceOf("self", ns)) << ns;
    EXPECT_FALSE(namespaceOf("self", ns).empty());
  }
  // Only stdin/stdout placeholders, stderr and the kept descriptor remain open.
  std::set<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    fds.insert(entry.path().filename().string());
  }
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", std::to_string(pair[1])}));
  // Its root is an empty directory: no host file can be named.
  auto root = std::filesystem::path("/proc/" + std::to_string(pid) + "/root");
  EXPECT_TRUE(std::filesystem::is_empty(root));
  EXPECT_FALSE(std::filesystem::exists(root / "etc"));

  ::close(pair[0]);
  int exit = waitFor(pid);
  ASSERT_TRUE(WIFEXITED(exit)) << "status " << exit;
  EXPECT_EQ(WEXITSTATUS(exit), 0);
}

void expectKilledBySeccomp(const std::function<int()>& body) {
  int exit = waitFor(forkSandboxed(-1, body));
  ASSERT_FALSE(WIFEXITED(exit) && WEXITSTATUS(exit) == kSandboxFailed) << "sandbox setup failed";
  ASSERT_TRUE(WIFSIGNALED(exit)) << "exited with " << (WIFEXITED(exit) ? WEXITSTATUS(exit) : -1);
  EXPECT_EQ(WTERMSIG(exit), SIGSYS);
}

TEST(SandboxDeath, InternetSocketKills) {
  SKIP_UNLESS_ROOT();
  expectKilledBySeccomp([] { return ::socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 1; });
  expectKilledBySeccomp([] { return ::socket(AF_INET6, SOCK_DGRAM, 0) >= 0 ? 0 : 1; });
  expectKilledBySeccomp([] { return ::socket(AF_NETLINK, SOCK_RAW, 0) >= 0 ? 0 : 1; });
}

TEST(SandboxDeath, OpeningAHostFileKillsOrFindsNothing) {
  SKIP_UNLESS_ROOT();
  auto openPasswd = [] {
    long fd = ::syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC);
    return fd >= 0 ? 0 : 1;
  };
#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
  // Sanitizer builds allow openat for their runtimes; the empty root still has no files.
  int exit = waitFor(forkSandboxed(-1, openPasswd));
  ASSERT_TRUE(WIFEXITED(exit));
  EXPECT_EQ(WEXITSTATUS(exit), 1);
#else
  expectKilledBySeccomp(openPasswd);
  expectKilledBySeccomp([] { return ::syscall(SYS_open, "/etc/passwd", O_RDONLY) >= 0 ? 0 : 1; });
#endif
}

TEST(SandboxDeath, NamespaceAndPrivilegeCallsKill) {
  SKIP_UNLESS_ROOT();
  expectKilledBySeccomp([] { return ::unshare(CLONE_NEWUSER) == 0 ? 0 : 1; });
  expectKilledBySeccomp([] {
    return ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0) >= 0 ? 0 : 1;
  });
  expectKilledBySeccomp([] { return ::setuid(0) == 0 ? 0 : 1; });
  expectKilledBySeccomp([] { return ::kill(1, 0) == 0 ? 0 : 1; });
  expectKilledBySeccomp([] { return ::syscall(SYS_ptrace, 0, 0, 0, 0) >= 0 ? 0 : 1; });
}

TEST(SandboxDeath, UnixSocketsAndForkStillWork) {
  SKIP_UNLESS_ROOT();
  int exit = waitFor(forkSandboxed(-1, [] { return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 1; }));
  ASSERT_TRUE(WIFEXITED(exit)) << "signal " << (WIFSIGNALED(exit) ? WTERMSIG(exit) : 0);
  EXPECT_EQ(WEXITSTATUS(exit), 0);

  // What the zygote does: fork a worker and reap it.
  exit = waitFor(forkSandboxed(-1, [] {
    pid_t child = ::fork();
    if (child == 0) ::_exit(7);
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child) return 1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : 2;
  }));
  ASSERT_TRUE(WIFEXITED(exit)) << "signal " << (WIFSIGNALED(exit) ? WTERMSIG(exit) : 0);
  EXPECT_EQ(WEXITSTATUS(exit), 0);
}

TEST(SandboxDeath, NarrowedWorkersCannotForkButStillServe) {
  SKIP_UNLESS_ROOT();
  expectKilledBySeccomp([] {
    if (!narrowFilterForWorker()) return 1;
    return ::fork() >= 0 ? 0 : 2;
  });
  expectKilledBySeccomp([] {
    if (!narrowFilterForWorker()) return 1;
    return ::waitpid(-1, nullptr, WNOHANG) >= 0 ? 0 : 2;
  });
  int exit = waitFor(forkSandboxed(-1, [] {
    if (!narrowFilterForWorker()) return 1;
    return ::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : 3;  // worker calls still work
  }));
  ASSERT_TRUE(WIFEXITED(exit)) << "signal " << (WIFSIGNALED(exit) ? WTERMSIG(exit) : 0);
  EXPECT_EQ(WEXITSTATUS(exit), 0);
}

TEST(Sandbox, RefusesRootIds) {
  EXPECT_FALSE(enterSandbox(SandboxConfig{0, kGid, -1, SeccompViolation::Kill}));
  EXPECT_FALSE(enterSandbox(SandboxConfig{kUid, 0, -1, SeccompViolation::Kill}));
}

}  // namespace
}  // namespace dockerbox::frontend
