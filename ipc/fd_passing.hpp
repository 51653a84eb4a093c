// Passing file descriptors over a Unix socket (SCM_RIGHTS). Used by the broker to hand a
// client connection and its IPC channel to the zygote, and by the zygote to receive them.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <cstddef>
#include <span>
#include <vector>

namespace dockerbox::ipc {

/// Sends `bytes` (at least one) with `fds` attached, in one sendmsg.
[[nodiscard]] Result<void> sendWithFds(int socket, std::span<const std::byte> bytes,
                                       std::span<const int> fds);

struct ReceivedMessage {
  std::vector<std::byte> bytes;  // empty: the peer closed
  std::vector<UniqueFd> fds;     // every descriptor received, all CLOEXEC
};

/// Receives one message of at most `maxBytes` with at most `maxFds` descriptors. Extra or
/// truncated descriptors are closed and reported as an error (never silently kept).
[[nodiscard]] Result<ReceivedMessage> receiveWithFds(int socket, std::size_t maxBytes,
                                                     std::size_t maxFds);

}  // namespace dockerbox::ipc
