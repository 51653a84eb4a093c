// Published UDP ports. Runs in: dockerbox-proxy (unprivileged, sandboxed). Input:
// datagrams from any client that reaches the host port and from the container's server:
// untrusted, and never read: each is passed on whole or dropped.
#pragma once

#include "common/unique_fd.hpp"
#include "proxy/run_context.hpp"

#include <cstdint>
#include <memory>

namespace dockerbox::proxy {

/// Serves one published UDP port until the run closes: for each client address that sends
/// to `socket` (a bound datagram socket of `family`, AF_INET or AF_INET6), a socket asked
/// from the container's init and connected to 127.0.0.1:`containerPort` inside the
/// container carries its datagrams there, and what comes back is sent to that client from
/// `socket`. An entry with no traffic for limits().udpIdleTimeout is closed; at most
/// limits().maxUdpClientsPerPort exist at once. A datagram that cannot be passed on at
/// once (a full buffer, no entry free) is dropped, as the network would.
void serveUdpPort(const std::shared_ptr<RunContext>& run, UniqueFd socket, int family, std::uint16_t containerPort);

}  // namespace dockerbox::proxy
