// Runs in pid 1 of a Run: connectPortChannel as host root with every capability, the rest
// as the reaper (uid 0, CAP_KILL only, seccomp). Input: request bytes from the port proxy
// (untrusted; see port_channel.hpp for the protocol).
#include "init/port_channel.hpp"

#include "init/limits.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace dockerbox::init {
namespace {

struct SocketKind {
  char request;
  int domain;
  int type;  // without SOCK_CLOEXEC, which every socket gets
};

// The only sockets the proxy can have: what a published port needs (docker run -p
// takes tcp and udp, over IPv4 or IPv6). The reaper's filter allows socket() for exactly
// these four, with SOCK_CLOEXEC and protocol 0 (seccomp_profile.cpp allowPortChannel).
constexpr std::array<SocketKind, 4> kSocketKinds = {{
    {kPortRequestTcp4, AF_INET, SOCK_STREAM},
    {kPortRequestUdp4, AF_INET, SOCK_DGRAM},
    {kPortRequestTcp6, AF_INET6, SOCK_STREAM},
    {kPortRequestUdp6, AF_INET6, SOCK_DGRAM},
}};

const SocketKind* kindFor(char request) {
  for (const auto& kind : kSocketKinds) {
    if (kind.request == request) return &kind;
  }
  return nullptr;
}

/// socket()'s errno as one byte (EAFNOSUPPORT where IPv6 is off, EMFILE, ENOBUFS...).
/// Linux's errnos are all below 256; anything else would still say "failed", not 0.
unsigned char replyFor(int err) {
  return static_cast<unsigned char>(err > 0 && err <= 255 ? err : EIO);
}

}  // namespace

Result<void> PortChannel::arm() {
  if (!connection_) return {};
  const int fd = connection_.get();
  // Owner and signal first, so that the first notice already carries si_code and si_fd;
  // O_ASYNC last switches the notices on. F_SETSIG to SIGIO itself (not 0) is what makes
  // the kernel fill in si_code and si_fd. A standard signal, not a realtime one: a
  // realtime queue can overflow (RLIMIT_SIGPENDING), and a merged SIGIO is harmless,
  // since every SIGIO makes pid 1 read the channel until it is empty (noteSigio).
  auto owned = sysCheck(::fcntl(fd, F_SETOWN, ::getpid()), "port channel: F_SETOWN");
  if (!owned) return owned;
  if (auto ok = sysCheck(::fcntl(fd, F_SETSIG, SIGIO), "port channel: F_SETSIG"); !ok) return ok;
  int flags = ::fcntl(fd, F_GETFL);
  return sysCheck(flags < 0 ? flags : ::fcntl(fd, F_SETFL, flags | O_NONBLOCK | O_ASYNC),
                  "port channel: O_ASYNC");
}

std::optional<int> PortChannel::fd() const {
  if (!connection_) return std::nullopt;
  return connection_.get();
}

void PortChannel::serve() {
  if (!connection_) return;
  // read(), not recvmsg(): descriptors the proxy might attach are discarded by the
  // kernel instead of landing in pid 1, and the reaper's filter needs no recvmsg.
  std::array<char, kPortRequestsPerTurn> requests{};
  long n = ::read(connection_.get(), requests.data(), requests.size());
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    pending_ = false;  // all answered; the next request raises a new SIGIO
    return;
  }
  if (n < 0 && errno == EINTR) return;  // still pending: the next turn reads again
  if (n <= 0) {
    close();  // EOF (the proxy is gone) or an error on the channel
    return;
  }
  for (long i = 0; i < n; ++i) {
    if (!answer(requests[static_cast<std::size_t>(i)])) {
      close();
      return;
    }
  }
  // pending_ stays true: the next turn reads until the channel is empty.
}

bool PortChannel::answer(char request) const {
  const SocketKind* kind = kindFor(request);
  if (kind == nullptr) return false;  // not a request: the proxy is broken or hostile
  // A socket of pid 1's network namespace, the container's, which is the point: the
  // proxy outside connects it to the container's port itself.
  UniqueFd fresh(::socket(kind->domain, kind->type | SOCK_CLOEXEC, 0));
  unsigned char reply = fresh ? kPortReplySocket : replyFor(errno);
  iovec data{&reply, 1};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  if (fresh) {
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    const int passed = fresh.get();
    std::memcpy(CMSG_DATA(rights), &passed, sizeof(passed));
  }
  // Never waits: a proxy that leaves its replies unread until the channel's buffer is
  // full loses the channel rather than stopping pid 1 (EAGAIN ends it like an error).
  long sent = 0;
  do {
    sent = ::sendmsg(connection_.get(), &message, kPortReplyFlags);
  } while (sent < 0 && errno == EINTR);
  return sent == 1;  // pid 1's copy of the socket is closed on return either way
}

void PortChannel::close() {
  // Notices already queued for it are still taken (as SIGIO from the kernel, which the
  // loops never forward), and find no channel.
  connection_.reset();
  pending_ = false;
}

Result<UniqueFd> connectPortChannel(const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long node = 0;
  DOCKERBOX_TRY_ASSIGN(node, sysRetry("open ports " + path, [&] {
                         return ::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof(how));
                       }));
  UniqueFd listener(static_cast<int>(node));
  struct stat st {};
  if (auto ok = sysCheck(::fstat(listener.get(), &st), "fstat " + path); !ok) return ok.error();
  if (!S_ISSOCK(st.st_mode)) return fail(ErrorKind::Internal, "ports " + path + ": not a socket");
  // Connected through the descriptor just checked (the kernel resolves the magic link to
  // that very socket), so no path lookup happens twice. Non-blocking: a Unix stream
  // connect then never waits (it fails with EAGAIN when the backlog is full), and the
  // channel stays non-blocking for the reaper.
  UniqueFd channel(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!channel) return sysError("port channel: socket", errno);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "/proc/self/fd/%d", listener.get());
  auto connected = sysCheck(
      ::connect(channel.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)),
      "connect to the port channel " + path);
  if (!connected) return connected.error();
  return channel;
}

}  // namespace dockerbox::init
