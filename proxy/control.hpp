// The monitor's commands. Runs in: dockerbox-proxy (unprivileged, sandboxed). Input:
// ProxyCommand packets (ipc/proxy.capnp) on fd 3, a SOCK_SEQPACKET socket whose other end
// the root monitor holds: trusted, and still opened under reader limits and checked field
// by field, because a malformed command from root is a bug to report, not to act on.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "proxy/limits.hpp"
#include "proxy/publication.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace dockerbox::proxy {

struct UnpublishCommand {
  std::string run;
};

using Command = std::variant<PublishCommand, UnpublishCommand>;

/// Opens one packet and checks it: a 64-hex run, at most kMaxPortsPerPublish entries, each
/// "tcp" or "udp" with a container port of 1..65535, and exactly one descriptor more than
/// there are entries for a publish, none for an unpublish. The descriptors are taken either
/// way (closed when refused).
[[nodiscard]] Result<Command> decodeCommand(std::span<const std::byte> packet, std::vector<UniqueFd> fds);

/// Serves the monitor's channel. Per run, at most one publication is current; a publish
/// for a run already published closes the old one first. An unpublish closes the run's
/// current publication and is answered by `unpublished` once every socket of every
/// publication of that run is closed (at once when there is none, so an unpublish of an
/// unknown run is acknowledged too). When the channel ends (EOF: the monitor is gone) every
/// run is closed and `onClosed` is called.
class Control {
 public:
  Control(boost::asio::any_io_executor executor, UniqueFd channel, Limits limits, std::function<void()> onClosed);
  ~Control();
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  /// Starts reading commands.
  void start();

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace dockerbox::proxy
