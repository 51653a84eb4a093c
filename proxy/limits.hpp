// The bounds dockerbox-proxy keeps (style.md §6). Runs in: dockerbox-proxy, the sandboxed
// port proxy (unprivileged, its own user). Each number says why; `Limits` carries the ones
// a test may shrink.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dockerbox::proxy {

/// Bytes of one control packet from the monitor. A publish of kMaxPortsPerPublish entries,
/// each with an address text of at most kMaxHostIpBytes, is under 32 KiB.
inline constexpr std::size_t kMaxCommandBytes = 64 * 1024;

/// Published ports in one publish: SCM_RIGHTS carries at most SCM_MAX_FD (253) descriptors
/// in one message, the channel listener and one per port. (The monitor sends at most
/// broker/containers/ports.hpp's kMaxPublishedPorts, 128.)
inline constexpr std::size_t kMaxPortsPerPublish = 252;

/// A run is a container's 64-hex id (ipc/proxy.capnp).
inline constexpr std::size_t kRunIdBytes = 64;

/// The text of a host address, for logs only: INET6_ADDRSTRLEN (46) with room to spare.
inline constexpr std::size_t kMaxHostIpBytes = 64;

/// Requests to a container's init in flight (written, not answered yet). pid 1 answers
/// every request it reads at once and closes the channel when an answer cannot be queued
/// without waiting (init/port_channel.hpp): a few dozen answers fit in a Unix socket's
/// buffer with room to spare, so a burst of clients never costs the run its channel. (pid 1
/// reads 32 per turn, init/limits.hpp.) More wait, in order, for answers to come back.
inline constexpr std::size_t kMaxRequestsInFlight = 32;

struct Limits {
  /// TCP connections one run carries at once; more are accepted and closed at once. Each
  /// holds two descriptors and two relay buffers (2 x relayBufferBytes).
  std::size_t maxConnectionsPerRun = 4096;

  /// Container sockets asked for before the container's init has connected to the channel
  /// (clients that arrive while it starts). More are refused: their clients are closed.
  std::size_t maxWaitingForInit = 64;

  /// Client addresses one published UDP port keeps a container socket for; datagrams from
  /// further addresses are dropped until an entry expires.
  std::size_t maxUdpClientsPerPort = 1024;

  /// Datagram bytes one UDP port holds for clients whose container socket is still being
  /// asked for (what arrives beyond that is dropped, as a full socket buffer would).
  std::size_t maxUdpPendingBytes = 256 * 1024;

  /// A UDP client entry with no datagram either way for this long is closed (UDP has no end;
  /// Docker's userland proxy also expires its entries).
  std::chrono::steady_clock::duration udpIdleTimeout = std::chrono::seconds(30);

  /// From a client's arrival until its container socket is connected: the init's answer
  /// plus the connect on the container's loopback. A container that never starts listening
  /// answers at once (refused); this bounds an init that does not answer and a full backlog.
  std::chrono::steady_clock::duration containerConnectTimeout = std::chrono::seconds(30);

  /// One relay buffer, per direction and TCP connection: one read's worth, as a pipe holds.
  std::size_t relayBufferBytes = 64 * 1024;

  /// Back-off after accept fails for lack of descriptors or memory: the listener stays
  /// readable, so retrying at once would spin.
  std::chrono::steady_clock::duration acceptBackoff = std::chrono::milliseconds(100);
};

/// Largest UDP payload (IPv6's 65527 is the larger of the two): a datagram is never cut.
inline constexpr std::size_t kMaxDatagramBytes = 65536;

}  // namespace dockerbox::proxy
