// Input: typed requests the monitor has judged, with the caller it named (broker/caller.hpp).
//
// The engine: Docker's semantics on top of dockerbox's own state — containers, execs, their
// output, events, names, filters, images — reaching miniboxd only through the monitor's acts
// (broker/containers/monitor_port.hpp), which judge every privileged act themselves. It runs
// in dockerbox-engine (main.cpp), a process of its own user and sandbox (sandbox.hpp).
#pragma once

#include "broker/caller.hpp"
#include "broker/containers/monitor_port.hpp"
#include "engine/containers/service.hpp"
#include "broker/error_reply.hpp"
#include "engine/host_facts.hpp"
#include "broker/request.hpp"
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "broker/stream.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>
#include <string>

namespace dockerbox::engine {

using ReplyBuilder = ipc::wire::Response::Result::Builder;

/// Fills an error reply. Only `error.message` reaches the client.
using broker::renderError;

/// What `docker info` and `docker version` report of the host and of dockerbox.
struct EngineFacts {
  broker::HostFacts host;
  std::string miniboxSocket;
  std::string stateDir;
};

class Engine {
 public:
  /// Without dockerbox's state: system and image-list operations only; container
  /// operations answer Unavailable (tests of the channel use this).
  Engine(boost::asio::any_io_executor executor, broker::containers::MonitorPort& port, EngineFacts facts);
  /// With dockerbox's state; the stores and the port must outlive the engine.
  Engine(boost::asio::any_io_executor executor, broker::containers::MonitorPort& port, EngineFacts facts,
         broker::state::StateStore& state, broker::state::LogStore& logs, broker::containers::ServiceOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The container, exec, event and image service; nullptr without state.
  [[nodiscard]] broker::containers::ContainerService* containers() { return containers_.get(); }

  /// Serves one request: fills `out`, or returns the error to render.
  boost::asio::awaitable<Result<void>> run(const broker::Caller& who, const broker::Operation& op,
                                           broker::StreamSink& sink, ReplyBuilder out);

 private:
  boost::asio::awaitable<Result<void>> handleVersion(const broker::VersionOp& op, ReplyBuilder out);
  boost::asio::awaitable<Result<void>> handleInfo(const broker::Caller& who, const broker::InfoOp& op,
                                                  ReplyBuilder out);
  boost::asio::awaitable<Result<void>> handleListContainers(const broker::Caller& who,
                                                            const broker::ListContainersOp& op,
                                                            broker::StreamSink& sink, ReplyBuilder out);
  boost::asio::awaitable<Result<void>> handleListImages(const broker::ListImagesOp& op, ReplyBuilder out);

  broker::containers::MonitorPort& port_;
  EngineFacts facts_;
  broker::state::StateStore* state_ = nullptr;  // set when dockerbox's state is open
  std::unique_ptr<broker::containers::ContainerService> containers_;
};

}  // namespace dockerbox::engine
