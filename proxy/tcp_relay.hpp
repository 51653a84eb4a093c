// Published TCP ports. Runs in: dockerbox-proxy (unprivileged, sandboxed). Input: bytes
// from any client that reaches the host port and from the container's server: untrusted,
// and never read: they are copied unchanged, both ways, within fixed buffers.
#pragma once

#include "common/unique_fd.hpp"
#include "proxy/run_context.hpp"

#include <cstdint>
#include <memory>

namespace dockerbox::proxy {

/// Serves one published TCP port until the run closes: accepts clients on `listener` (a
/// listening socket of `family`, AF_INET or AF_INET6, that the monitor bound), asks the
/// container's init for a socket per client, connects it to 127.0.0.1:`containerPort`
/// inside the container and relays both ways, with half-close (an EOF from one side becomes
/// shutdown(SHUT_WR) on the other; the pair closes when both directions ended or on an
/// error). A client the container refuses, or one beyond the run's limits, is closed.
void serveTcpPort(const std::shared_ptr<RunContext>& run, UniqueFd listener, int family, std::uint16_t containerPort);

}  // namespace dockerbox::proxy
