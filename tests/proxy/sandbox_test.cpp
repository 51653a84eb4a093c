// The port proxy's confinement, proven from the outside (design.md P3): a forked child
// enters proxy::enterSandbox and shows what it can no longer do; the real dockerbox-proxy
// binary, started as root the way dockerboxd starts it, runs as a user made for the test,
// and /proc shows its ids, capabilities, no_new_privs, seccomp mode and namespaces while it
// relays a connection. Needs root (skipped otherwise).
#include "proxy/sandbox.hpp"

#include "tests/proxy/proxy_harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#ifndef DOCKERBOX_PROXY_BINARY
#error "DOCKERBOX_PROXY_BINARY must name the dockerbox-proxy executable"
#endif

namespace dockerbox::proxy::test {
namespace {

constexpr uid_t kNobody = 65534;

#define SKIP_UNLESS_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs root to enter"

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

/// Waits for `pid` to exit, at most kIoTimeout (a pidfd, so no polling loop); kills it after.
int waitBounded(pid_t pid) {
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kIoTimeout).count()));
    ::close(pidfd);
    if (ready != 1) ::kill(pid, SIGKILL);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

int runCommand(const std::vector<std::string>& argv) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(devnull, STDOUT_FILENO);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// Bits of the child's exit status: which forbidden call was not refused.
enum : int { kSocketAllowed = 1, kUnixSocketAllowed = 2, kSocketpairAllowed = 4, kBindAllowed = 8, kListenAllowed = 16,
             kSandboxFailed = 64 };

TEST(ProxySandbox, NewSocketsBindAndListenAreRefused) {
  SKIP_UNLESS_ROOT();
  // A socket handed in, as the proxy's are: bind and listen on it must fail all the same.
  UniqueFd handed(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(handed);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!enterSandbox({kNobody, kNobody, {handed.get()}})) ::_exit(kSandboxFailed);
    int result = 0;
    if (::socket(AF_INET, SOCK_STREAM, 0) >= 0 || errno != EPERM) result |= kSocketAllowed;
    if (::socket(AF_UNIX, SOCK_STREAM, 0) >= 0 || errno != EPERM) result |= kUnixSocketAllowed;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0 || errno != EPERM) result |= kSocketpairAllowed;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    if (::bind(handed.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 || errno != EPERM) {
      result |= kBindAllowed;
    }
    if (::listen(handed.get(), 1) == 0 || errno != EPERM) result |= kListenAllowed;
    ::_exit(result);
  }
  const int status = waitBounded(pid);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bits of calls not refused (64: the sandbox failed)";
}

TEST(ProxySandbox, ExecKills) {
  SKIP_UNLESS_ROOT();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (!enterSandbox({kNobody, kNobody, {}})) ::_exit(kSandboxFailed);
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve(argv[0], argv, nullptr);
    ::_exit(1);
  }
  const int status = waitBounded(pid);
  ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) == kSandboxFailed) << "sandbox setup failed";
  ASSERT_TRUE(WIFSIGNALED(status)) << "exited with " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  EXPECT_EQ(WTERMSIG(status), SIGSYS);
}

