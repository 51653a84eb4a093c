// Input: the monitor's calls on the engine channel (ipc/engine.capnp): requests the monitor
// judged, each with the caller it names; opened under reader limits, the request frame
// decoded by the same door the monitor used (broker/decoder.hpp).
//
// The engine's side of the engine channel: serves each request with Engine::run and sends
// back its stream (at most kActWindow interim replies unacknowledged), the stdin it asks
// for, and its one final answer.
#pragma once

#include "broker/containers/act_wire.hpp"
#include "engine/engine.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace dockerbox::engine {

class EngineServer {
 public:
  /// Serves `socket` until it closes, then calls `onClosed` (if any); `engine` must outlive
  /// the server.
  EngineServer(boost::asio::any_io_executor executor, boost::asio::local::stream_protocol::socket socket,
               Engine& engine, std::function<void()> onClosed = {});
  ~EngineServer();
  EngineServer(const EngineServer&) = delete;
  EngineServer& operator=(const EngineServer&) = delete;

  struct Request;  // one request in flight (engine_server.cpp)
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace dockerbox::engine
