// One published run. Runs in: dockerbox-proxy (unprivileged, sandboxed). Input: a publish
// command from the monitor (trusted, checked anyway: descriptors are what the command says
// they are) and, through what it starts, the container's init and the clients.
#pragma once

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "proxy/limits.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dockerbox::proxy {

class RunContext;

enum class Protocol { Tcp, Udp };

/// One entry of a publish, as decoded (control.hpp).
struct PortEntry {
  Protocol protocol = Protocol::Tcp;
  std::uint16_t containerPort = 0;  // 1..65535
  std::string hostIp;               // for the log only
  std::uint16_t hostPort = 0;       // for the log only
};

/// A publish command with its descriptors, in the schema's order.
struct PublishCommand {
  std::string run;                // 64 hex digits
  std::vector<PortEntry> ports;
  UniqueFd channelListener;       // AF_UNIX stream, listening
  std::vector<UniqueFd> sockets;  // one per entry: tcp listening, udp bound
};

/// A run's listeners and everything they carry, until close().
class Publication {
 public:
  /// Checks that every descriptor is the socket its entry says (family, type, listening or
  /// bound) and starts serving: the init's one connection is accepted on the channel
  /// listener (which is then closed), then each port is served (tcp_relay.hpp,
  /// udp_relay.hpp). `onGone` is posted exactly once, when no socket of the run is open
  /// any more, in every case: after close() or destruction, when the init channel ends, and
  /// when the command is refused (then soon, with every descriptor closed).
  [[nodiscard]] static Result<std::unique_ptr<Publication>> start(boost::asio::any_io_executor executor,
                                                                  PublishCommand command, const Limits& limits,
                                                                  std::function<void()> onGone);
  ~Publication();
  Publication(const Publication&) = delete;
  Publication& operator=(const Publication&) = delete;

  /// Closes every socket of the run now (listeners, connections, the channel); onGone
  /// follows once the last coroutine of the run has let go of its state.
  void close();

 private:
  explicit Publication(std::shared_ptr<RunContext> context) : context_(std::move(context)) {}
  std::shared_ptr<RunContext> context_;
};

}  // namespace dockerbox::proxy
