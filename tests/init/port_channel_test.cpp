// The port channel (init/port_channel.hpp) driven as the port proxy drives it: requests
// written into the other end of a socketpair, replies and sockets read back; then pid 1's
// two loops, the plain reaper and the tty relay, serving it under the reaper's seccomp
// filter while they reap a child. Runs as any user (the loops run in forked children).
#include "init/port_channel.hpp"

#include "init/container_io.hpp"
#include "init/limits.hpp"
#include "init/reaper.hpp"
#include "init/seccomp_profile.hpp"
#include "init/tty_relay.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace dockerbox::init {
namespace {

constexpr int kReplyTimeoutMs = 10000;
constexpr int kNoReply = -1;  // nothing came in time, or the read failed
constexpr int kEof = -2;      // pid 1 closed the channel

struct Reply {
  int code = kNoReply;  // the reply byte, or kNoReply / kEof
  int fds = 0;          // descriptors attached
  UniqueFd socket;      // the first of them
};

/// One reply as the proxy reads it, waiting at most `timeoutMs` for it.
Reply readReply(int proxy, int timeoutMs = kReplyTimeoutMs) {
  Reply reply;
  pollfd ready{proxy, POLLIN, 0};
  if (::poll(&ready, 1, timeoutMs) != 1) return reply;
  unsigned char byte = 0;
  iovec data{&byte, 1};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int) * 4)> control{};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  long n = ::recvmsg(proxy, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  if (n == 0) reply.code = kEof;
  if (n != 1) return reply;
  reply.code = byte;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (std::size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (++reply.fds == 1) {
        reply.socket.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  return reply;
}

int socketOption(int fd, int option) {
  int value = -1;
  socklen_t size = sizeof(value);
  return ::getsockopt(fd, SOL_SOCKET, option, &value, &size) == 0 ? value : -1;
}

/// Writes requests (or anything else) as the proxy would.
void ask(int fd, std::string_view bytes) {
  ASSERT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<long>(bytes.size()));
}

struct Kind {
  char request;
  int domain;
  int type;
};
constexpr std::array<Kind, 4> kKinds = {{{kPortRequestTcp4, AF_INET, SOCK_STREAM},
                                         {kPortRequestUdp4, AF_INET, SOCK_DGRAM},
                                         {kPortRequestTcp6, AF_INET6, SOCK_STREAM},
                                         {kPortRequestUdp6, AF_INET6, SOCK_DGRAM}}};

/// A fresh, unbound, unconnected socket of `kind`; or, for IPv6 on a kernel without it,
/// EAFNOSUPPORT and no socket.
void expectSocketOf(const Kind& kind, Reply reply) {
  if (kind.domain == AF_INET6 && reply.code == EAFNOSUPPORT) {
    EXPECT_EQ(reply.fds, 0);
    return;
  }
  ASSERT_EQ(reply.code, kPortReplySocket) << kind.request;
  ASSERT_EQ(reply.fds, 1) << kind.request;
  EXPECT_EQ(socketOption(reply.socket.get(), SO_DOMAIN), kind.domain) << kind.request;
  EXPECT_EQ(socketOption(reply.socket.get(), SO_TYPE), kind.type) << kind.request;
  EXPECT_EQ(socketOption(reply.socket.get(), SO_PROTOCOL),
            kind.type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
  sockaddr_storage address{};
  socklen_t size = sizeof(address);
  ASSERT_EQ(::getsockname(reply.socket.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
  const in_port_t port = kind.domain == AF_INET
                             ? reinterpret_cast<sockaddr_in*>(&address)->sin_port
                             : reinterpret_cast<sockaddr_in6*>(&address)->sin6_port;
  EXPECT_EQ(port, 0) << "bound";
  size = sizeof(address);
  EXPECT_NE(::getpeername(reply.socket.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
}

/// pid 1's end as connectPortChannel leaves it (non-blocking), and the proxy's end.
struct Pair {
  Pair() {
    int ends[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0) return;
    pid1.reset(ends[0]);
    proxy.reset(ends[1]);
    (void)::fcntl(pid1.get(), F_SETFL, O_NONBLOCK);
  }
  UniqueFd pid1;
  UniqueFd proxy;
};

TEST(PortChannel, AnswersEveryKindInOrderWithOneSocketEach) {
  Pair pair;
  ASSERT_TRUE(pair.proxy);
  PortChannel channel(std::move(pair.pid1));
  ASSERT_TRUE(channel.pending()) << "requests sent before arm() must be read";
  ask(pair.proxy.get(), "tuTU");  // several requests in one read
  channel.serve();
  for (const auto& kind : kKinds) expectSocketOf(kind, readReply(pair.proxy.get()));
  EXPECT_TRUE(channel.pending()) << "one read is no proof that the channel is empty";
  channel.serve();
  EXPECT_FALSE(channel.pending());
  EXPECT_TRUE(channel.fd().has_value());
  EXPECT_EQ(readReply(pair.proxy.get(), 0).code, kNoReply);

  ask(pair.proxy.get(), "U");  // served again after a SIGIO
  channel.noteSigio();
  channel.serve();
  expectSocketOf(kKinds[3], readReply(pair.proxy.get()));
}

TEST(PortChannel, ServesOneTurnAtATime) {
  Pair pair;
  PortChannel channel(std::move(pair.pid1));
  ask(pair.proxy.get(), std::string(kPortRequestsPerTurn + 3, kPortRequestTcp4));
  channel.serve();
  for (std::size_t i = 0; i < kPortRequestsPerTurn; ++i) {
    ASSERT_EQ(readReply(pair.proxy.get()).code, kPortReplySocket) << i;
  }
  EXPECT_EQ(readReply(pair.proxy.get(), 0).code, kNoReply) << "more than one turn's worth";
  EXPECT_TRUE(channel.pending());
  channel.serve();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(readReply(pair.proxy.get()).code, kPortReplySocket);
  channel.serve();
  EXPECT_FALSE(channel.pending());
}

TEST(PortChannel, AnyOtherByteClosesTheChannelAfterTheRequestsBeforeIt) {
  for (char bad :
       {'x', '\0', '\n', 'v', 'S', '0', static_cast<char>(0xff), static_cast<char>(0x74 | 0x80)}) {
    Pair pair;
    PortChannel channel(std::move(pair.pid1));
    ask(pair.proxy.get(), std::string("t") + bad + "u");
    channel.serve();
    EXPECT_EQ(readReply(pair.proxy.get()).code, kPortReplySocket);
    EXPECT_EQ(readReply(pair.proxy.get()).code, kEof) << "byte " << int{bad};
    EXPECT_FALSE(channel.fd().has_value());
    EXPECT_FALSE(channel.pending());
    channel.noteSigio();  // a late SIGIO finds no channel
    EXPECT_FALSE(channel.pending());
    channel.serve();
  }
}

TEST(PortChannel, EofClosesTheChannel) {
  Pair pair;
  PortChannel channel(std::move(pair.pid1));
  pair.proxy.reset();
  channel.serve();
  EXPECT_FALSE(channel.fd().has_value());
  EXPECT_FALSE(channel.pending());
}

TEST(PortChannel, DescriptorsFromTheProxyNeverReachPid1) {
  Pair pair;
  PortChannel channel(std::move(pair.pid1));
  int pipeEnds[2];
  ASSERT_EQ(::pipe2(pipeEnds, O_CLOEXEC), 0);
  UniqueFd readEnd(pipeEnds[0]);
  UniqueFd writeEnd(pipeEnds[1]);
  // A request with the pipe's read end attached: if pid 1 kept it, the pipe would still
  // have a reader once ours is closed.
  char request = kPortRequestTcp4;
  iovec data{&request, 1};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control.data();
  message.msg_controllen = control.size();
  cmsghdr* rights = CMSG_FIRSTHDR(&message);
  rights->cmsg_level = SOL_SOCKET;
  rights->cmsg_type = SCM_RIGHTS;
  rights->cmsg_len = CMSG_LEN(sizeof(int));
  const int attached = readEnd.get();
  std::memcpy(CMSG_DATA(rights), &attached, sizeof(attached));
  ASSERT_EQ(::sendmsg(pair.proxy.get(), &message, 0), 1);
  readEnd.reset();
  channel.serve();
  EXPECT_EQ(readReply(pair.proxy.get()).code, kPortReplySocket);
  pollfd readers{writeEnd.get(), POLLOUT, 0};
  ASSERT_EQ(::poll(&readers, 1, 0), 1);
  EXPECT_NE(readers.revents & POLLERR, 0) << "the pipe still has a reader";
}

TEST(PortChannel, AFailedSocketRepliesItsErrnoAndNoFd) {
  Pair pair;
  PortChannel channel(std::move(pair.pid1));
  ask(pair.proxy.get(), "t");
  std::fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // No free descriptor below the limit: socket() fails with EMFILE.
    int lowestFree = ::dup(STDIN_FILENO);
    ::close(lowestFree);
    rlimit none{static_cast<rlim_t>(lowestFree), static_cast<rlim_t>(lowestFree)};
    if (lowestFree < 0 || ::setrlimit(RLIMIT_NOFILE, &none) != 0) ::_exit(1);
    channel.serve();
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto reply = readReply(pair.proxy.get());
  EXPECT_EQ(reply.code, EMFILE);
  EXPECT_EQ(reply.fds, 0);
  EXPECT_TRUE(channel.fd().has_value()) << "a failed socket() is no reason to close";
}

TEST(PortChannel, ArmedRequestsAndHangUpRaiseSigioForTheChannel) {
  Pair pair;
  std::fflush(nullptr);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    if (::sigprocmask(SIG_BLOCK, &sigio, nullptr) != 0) ::_exit(1);
    const int fd = pair.pid1.get();
    PortChannel channel(std::move(pair.pid1));
    if (!channel.arm()) ::_exit(2);
    const int flags = ::fcntl(fd, F_GETFL);
    if ((flags & (O_NONBLOCK | O_ASYNC)) != (O_NONBLOCK | O_ASYNC)) ::_exit(3);
    const timespec wait{10, 0};
    siginfo_t info{};
    if (::write(pair.proxy.get(), "t", 1) != 1) ::_exit(4);
    if (::sigtimedwait(&sigio, &info, &wait) != SIGIO) ::_exit(5);
    if (info.si_code != POLL_IN || info.si_fd != fd) ::_exit(6);
    pair.proxy.reset();
    if (::sigtimedwait(&sigio, &info, &wait) != SIGIO) ::_exit(7);
    if (info.si_code != POLL_HUP || info.si_fd != fd) ::_exit(8);
    ::_exit(0);
  }
  // The proxy's end is the child's alone: its close is the hang-up.
  pair.proxy.reset();
  pair.pid1.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

/// A short directory for the listener (sun_path is 108 bytes).
class PortChannelConnect : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/dbpc.XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* name : {"ports", "link", "file", "stale"}) {
      (void)::unlink((dir_ + "/" + name).c_str());
    }
    (void)::rmdir(dir_.c_str());
  }
  UniqueFd listenAt(const std::string& path) const {
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
        ::listen(listener.get(), 1) != 0) {
      return UniqueFd();
    }
    return listener;
  }
  std::string dir_;
};

TEST_F(PortChannelConnect, ConnectsNonBlockingToTheListener) {
  UniqueFd listener = listenAt(dir_ + "/ports");
  ASSERT_TRUE(listener);
  auto channel = connectPortChannel(dir_ + "/ports");
  ASSERT_TRUE(channel) << channel.error().message;
  EXPECT_NE(::fcntl(channel->get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(::fcntl(channel->get(), F_GETFD) & FD_CLOEXEC, 0);
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted);
  ask(accepted.get(), "t");
  PortChannel served(std::move(*channel));
  served.serve();
  EXPECT_EQ(readReply(accepted.get()).code, kPortReplySocket);
}

TEST_F(PortChannelConnect, RefusesSymlinksOtherFilesAndDeadListeners) {
  UniqueFd listener = listenAt(dir_ + "/ports");
  ASSERT_TRUE(listener);
  ASSERT_EQ(::symlink((dir_ + "/ports").c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_FALSE(connectPortChannel(dir_ + "/link"));
  UniqueFd file(::open((dir_ + "/file").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  ASSERT_TRUE(file);
  auto notSocket = connectPortChannel(dir_ + "/file");
  ASSERT_FALSE(notSocket);
  EXPECT_NE(notSocket.error().message.find("not a socket"), std::string::npos);
  EXPECT_FALSE(connectPortChannel(dir_ + "/missing"));
  UniqueFd stale = listenAt(dir_ + "/stale");
  ASSERT_TRUE(stale);
  stale.reset();  // the socket file stays, with nobody listening
  EXPECT_FALSE(connectPortChannel(dir_ + "/stale"));
}

// pid 1's loops, each in a forked child confined as the reaper (with the port channel in
// its filter), reaping a grandchild that exits with kProgramExit when told to.
constexpr int kProgramExit = 7;
constexpr int kSetupFailed = 90;

enum class Loop { Reaper, Relay };

/// Runs the loop in a child with the channel's pid-1 end and returns the child's wait
/// status once `drive(proxy, reaperPid, release)` has done its part; writing to `release`
/// ends the program.
int runLoop(Loop loop, const std::function<void(int, pid_t, int)>& drive) {
  Pair pair;
  int releaseEnds[2];
  if (!pair.proxy || ::pipe2(releaseEnds, O_CLOEXEC) != 0) return -1;
  UniqueFd releaseRead(releaseEnds[0]);
  UniqueFd releaseWrite(releaseEnds[1]);
  // Asked before the channel is armed: the loop's first turn must answer it.
  if (::write(pair.proxy.get(), "t", 1) != 1) return -1;
  std::fflush(nullptr);
  pid_t reaper = ::fork();
  if (reaper < 0) return -1;
  if (reaper == 0) {
    pair.proxy.reset();
    releaseWrite.reset();
    sigset_t all;
    sigfillset(&all);
    if (::sigprocmask(SIG_BLOCK, &all, nullptr) != 0) ::_exit(kSetupFailed);
    pid_t program = ::fork();
    if (program == 0) {
      sigset_t none;
      sigemptyset(&none);
      (void)::sigprocmask(SIG_SETMASK, &none, nullptr);
      pair.pid1.reset();
      char byte = 0;
      ::_exit(::read(releaseRead.get(), &byte, 1) >= 0 ? kProgramExit : kSetupFailed);
    }
    releaseRead.reset();
    PortChannel ports(std::move(pair.pid1));
    ContainerIo io;
    UniqueFd signals;
    ReaperFds fds;
    fds.portChannel = ports.fd();
    if (loop == Loop::Relay) {
      io.ptyMaster.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK));
      signals.reset(::signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK));
      if (!io.ptyMaster || ::unlockpt(io.ptyMaster.get()) != 0 || !signals) ::_exit(kSetupFailed);
      fds.relayedPtyMaster = io.ptyMaster.get();
    }
    if (program < 0 || !ports.arm() || ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        !loadReaperSeccomp(fds)) {
      ::_exit(kSetupFailed);
    }
    int status = loop == Loop::Relay ? relayUntilExit(program, signals.get(), all, io, ports,
                                                      RelayOwner{::getpid(), RelayEnd::LeaveOthers})
                                     : reapUntilExit(program, all, ports);
    ::_exit(status);
  }
  pair.pid1.reset();
  releaseRead.reset();
  drive(pair.proxy.get(), reaper, releaseWrite.get());
  int status = 0;
  while (::waitpid(reaper, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return status;
}

class PortChannelInPid1 : public ::testing::TestWithParam<Loop> {};

TEST_P(PortChannelInPid1, ServesWhileReapingAndNeverForwardsTheKernelsSigio) {
  int status = runLoop(GetParam(), [](int proxy, pid_t, int release) {
    expectSocketOf(kKinds[0], readReply(proxy));  // sent before arm()
    ask(proxy, "uT");
    expectSocketOf(kKinds[1], readReply(proxy));
    expectSocketOf(kKinds[2], readReply(proxy));
    ask(proxy, std::string(kPortRequestsPerTurn * 2, kPortRequestUdp6));
    for (std::size_t i = 0; i < kPortRequestsPerTurn * 2; ++i) {
      expectSocketOf(kKinds[3], readReply(proxy));
    }
    ask(release, "x");
  });
  // The program's own exit: every SIGIO above was the kernel's, and none reached it
  // (SIGIO's default action would have ended it); the filter allowed what serving needs.
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kProgramExit);
}

TEST_P(PortChannelInPid1, ABadRequestEndsServingNotThePid1AndASentSigioIsForwarded) {
  int status = runLoop(GetParam(), [](int proxy, pid_t reaper, int) {
    expectSocketOf(kKinds[0], readReply(proxy));
    ask(proxy, "?t");
    EXPECT_EQ(readReply(proxy).code, kEof);
    // A SIGIO sent by a process is the program's, as before there was a channel.
    ASSERT_EQ(::kill(reaper, SIGIO), 0);
  });
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGIO);
}

TEST_P(PortChannelInPid1, TheProxysHangUpEndsServingOnly) {
  int status = runLoop(GetParam(), [](int proxy, pid_t, int release) {
    expectSocketOf(kKinds[0], readReply(proxy));
    ASSERT_EQ(::shutdown(proxy, SHUT_WR), 0);  // EOF for pid 1, while the reply side stays
    EXPECT_EQ(readReply(proxy).code, kEof);
    ask(release, "x");
  });
  ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
  EXPECT_EQ(WEXITSTATUS(status), kProgramExit);
}

INSTANTIATE_TEST_SUITE_P(Loops, PortChannelInPid1, ::testing::Values(Loop::Reaper, Loop::Relay),
                         [](const ::testing::TestParamInfo<Loop>& loop) {
                           return loop.param == Loop::Reaper ? "Reaper" : "TtyRelay";
                         });

}  // namespace
}  // namespace dockerbox::init
