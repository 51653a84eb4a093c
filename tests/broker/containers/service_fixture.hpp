// Test-only. A ContainerService on a real minibox-sim (started with --ready-fd, like the
// e2e harness), its own state directory, and recording StreamSinks standing in for a
// frontend worker. Every wait is bounded; nothing sleeps to synchronise.
#pragma once

#include "broker/containers/config_blob.hpp"
#include "engine/containers/service.hpp"
#include "broker/decode_fields.hpp"
#include "engine/containers/remote_monitor.hpp"
#include "broker/monitor/act_server.hpp"
#include "broker/monitor/monitor.hpp"
#include "tests/broker/state/temp_dir.hpp"
#include "tests/minibox_sim/sim_client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <capnp/message.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <string>
#include <vector>

namespace dockerbox::broker::containers::testing {

namespace asio = boost::asio;
namespace wire = ipc::wire;
using namespace std::chrono_literals;

/// Records what a handler streams. Stdin is half-closed at once unless `holdInput`.
class RecordingSink final : public StreamSink {
 public:
  asio::awaitable<bool> accepted() override {
    ++acceptedCount;
    co_return true;
  }
  asio::awaitable<bool> output(OutputKind kind, std::span<const std::byte> data, std::int64_t timeNanos) override {
    auto& into = kind == OutputKind::Stdout ? out : err;
    into.append(reinterpret_cast<const char*>(data.data()), data.size());
    times.push_back(timeNanos);
    co_return true;
  }
  asio::awaitable<bool> event(const EventRecord& e) override {
    events.push_back(e);
    co_return true;
  }
  asio::awaitable<std::optional<StreamInput>> input() override { co_return StreamInput{0, {}, true}; }

  int acceptedCount = 0;
  std::string out;
  std::string err;
  std::vector<std::int64_t> times;
  std::vector<EventRecord> events;
};

/// One handler invocation: its reply, its sink, its outcome, and a way to cancel it the way
/// the channel does when the client goes away.
struct Call {
  capnp::MallocMessageBuilder message;
  wire::Response::Builder response = message.initRoot<wire::Response>();
  RecordingSink sink;
  std::optional<Result<void>> result;
  asio::cancellation_signal cancel;
  std::shared_ptr<void> op;  // keeps the request alive while the handler runs

  [[nodiscard]] bool done() const { return result.has_value(); }
  [[nodiscard]] bool ok() const { return result && *result; }
  [[nodiscard]] wire::Response::Result::Reader reply() { return response.asReader().getResult(); }
  [[nodiscard]] std::string error() const { return result && !*result ? result->error().message : std::string(); }
  [[nodiscard]] ErrorKind kind() const { return result && !*result ? result->error().kind : ErrorKind::Internal; }
};

/// A create request as the decoder would produce it.
struct Spec {
  std::string name;
  std::string image = "alpine";
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> env;
  std::string workingDir;
  std::string network;
  bool autoRemove = false;
  bool openStdin = false;
  std::string publish;  // a container port ("80/tcp") published on host port 8080; "": none
  bool namedVolume = false;
  std::vector<std::pair<std::string, std::string>> volumes;  // (name or "" for anonymous, target)
  std::string restartPolicy;
  std::int32_t restartMaxRetries = 0;
  std::vector<std::string> healthTest;  // empty: no Healthcheck
  std::int64_t healthInterval = 0, healthTimeout = 0, healthStartPeriod = 0, healthStartInterval = 0;
  std::int32_t healthRetries = 0;
};

class ServiceTest : public ::testing::Test {
 protected:
  /// `simArgs`: extra minibox-sim flags (e.g. `--mode v0.19`).
  explicit ServiceTest(std::vector<std::string> simArgs = {}) : sim_(std::move(simArgs)) { open(); }

  /// Where the monitor keeps volumes in these tests.
  [[nodiscard]] std::string volumesDir() const { return (dir_.path() / "volumes").string(); }

  /// (Re)builds client and service on the same state, as a broker restart does.
  void open();
  /// Drops service, client and io_context (suspended coroutines are destroyed, connections
  /// closed), as kill -9 of the broker would; the simulator and its containers keep running.
  void crash();