TEST(ProxySandbox, RootIsRefused) {
  SKIP_UNLESS_ROOT();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(enterSandbox({0, 0, {}}) ? 0 : 1);
  const int status = waitBounded(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

/// A system user made for the test (as the packaging makes dockerbox-proxy's), removed after.
class TestUser {
 public:
  TestUser() : name_("dbxproxy" + std::to_string(::getpid())) {
    if (runCommand({"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group",
                    name_}) != 0) {
      return;
    }
    if (const passwd* pw = ::getpwnam(name_.c_str())) {
      uid_ = pw->pw_uid;
      gid_ = pw->pw_gid;
    }
  }
  ~TestUser() {
    if (uid_ != 0) runCommand({"userdel", "--force", name_});
  }
  [[nodiscard]] bool made() const { return uid_ != 0; }
  [[nodiscard]] uid_t uid() const { return uid_; }
  [[nodiscard]] gid_t gid() const { return gid_; }

 private:
  std::string name_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

/// Starts the real binary as dockerboxd does: as root, the control channel as fd 3, a
/// minimal environment (so a sanitizer build keeps its own defaults).
pid_t spawnProxy(const TestUser& user, int controlEnd) {
  const std::vector<std::string> argv = {DOCKERBOX_PROXY_BINARY, "--uid", std::to_string(user.uid()), "--gid",
                                         std::to_string(user.gid()), "--log-level", "debug"};
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::dup2(controlEnd, 3) != 3) ::_exit(126);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    char* const env[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
    ::execve(args[0], args.data(), env);
    ::_exit(127);
  }
  return pid;
}

TEST(ProxyBinary, RunsConfinedAsItsUserAndRelays) {
  SKIP_UNLESS_ROOT();
  TestUser user;
  if (!user.made()) GTEST_SKIP() << "useradd is not available";

  TcpServer server(echo);
  int ends[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), 0);
  UniqueFd control(ends[0]);
  UniqueFd proxyEnd(ends[1]);
  boundBlocking(control.get());
  const pid_t pid = spawnProxy(user, proxyEnd.get());
  ASSERT_GT(pid, 0);
  proxyEnd.reset();

  // The monitor's part, by hand (ProxyUnderTest drives the library in-process instead).
  Monitor monitor(control.get());
  const std::string run = runId(51);
  auto channel = channelListener();
  auto tcp = listenTcp();
  auto udp = bindUdp();
  UdpEchoServer udpServer;
  monitor.publish(run, {{"tcp", server.port(), tcp.port}, {"udp", udpServer.port(), udp.port}},
                  {channel.fd.get(), tcp.fd.get(), udp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  udp.fd.reset();
  {
    FakeInit init(channel.name);
    UniqueFd client = connectTcp(tcp.port);
    ASSERT_TRUE(client);
    ASSERT_TRUE(sendText(client.get(), "through the sandbox"));
    EXPECT_EQ(readExactly(client.get(), 19), "through the sandbox");
    UniqueFd udpClient = connectUdp(udp.port);
    ASSERT_TRUE(sendText(udpClient.get(), "dgram"));
    char reply[64];
    EXPECT_EQ(::recv(udpClient.get(), reply, sizeof reply, 0), 10);

    // While it serves: what /proc shows of it.
    auto status = procStatus(pid);
    const std::string ids = std::to_string(user.uid());
    EXPECT_EQ(status["Uid"], ids + "\t" + ids + "\t" + ids + "\t" + ids);
    const std::string gids = std::to_string(user.gid());
    EXPECT_EQ(status["Gid"], gids + "\t" + gids + "\t" + gids + "\t" + gids);
    EXPECT_EQ(status["Groups"], "");
    for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
      EXPECT_EQ(status[set], "0000000000000000") << set;
    }
    EXPECT_EQ(status["NoNewPrivs"], "1");
    EXPECT_EQ(status["Seccomp"], "2");
    for (const char* ns : {"mnt", "net", "ipc"}) {
      EXPECT_NE(namespaceOf(std::to_string(pid), ns), namespaceOf("self", ns)) << ns;
    }
    // Its root is empty: no host file can be named.
    EXPECT_TRUE(std::filesystem::is_empty("/proc/" + std::to_string(pid) + "/root"));

    monitor.unpublish(run);
    EXPECT_EQ(monitor.nextUnpublished(), run);
    EXPECT_TRUE(seesEnd(client.get()));
    EXPECT_TRUE(tcpPortFree(tcp.port));
    EXPECT_TRUE(udpPortFree(udp.port));
  }
  control.reset();  // the monitor is gone: the proxy exits 0
  const int exit = waitBounded(pid);
  ASSERT_TRUE(WIFEXITED(exit)) << "status " << exit;
  EXPECT_EQ(WEXITSTATUS(exit), 0);
}

TEST(ProxyBinary, RefusesBadArguments) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ::dup2(devnull, STDERR_FILENO);
    char* const argv[] = {const_cast<char*>(DOCKERBOX_PROXY_BINARY), const_cast<char*>("--uid"),
                          const_cast<char*>("0"), const_cast<char*>("--gid"), const_cast<char*>("1"), nullptr};
    char* const env[] = {nullptr};
    ::execve(argv[0], argv, env);
    ::_exit(127);
  }
  const int status = waitBounded(pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace dockerbox::proxy::test
