// Non-blocking message I/O with attached descriptors, and what the kernel says a descriptor
// is. Runs in: dockerbox-proxy (unprivileged, sandboxed). Input: packets from the monitor
// (trusted, checked anyway) and answers from a container's init (untrusted: a container
// that took over its pid 1 may send any bytes and any descriptor).
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace dockerbox::proxy {

enum class ReceiveStatus {
  Message,     // `bytes` bytes and `fds` arrived
  WouldBlock,  // nothing to read now
  Closed,      // the peer closed (EOF)
  Failed,      // the socket is unusable (errno in `error`)
};

struct Received {
  ReceiveStatus status = ReceiveStatus::Failed;
  std::size_t bytes = 0;
  std::vector<UniqueFd> fds;  // all CLOEXEC
  bool truncated = false;     // the bytes or the descriptors did not fit: `fds` is then empty
  int error = 0;
};

/// One recvmsg(MSG_DONTWAIT) into `buffer`, with room for `maxFds` descriptors. Descriptors
/// beyond that, or of a truncated message, are closed and reported as `truncated`.
[[nodiscard]] Received receiveNonBlocking(int socket, std::span<std::byte> buffer, std::size_t maxFds);

/// One send(MSG_DONTWAIT | MSG_NOSIGNAL): the bytes sent (0 when it would block), or the errno.
[[nodiscard]] Result<std::size_t> sendNonBlocking(int socket, std::span<const std::byte> bytes);

/// What a descriptor is, as the kernel says.
struct SocketFacts {
  int domain = 0;  // AF_UNIX, AF_INET, AF_INET6
  int type = 0;    // SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET
  bool listening = false;
  bool bound = false;  // has a local port (AF_INET/AF_INET6 only)
};

/// Fails for a descriptor that is not a socket.
[[nodiscard]] Result<SocketFacts> socketFacts(int fd);

}  // namespace dockerbox::proxy
