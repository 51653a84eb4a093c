#include "tests/broker/in_process_engine.hpp"

#include "broker/ids.hpp"

#include <boost/asio/local/connect_pair.hpp>

namespace dockerbox::broker {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

engine::EngineFacts facts(const Handlers& handlers) {
  return engine::EngineFacts{HostFacts{}, handlers.config().miniboxSocket, handlers.config().stateDir};
}

}  // namespace

InProcessEngine::InProcessEngine(asio::any_io_executor executor, Handlers& handlers) {
  attach(executor, handlers);
  engine_ = std::make_unique<engine::Engine>(executor, *remote_, facts(handlers));
  server_ = std::make_unique<engine::EngineServer>(executor, std::move(*engineEnd_), *engine_);
}

InProcessEngine::InProcessEngine(asio::any_io_executor executor, Handlers& handlers, state::StateStore& state,
                                 state::LogStore& logs) {
  attach(executor, handlers);
  containers::ServiceOptions options;
  options.imageId = [](std::string_view storeName) { return imageIdFromStoreName(storeName); };
  engine_ = std::make_unique<engine::Engine>(executor, *remote_, facts(handlers), state, logs, std::move(options));
  server_ = std::make_unique<engine::EngineServer>(executor, std::move(*engineEnd_), *engine_);
}

void InProcessEngine::attach(asio::any_io_executor executor, Handlers& handlers) {
  Local::socket actsEngine(executor), actsMonitor(executor), engineMonitor(executor);
  engineEnd_.emplace(executor);
  asio::local::connect_pair(actsEngine, actsMonitor);
  asio::local::connect_pair(*engineEnd_, engineMonitor);
  remote_ = std::make_unique<containers::RemoteMonitor>(executor, std::move(actsEngine));
  handlers.attachEngine(std::move(actsMonitor), std::move(engineMonitor));
}

InProcessEngine::~InProcessEngine() = default;

}  // namespace dockerbox::broker
