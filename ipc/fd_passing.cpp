#include "ipc/fd_passing.hpp"

#include "common/syscall.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstring>

namespace dockerbox::ipc {

Result<void> sendWithFds(int socket, std::span<const std::byte> bytes, std::span<const int> fds) {
  if (bytes.empty()) return fail(ErrorKind::Internal, "sendWithFds needs at least one byte");
  iovec iov{const_cast<std::byte*>(bytes.data()), bytes.size()};
  std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  auto sent = DOCKERBOX_SYSCALL(::sendmsg(socket, &msg, MSG_NOSIGNAL), "sendmsg(SCM_RIGHTS)");
  if (!sent) return sent.error();
  if (static_cast<std::size_t>(*sent) != bytes.size()) {
    return fail(ErrorKind::Internal, "short sendmsg with descriptors");
  }
  return {};
}

Result<ReceivedMessage> receiveWithFds(int socket, std::size_t maxBytes, std::size_t maxFds) {
  ReceivedMessage out;
  out.bytes.resize(maxBytes);
  iovec iov{out.bytes.data(), out.bytes.size()};
  std::vector<std::byte> control(CMSG_SPACE(sizeof(int) * (maxFds + 1)));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  auto got = DOCKERBOX_SYSCALL(::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC), "recvmsg(SCM_RIGHTS)");
  if (!got) return got.error();
  out.bytes.resize(static_cast<std::size_t>(*got));
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
    std::size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < n; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
      out.fds.emplace_back(fd);
    }
  }
  if ((msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || out.fds.size() > maxFds) {
    return fail(ErrorKind::BadRequest, "descriptor message truncated or too many descriptors");
  }
  return out;
}

}  // namespace dockerbox::ipc
