// The container side of published ports (docker run -p): pid 1's end of the port channel,
// over which the port proxy (dockerbox-proxy, sandboxed, outside the container) gets fresh
// sockets of the container's network namespace, which it then connects itself.
// Runs in pid 1 of a Run: connectPortChannel as host root with every capability, in
// openContainerIo before the io mount is detached and before the fork; arm() after the
// fork, before the reaper's drop; serve() in the reaper's and the tty relay's loops, as
// uid 0 with only CAP_KILL under the reaper's seccomp filter (which allows the socket and
// sendmsg calls below and nothing more). Input: request bytes from the proxy, untrusted:
// it is trusted only to ask for sockets, so anything but a known request ends the channel,
// and pid 1 never waits on it.
//
// Protocol (a Unix stream connection; the proxy's end is the broker's listener at
// config.portsPath):
//   proxy -> pid 1: one byte per request: 't' AF_INET/SOCK_STREAM, 'u' AF_INET/SOCK_DGRAM,
//                   'T' AF_INET6/SOCK_STREAM, 'U' AF_INET6/SOCK_DGRAM.
//   pid 1 -> proxy: one byte per request, in order: 0 with the new socket attached
//                   (SCM_RIGHTS, one fd; unbound, unconnected, CLOEXEC), or socket()'s errno
//                   (1..255) with nothing attached.
// Any other byte, EOF, an error, or a reply that cannot be queued at once: pid 1 closes
// the channel and serves no more (the container carries on without its published ports).
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/socket.h>

#include <optional>
#include <string>
#include <utility>

namespace dockerbox::init {

inline constexpr char kPortRequestTcp4 = 't';
inline constexpr char kPortRequestUdp4 = 'u';
inline constexpr char kPortRequestTcp6 = 'T';
inline constexpr char kPortRequestUdp6 = 'U';

/// The reply byte of a request that was served: a socket is attached.
inline constexpr unsigned char kPortReplySocket = 0;

/// The flags of every reply's sendmsg (the reaper's filter allows no others): pid 1 must
/// never block on the proxy, nor take a SIGPIPE when it has gone.
inline constexpr int kPortReplyFlags = MSG_DONTWAIT | MSG_NOSIGNAL;

/// Pid 1's end of the channel: a connected Unix stream socket, or none (a Run without
/// published ports, an exec).
class PortChannel {
 public:
  PortChannel() = default;
  explicit PortChannel(UniqueFd&& connection) : connection_(std::move(connection)) {}

  /// Makes the connection non-blocking and asynchronous: from here on every request (and
  /// the proxy's hang-up) raises SIGIO at the calling process, with si_code POLL_IN,
  /// POLL_HUP, ... and si_fd the channel (F_SETSIG). The caller has blocked SIGIO (its
  /// default action ends the process) and takes it in its loop. Before the reaper's
  /// filter, which has no fcntl. Nothing to do without a channel.
  [[nodiscard]] Result<void> arm();

  /// The connection's fd, for the reaper's filter; none without a channel.
  [[nodiscard]] std::optional<int> fd() const;

  /// Whether serve() has work: a SIGIO came (noteSigio) or the last turn was not the last.
  /// True from the start, so that requests sent before arm() are answered too.
  [[nodiscard]] bool pending() const { return connection_.valid() && pending_; }

  /// Any SIGIO pid 1 takes, whoever raised it: the channel may have requests. (A SIGIO
  /// sent by a process while the kernel's was pending hides the kernel's: a standard
  /// signal is queued once. Treating every SIGIO as the channel's loses no request.)
  void noteSigio() { pending_ = true; }

  /// One turn: reads at most kPortRequestsPerTurn requests and answers each, so that a
  /// proxy asking without pause cannot keep pid 1 from reaping; pending() stays true
  /// while more may be waiting, and false once a read found nothing. Closes the channel
  /// on anything but a valid request. Allocates nothing, makes no call the reaper's filter
  /// lacks.
  void serve();

 private:
  [[nodiscard]] bool answer(char request) const;
  void close();

  UniqueFd connection_;
  bool pending_ = true;
};

/// Connects to the listener at `path` (config.portsPath): opened without following a
/// symlink (the broker's path has none, so one would be the image's) and checked to be a
/// socket, then connected through that descriptor (/proc/self/fd), non-blocking, so a
/// listener whose backlog is full fails instead of stopping pid 1. Root, before the io
/// mount is detached. Any failure is fatal to the container.
[[nodiscard]] Result<UniqueFd> connectPortChannel(const std::string& path);

}  // namespace dockerbox::init
