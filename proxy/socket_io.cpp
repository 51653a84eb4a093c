// Runs in: dockerbox-proxy (see socket_io.hpp). Every call here is non-blocking: the proxy
// has one thread, and a peer that stops reading must never stop it.
#include "proxy/socket_io.hpp"

#include "common/syscall.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace dockerbox::proxy {

Received receiveNonBlocking(int socket, std::span<std::byte> buffer, std::size_t maxFds) {
  Received out;
  iovec iov{buffer.data(), buffer.size()};
  // One descriptor more than allowed fits, so that "too many" is seen rather than cut off
  // silently by the kernel.
  std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * (maxFds + 1)));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t got = 0;
  do {
    got = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    out.error = errno;
    out.status = (errno == EAGAIN || errno == EWOULDBLOCK) ? ReceiveStatus::WouldBlock : ReceiveStatus::Failed;
    return out;
  }
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      out.fds.emplace_back(fd);
    }
  }
  if (got == 0 && out.fds.empty()) {
    out.status = ReceiveStatus::Closed;
    return out;
  }
  out.status = ReceiveStatus::Message;
  out.bytes = static_cast<std::size_t>(got);
  if ((msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || out.fds.size() > maxFds) {
    out.truncated = true;
    out.fds.clear();  // closes them
  }
  return out;
}

Result<std::size_t> sendNonBlocking(int socket, std::span<const std::byte> bytes) {
  ssize_t sent = 0;
  do {
    sent = ::send(socket, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent >= 0) return static_cast<std::size_t>(sent);
  if (errno == EAGAIN || errno == EWOULDBLOCK) return std::size_t{0};
  const int saved = errno;
  return fail(ErrorKind::Unavailable, "send failed", "send: " + errnoText(saved));
}

Result<SocketFacts> socketFacts(int fd) {
  SocketFacts facts;
  auto option = [fd](int name, int& value) -> Result<void> {
    socklen_t length = sizeof value;
    auto rc = DOCKERBOX_SYSCALL(::getsockopt(fd, SOL_SOCKET, name, &value, &length), "getsockopt");
    if (!rc) return rc.error();
    return {};
  };
  int listening = 0;
  if (auto ok = option(SO_DOMAIN, facts.domain); !ok) return ok.error();
  if (auto ok = option(SO_TYPE, facts.type); !ok) return ok.error();
  if (auto ok = option(SO_ACCEPTCONN, listening); !ok) return ok.error();
  facts.listening = listening != 0;
  if (facts.domain == AF_INET || facts.domain == AF_INET6) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    auto rc = DOCKERBOX_SYSCALL(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), "getsockname");
    if (!rc) return rc.error();
    in_port_t port = 0;
    if (address.ss_family == AF_INET) {
      sockaddr_in v4{};
      std::memcpy(&v4, &address, sizeof v4);
      port = v4.sin_port;
    } else if (address.ss_family == AF_INET6) {
      sockaddr_in6 v6{};
      std::memcpy(&v6, &address, sizeof v6);
      port = v6.sin6_port;
    }
    facts.bound = port != 0;
  }
  return facts;
}

}  // namespace dockerbox::proxy
