// Runs as root. Input: validated requests only (after broker::decodeWorkerMessage) and
// the identity bound to the channel.
//
// The broker's code for each operation, handle<Operation>. Each one turns a typed request
// into miniboxd calls and fills a typed reply; none of them sees HTTP or Docker JSON.
#pragma once

#include "broker/config.hpp"
#include "broker/containers/service.hpp"
#include "broker/engine_link.hpp"
#include "engine/engine.hpp"
#include "engine/engine_server.hpp"
#include "engine/host_facts.hpp"
#include "broker/minibox/client.hpp"
#include "broker/minibox/image_ref.hpp"
#include "broker/containers/remote_monitor.hpp"
#include "broker/monitor/act_server.hpp"
#include "broker/monitor/monitor.hpp"
#include "broker/caller.hpp"
#include "broker/request.hpp"
#include "broker/state/log_store.hpp"
#include "broker/state/state_store.hpp"
#include "broker/stream.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <memory>

namespace dockerbox::broker {

using ReplyBuilder = engine::ReplyBuilder;

class PolicyHolder;  // authz.hpp

class Handlers {
 public:
  /// Without dockerbox's state: system and image-list operations only; container operations
  /// answer Unavailable (tests of the channel use this). Nothing is sealed: the key is
  /// made up for this instance.
  Handlers(boost::asio::any_io_executor executor, const Config& config, HostFacts host);
  /// With dockerbox's state (opened by main in config.stateDir): the container service and
  /// the monitor it acts through, sealing with `sealer`. The stores and the policy must
  /// outlive the Handlers. `policy` re-judges a stored container when it is started; without
  /// one every start is refused.
  Handlers(boost::asio::any_io_executor executor, const Config& config, HostFacts host, state::StateStore& state,
           state::LogStore& logs, const PolicyHolder* policy, monitor::Sealer sealer);
  /// The daemon's: the engine is a process of its own (dockerbox-engine, started by the
  /// EngineLauncher), connected by attachEngine(); until then requests answer Unavailable.
  Handlers(boost::asio::any_io_executor executor, const Config& config, const PolicyHolder* policy,
           monitor::Sealer sealer);
  ~Handlers();

  /// Serves the channels of a (new) engine process: its acts reach the monitor, requests
  /// reach it. Requests in flight on an engine that died have failed already.
  void attachEngine(boost::asio::local::stream_protocol::socket acts,
                    boost::asio::local::stream_protocol::socket engine);

  [[nodiscard]] const Config& config() const { return config_; }
  /// The engine every request is served by (engine/engine.hpp) when it runs in this
  /// process (tests); nullptr in the daemon.
  [[nodiscard]] engine::Engine* engine() { return engine_.get(); }
  /// The monitor's side of the engine channel: how dispatch reaches the engine. Shared:
  /// a request in flight keeps the channel it started on even if the engine is replaced.
  /// nullptr while no engine is attached.
  [[nodiscard]] std::shared_ptr<RemoteEngine> remoteEngine() { return remoteEngine_; }
  /// The container, exec, event and image service of an in-process engine; else nullptr.
  [[nodiscard]] containers::ContainerService* containers() { return engine_ ? engine_->containers() : nullptr; }
  /// The callers of the requests in flight, by the number the acts channel names them with.
  [[nodiscard]] monitor::CallerRegistry& callers() { return callers_; }

 private:
  void connect(boost::asio::any_io_executor executor, monitor::MonitorOptions acts, monitor::Sealer sealer);
  void serveEngine(boost::asio::any_io_executor executor);
  static monitor::MonitorOptions monitorOptions(const Config& config, const PolicyHolder* policy);

  const Config& config_;
  HostFacts host_;
  minibox::Client minibox_;
  monitor::CallerRegistry callers_;
  std::unique_ptr<monitor::Monitor> monitor_;  // after minibox_: it uses it
  // The engine reaches the monitor only through the acts channel (ipc/acts.capnp), the
  // boundary the engine process will have (issue 9); both ends run here for now.
  std::unique_ptr<monitor::ActServer> actServer_;
  std::unique_ptr<containers::RemoteMonitor> remote_;
  std::unique_ptr<engine::Engine> engine_;  // after remote_: it uses it
  // Requests reach the engine only through the engine channel (ipc/engine.capnp), the
  // other boundary of the engine process; both ends run here for now.
  std::unique_ptr<engine::EngineServer> engineServer_;  // after engine_: it serves it
  std::shared_ptr<RemoteEngine> remoteEngine_;
};

/// Fills an error reply (engine/engine.hpp). Only `error.message` reaches the client.
using engine::renderError;

}  // namespace dockerbox::broker
