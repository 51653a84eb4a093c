// The engine in the test's own process, attached to a Handlers over socketpairs exactly as
// dockerbox-engine is attached in the daemon (acts channel, engine channel): tests of the
// channel and of dispatch run the real engine without a second process.
#pragma once

#include "engine/containers/remote_monitor.hpp"
#include "broker/handlers.hpp"
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "engine/engine.hpp"
#include "engine/engine_server.hpp"
#include "engine/host_facts.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>

namespace dockerbox::broker {

class InProcessEngine {
 public:
  /// Without dockerbox's state: system and image-list operations only.
  InProcessEngine(boost::asio::any_io_executor executor, Handlers& handlers);
  /// With the state in `state` and `logs`, which must outlive the engine.
  InProcessEngine(boost::asio::any_io_executor executor, Handlers& handlers, state::StateStore& state,
                  state::LogStore& logs);
  ~InProcessEngine();

  [[nodiscard]] engine::Engine& engine() { return *engine_; }

 private:
  void attach(boost::asio::any_io_executor executor, Handlers& handlers);

  std::unique_ptr<containers::RemoteMonitor> remote_;
  std::optional<boost::asio::local::stream_protocol::socket> engineEnd_;  // until the server takes it
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<engine::EngineServer> server_;
};

}  // namespace dockerbox::broker