  template <class Op>
  using Member = asio::awaitable<Result<void>> (ContainerService::*)(const Caller&, const Op&, StreamSink&,
                                                                     ReplyBuilder);

  /// Starts a handler without waiting for it.
  template <class Op>
  std::shared_ptr<Call> spawn(Member<Op> handler, Op op) {
    auto call = std::make_shared<Call>();
    auto stored = std::make_shared<Op>(std::move(op));
    call->op = stored;
    ContainerService* service = service_.get();
    Caller who = who_;
    // As dispatch does: the config the policy judged is the one the monitor seals.
    if constexpr (std::is_same_v<Op, CreateContainerOp>) who.judgedConfig = blobFromWords(stored->canonicalConfig);
    if constexpr (std::is_same_v<Op, CreateExecOp>) who.judgedConfig = writeExecConfig(*stored);
    // As dispatch does: the monitor knows the caller by the request's number only.
    auto registered = std::make_shared<monitor::CallerRegistry::Entry>(
        callers_.add(who, operationName(Operation(std::in_place_type<Op>, *stored))));
    asio::co_spawn(
        *io_,
        [service, handler, call, stored, who, registered]() -> asio::awaitable<void> {
          // As dispatch does: an exception (Asio throws on co_await after cancellation) is
          // a failed request.
          try {
            auto r = co_await (service->*handler)(who, *stored, call->sink, call->response.initResult());
            call->result = std::move(r);
          } catch (const std::exception& e) {
            call->result = fail(ErrorKind::Internal, "internal error", e.what());
          }
        },
        asio::bind_cancellation_slot(call->cancel.slot(), asio::detached));
    return call;
  }

  /// Runs a handler to completion (bounded).
  template <class Op>
  std::shared_ptr<Call> call(Member<Op> handler, Op op) {
    auto c = spawn(handler, std::move(op));
    EXPECT_TRUE(runUntil([&] { return c->done(); })) << "handler did not finish";
    return c;
  }

  /// Runs an awaitable to completion on the io_context (bounded).
  template <class T>
  T await(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(*io_, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); }, asio::detached);
    EXPECT_TRUE(runUntil([&] { return out.has_value(); })) << "awaitable did not finish";
    return std::move(*out);
  }

  /// Runs the io_context until `condition` holds; false after `limit`.
  bool runUntil(const std::function<bool()>& condition, std::chrono::milliseconds limit = 20s);

  /// A create request's config as the frontend would send it.
  static void fillConfig(const Spec& spec, wire::ContainerConfig::Builder out);
  [[nodiscard]] CreateContainerOp createOp(const Spec& spec) const;
  /// Creates a container and returns its id (the test fails otherwise).
  std::string create(const Spec& spec);
  /// Starts it; true on success.
  bool start(const std::string& ref);
  [[nodiscard]] state::Container container(const std::string& id);

  sim::test::SimProcess sim_;
  state::testing::TempDir dir_;
  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<state::LogStore> logs_;
  /// Before io_: requests suspended in it unregister themselves when it is destroyed.
  monitor::CallerRegistry callers_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<minibox::Client> client_;
  std::unique_ptr<monitor::Monitor> monitor_;
  /// With DOCKERBOX_TEST_ACTS_CHANNEL the service reaches the monitor through the acts
  /// channel (a socketpair), as the engine process will; otherwise directly.
  std::unique_ptr<monitor::ActServer> actServer_;
  std::unique_ptr<RemoteMonitor> remote_;
  std::unique_ptr<ContainerService> service_;
  /// What the monitor recorded of runs no client asked for ("uid id reason"), and their
  /// outcomes ("ok" or the error), in order.
  std::vector<std::string> unrequested_;
  std::vector<std::string> unrequestedOutcomes_;
  /// Whether the owner of a container is still allowed (ownerCaller).
  bool ownerAdmitted_ = true;
  /// A rule that may run unconfined: the simulator here cannot take dockerbox-init (see open()).
  Caller who_{Identity{1000, 1000, 1, {}, std::nullopt}, policy::Visibility::Own,
              Grants{policy::Privileged::Allowed, policy::RootUser::Allowed}};
};

}  // namespace dockerbox::broker::containers::testing
