// Fuzzes the monitor's side of the acts channel: arbitrary bytes from a (compromised)
// engine through frame reassembly, ActCall decoding and the act dispatch of
// monitor::ActServer, against a stub MonitorPort that answers at once (so that every act,
// including the interim replies of run and exec, is exercised without miniboxd). Nothing
// may crash, hang or allocate without bound; the server must end at EOF.
#include "broker/monitor/act_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/write.hpp>

#include <cstddef>
#include <cstdint>

namespace {

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::broker;

Error refused() { return fail(ErrorKind::Forbidden, "refused by the stub"); }

class StubPort final : public containers::MonitorPort {
 public:
  asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> list() override {
    co_return std::vector<minibox::ContainerInfo>{minibox::ContainerInfo{}};
  }
  asio::awaitable<Result<std::vector<std::string>>> listImages() override {
    co_return std::vector<std::string>{"library/alpine:latest"};
  }
  asio::awaitable<Result<minibox::Protocol>> probe() override { co_return minibox::Protocol::Head; }
  asio::awaitable<Result<void>> subscribeEvents(minibox::EventHandler onEvent) override {
    // Named values moved in (g++ 12 and coroutine arguments from temporaries, see
    // service_exec.cpp).
    minibox::ContainerEvent event;
    co_await onEvent(std::move(event));
    co_return refused();
  }
  asio::awaitable<bool> canConfine() override { co_return true; }
  asio::awaitable<Result<std::string>> sealContainer(const Caller&, const std::string& id, const state::Blob&,
                                                     const std::optional<containers::ImageDefaults>&) override {
    co_return id;
  }
  asio::awaitable<Result<std::string>> sealExec(const Caller&, const std::string& id, const containers::SealedRecord&,
                                                const state::Blob&) override {
    co_return id;
  }
  asio::awaitable<Result<void>> pull(const Caller&, minibox::ImageRef) override { co_return Result<void>(); }
  asio::awaitable<Result<void>> removeImage(const Caller&, minibox::ImageRef) override { co_return refused(); }
  asio::awaitable<Result<containers::ResolvedImage>> resolveImage(const Caller&, std::string, std::string,
                                                                  containers::RegistryCredentials, bool) override {
    co_return refused();
  }
  asio::awaitable<Result<std::int32_t>> run(const Caller&, containers::SealedRecord record,
                                            containers::RunHandlers handlers) override {
    std::string id = record.id;
    co_await handlers.onCreated(std::move(id));
    std::vector<std::uint8_t> bytes = record.config;
    co_await handlers.onOutput(minibox::OutputStream::Stdout, std::move(bytes));
    co_return 0;
  }
  asio::awaitable<Result<std::int32_t>> restartRun(containers::SealedRecord record,
                                                   containers::RunHandlers handlers) override {
    co_return co_await run(Caller{}, std::move(record), std::move(handlers));
  }
  asio::awaitable<Result<std::int32_t>> healthCheck(containers::SealedRecord, std::string,
                                                    minibox::OutputHandler onOutput) override {
    co_return co_await runExec(1, std::move(onOutput));
  }
  asio::awaitable<Result<std::uint64_t>> prepareExec(const Caller&, containers::SealedRecord, std::string,
                                                     containers::SealedRecord) override {
    co_return 1;
  }
  asio::awaitable<Result<std::int32_t>> runExec(std::uint64_t, minibox::OutputHandler onOutput) override {
    std::vector<std::uint8_t> bytes(3, 'x');
    co_await onOutput(minibox::OutputStream::Stderr, std::move(bytes));
    co_return 0;
  }
  void dropExec(std::uint64_t) override {}
  asio::awaitable<Result<void>> input(const Caller&, containers::SealedRecord, containers::SealedRecord,
                                      std::vector<std::uint8_t>, bool) override {
    co_return Result<void>();
  }
  asio::awaitable<Result<void>> resizeTerminal(const Caller&, containers::SealedRecord, containers::SealedRecord,
                                               std::uint16_t, std::uint16_t) override {
    co_return refused();
  }
  asio::awaitable<Result<void>> stop(const Caller&, containers::SealedRecord, std::string) override {
    co_return Result<void>();
  }
  asio::awaitable<Result<void>> signal(const Caller&, containers::SealedRecord, std::string, int) override {
    co_return refused();
  }
  asio::awaitable<Result<void>> pause(const Caller&, containers::SealedRecord, std::string) override {
    co_return refused();
  }
  asio::awaitable<Result<void>> resume(const Caller&, containers::SealedRecord, std::string) override {
    co_return Result<void>();
  }
  asio::awaitable<Result<bool>> createVolume(const Caller&, std::string) override { co_return false; }
  asio::awaitable<Result<void>> removeVolume(const Caller&, std::string) override { co_return refused(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The socket buffer takes the whole input at once; larger inputs add nothing.
  if (size > 64 * 1024) return 0;
  monitor::CallerRegistry callers;
  // Requests 1.. are in flight, one per operation that causes acts.
  std::vector<monitor::CallerRegistry::Entry> entries;
  for (const char* operation : {"containers.create", "containers.start", "containers.restart", "containers.stop",
                                "containers.pause", "containers.unpause", "exec.create", "exec.start", "images.pull",
                                "images.remove", "containers.attach", "containers.resize", "system.auth", "volumes.create",
                                "volumes.remove"}) {
    Caller who;
    entries.push_back(callers.add(who, operation));
  }
  StubPort port;
  asio::io_context io;
  {
    asio::local::stream_protocol::socket engine(io), monitorEnd(io);
    asio::local::connect_pair(engine, monitorEnd);
    monitor::ActServer server(io.get_executor(), std::move(monitorEnd), port, callers);
    boost::system::error_code ec;
    asio::write(engine, asio::buffer(data, size), ec);
    engine.shutdown(asio::socket_base::shutdown_send, ec);
    // Runs until the server has read to EOF and every act it started has finished.
    io.run();
  }
  return 0;
}
