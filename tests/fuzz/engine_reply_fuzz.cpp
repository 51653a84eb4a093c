// Fuzzes the monitor's side of the engine channel: arbitrary bytes from a (compromised)
// engine through frame reassembly, EngineReply decoding and RemoteEngine::run relaying them
// to a request's sink (requests 1 and 2 in flight). Nothing may crash, hang or allocate
// without bound; both requests must end (with the engine's answer or "not reachable") once
// the engine's side is closed.
#include "broker/engine_link.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/write.hpp>
#include <capnp/message.h>

#include <cstddef>
#include <cstdint>

namespace {

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::broker;

class StubSink final : public StreamSink {
 public:
  asio::awaitable<bool> accepted() override { co_return true; }
  asio::awaitable<bool> output(OutputKind, std::span<const std::byte> data, std::int64_t) override {
    bytes += data.size();
    co_return bytes < 1024 * 1024;
  }
  asio::awaitable<bool> event(const EventRecord&) override { co_return true; }
  asio::awaitable<std::optional<StreamInput>> input() override {
    if (inputs++ > 2) co_return std::nullopt;
    StreamInput in;
    in.data.assign(3, std::byte{'x'});
    co_return in;
  }
  std::size_t bytes = 0;
  int inputs = 0;
};

asio::awaitable<void> request(RemoteEngine& engine, std::uint64_t id, int& ended) {
  Caller who;
  who.requestId = id;
  StubSink sink;
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<ipc::wire::BrokerMessage>();
  const std::optional<std::vector<std::uint8_t>> judged;
  const std::vector<capnp::word> frame(2);
  auto outcome = co_await engine.run(who, frame, judged, sink, reply);
  (void)outcome;
  ++ended;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The socket buffer takes the whole input at once; larger inputs add nothing.
  if (size > 64 * 1024) return 0;
  asio::io_context io;
  int ended = 0;
  {
    asio::local::stream_protocol::socket engineEnd(io), monitorEnd(io);
    asio::local::connect_pair(engineEnd, monitorEnd);
    RemoteEngine engine(io.get_executor(), std::move(monitorEnd));
    asio::co_spawn(io, request(engine, 1, ended), asio::detached);
    asio::co_spawn(io, request(engine, 2, ended), asio::detached);
    io.poll();  // both requests are sent and waiting
    boost::system::error_code ec;
    asio::write(engineEnd, asio::buffer(data, size), ec);
    engineEnd.shutdown(asio::socket_base::shutdown_send, ec);
    // Runs until the link has read to EOF and both requests have ended.
    io.run();
    if (ended != 2) __builtin_trap();
  }
  return 0;
}
