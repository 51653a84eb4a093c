// Runs as root. Input: validated requests only (after broker::decodeWorkerMessage) and
// the identity bound to the channel.
//
// What dispatch serves requests with: the monitor (miniboxd's only client, judging every
// act the engine asks for) and the monitor's ends of the engine's two channels. None of it
// sees HTTP or Docker JSON.
#pragma once

#include "broker/config.hpp"
#include "broker/engine_link.hpp"
#include "broker/error_reply.hpp"
#include "broker/minibox/client.hpp"
#include "broker/minibox/image_ref.hpp"
#include "broker/registry_launcher.hpp"
#include "broker/monitor/act_server.hpp"
#include "broker/monitor/monitor.hpp"
#include "broker/caller.hpp"
#include "broker/request.hpp"
#include "broker/stream.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <memory>

namespace dockerbox::broker {

using ReplyBuilder = ipc::wire::Response::Result::Builder;

class PolicyHolder;  // authz.hpp
class Gate;          // gate.hpp

class Handlers {
 public:
  /// Without a policy or a seal key of the daemon's (tests of the channel): nothing a
  /// container needs is judged, and seals use a key made up for this instance.
  Handlers(boost::asio::any_io_executor executor, const Config& config);
  /// The daemon's: `policy` re-judges a stored container when it is started (without one
  /// every start is refused); the monitor seals with `sealer`. The engine, a process of its
  /// own (dockerbox-engine, started by the EngineLauncher), is connected by attachEngine();
  /// until then requests answer Unavailable.
  /// With `gate`, runs that no client asked for (restart policies) are audited there and
  /// may happen; without one they are refused. With `ports` (the ProxyLauncher), containers
  /// may publish ports.
  Handlers(boost::asio::any_io_executor executor, const Config& config, const PolicyHolder* policy,
           monitor::Sealer sealer, Gate* gate = nullptr, std::shared_ptr<monitor::PortPublisher> ports = nullptr);
  ~Handlers();

  /// Serves the channels of a (new) engine: its acts reach the monitor, requests reach it.
  /// Requests in flight on an engine that died have failed already.
  void attachEngine(boost::asio::local::stream_protocol::socket acts,
                    boost::asio::local::stream_protocol::socket engine);

  [[nodiscard]] const Config& config() const { return config_; }
  /// The monitor's side of the engine channel: how dispatch reaches the engine. Shared:
  /// a request in flight keeps the channel it started on even if the engine is replaced.
  /// nullptr while no engine is attached.
  [[nodiscard]] std::shared_ptr<RemoteEngine> remoteEngine() { return remoteEngine_; }
  /// The callers of the requests in flight, by the number the acts channel names them with.
  [[nodiscard]] monitor::CallerRegistry& callers() { return callers_; }

 private:
  monitor::MonitorOptions monitorOptions(const Config& config, const PolicyHolder* policy, Gate* gate);

  const Config& config_;
  minibox::Client minibox_;
  RegistryLauncher registry_;
  monitor::CallerRegistry callers_;
  std::unique_ptr<monitor::Monitor> monitor_;  // after minibox_: it uses it
  // The engine reaches the monitor only through the acts channel (ipc/acts.capnp) and is
  // reached only through the engine channel (ipc/engine.capnp).
  std::unique_ptr<monitor::ActServer> actServer_;
  std::shared_ptr<RemoteEngine> remoteEngine_;
};


}  // namespace dockerbox::broker
