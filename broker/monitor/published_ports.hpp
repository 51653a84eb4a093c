// Runs as root. Input: the sealed config's port bindings (containers/ports.hpp), judged by
// the policy before the monitor binds them.
//
// Published ports (docker run -p): the monitor binds each host socket itself, as root and
// only after the policy allowed that address and port for the caller, so that a port below
// 1024 needs no capability anywhere else and a port another user holds is a conflict here,
// before the container starts. It never reads or writes a byte on them: the sockets and the
// run's port channel (RunIo::makePortChannel) go to dockerbox-proxy, an unprivileged
// process with no network of its own, which carries the traffic (proxy/). The ports are
// the run's: taken back (and free again) when the run ends.
#pragma once

#include "broker/containers/ports.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/awaitable.hpp>

#include <string>
#include <vector>

namespace dockerbox::broker::monitor {

/// A bound host socket (tcp: listening; udp: bound) and what it publishes.
struct HostSocket {
  containers::BoundPort port;
  UniqueFd fd;
};

/// Binds every spec in order: the given port, the first free one of a range, or one the
/// kernel picks. Conflict with Docker's "Bind for ADDRESS:PORT failed: port is already
/// allocated" when it is taken. All or nothing.
[[nodiscard]] Result<std::vector<HostSocket>> bindHostPorts(const std::vector<containers::PublishSpec>& specs);

/// Where the bound sockets go (the broker's ProxyLauncher; a fake in tests).
class PortPublisher {
 public:
  virtual ~PortPublisher() = default;
  /// Hands `run`'s host sockets and its port channel listener to the proxy.
  [[nodiscard]] virtual Result<void> publish(const std::string& run, std::vector<HostSocket> sockets,
                                             UniqueFd channel) = 0;
  /// Takes them back: returns once the proxy closed every socket of `run` (its ports are
  /// free again), or when it does not answer in time.
  virtual boost::asio::awaitable<void> unpublish(std::string run) = 0;
};

}  // namespace dockerbox::broker::monitor
