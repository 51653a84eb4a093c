// Runs in the engine (dockerbox-engine, unprivileged). Input: validated exec requests; the
// client's stdin (dropped unread); exec output from miniboxd (written by the exec'd
// process, passed through unparsed).
//
// An exec runs in a background coroutine owned by the service, not by the request: when the
// client leaves (or used -d), the process still finishes and its exit code is recorded for
// `docker exec`'s inspect. In a container whose run the monitor holds through dockerbox-init,
// the exec's stdin, terminal (and its resizes), stdout and stderr are FIFOs the init connects
// (monitor/run_io.hpp). Otherwise miniboxd's limits show (protocol 7.8, 7.10): no stdin and
// no resize, all stdout before any stderr. Everywhere:
// - the exec's pid is not reported (Pid is 0);
// - without the init's terminal relay, a signal death is reported as -1 without the signal:
//   ExitCode is then 255.
#include "broker/containers/config_blob.hpp"
#include "broker/decode_fields.hpp"
#include "common/task.hpp"
#include "broker/containers/run_spec.hpp"
#include "engine/containers/service.hpp"
#include "broker/minibox/wire_values.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include <deque>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

struct ExecOutput {
  OutputKind kind = OutputKind::Stdout;
  std::string bytes;
};

/// Output waiting for a slow client. Full means the exec waits (and with it miniboxd's
/// bounded queue and the process's pipe), like Docker's attached exec.
constexpr std::size_t kExecQueueItems = 16;

/// Docker's exit status for a command that could not be run at all.
constexpr int kCannotExecute = 126;

/// The exec's output on its way to the attached client: a bounded queue whose two sides
/// wake each other through one Notifier (the exec side is never cancelled; the client side
/// is, when its client leaves).
struct ExecStream {
  explicit ExecStream(asio::any_io_executor executor) : changed(std::move(executor)) {}
  std::deque<ExecOutput> queue;
  bool finished = false;  // the exec ended: nothing more will be queued
  bool closed = false;    // the client left: drop output
  Notifier changed;       // wakes both sides
};

/// Queues output for the client, waiting while the queue is full; dropped once it left.
asio::awaitable<void> send(const std::shared_ptr<ExecStream>& stream, ExecOutput output) {
  if (!stream) co_return;
  while (!stream->closed && stream->queue.size() >= kExecQueueItems) co_await stream->changed.wait();
  if (stream->closed) co_return;
  stream->queue.push_back(std::move(output));
  stream->changed.notifyAll();
}

void finish(const std::shared_ptr<ExecStream>& stream) {
  if (!stream) return;
  stream->finished = true;
  stream->changed.notifyAll();
}

Error clientGone() { return fail(ErrorKind::Unavailable, "the client went away"); }

/// The client's stdin, to the exec's (AttachStdin) until the client ends it, which closes
/// the exec's: the program reads EOF, as with `docker exec -i`. True when the client typed
/// `detachKeys`: the exec runs on with its stdin open.
asio::awaitable<bool> forwardExecInput(MonitorPort& monitor, const Caller& who, SealedRecord container,
                                       SealedRecord exec, std::string detachKeys, StreamSink& sink) {
  StdinDelivery deliver = [&](std::vector<std::uint8_t> data, bool close) -> asio::awaitable<Result<void>> {
    // Named values moved in (g++ 12 and coroutine arguments, see send()).
    SealedRecord c = container;
    SealedRecord e = exec;
    co_return co_await monitor.input(who, std::move(c), std::move(e), std::move(data), close);
  };
  co_return co_await forwardStdin(sink, std::move(detachKeys), true, std::move(deliver));
}

}  // namespace

asio::awaitable<Result<void>> ContainerService::handleCreateExec(const Caller& who, const CreateExecOp& op,
                                                                 StreamSink&, Out out) {
  auto c = resolve(who, op.container);
  if (!c) co_return c.error();
  if (c->state == state::ContainerState::Paused) {
    co_return fail(ErrorKind::Conflict, "Container " + c->dockerId + " is paused, unpause the container before exec");
  }
  if (c->state != state::ContainerState::Running) co_return notRunning(c->dockerId);
  state::NewExec record;
  auto id = state_.freshExecId();
  if (!id) co_return id.error();
  record.execId = std::move(*id);
  record.containerDockerId = c->dockerId;
  record.creatorUid = who.uid;
  record.creatorGid = who.gid;
  record.config = writeExecConfig(op);
  record.createdAt = nowNanos();
  const SealedRecord container = sealedOf(*c);
  auto seal = co_await monitor_.sealExec(who, record.execId, container, record.config);
  if (!seal) co_return seal.error();
  record.seal = std::move(*seal);
  auto created = state_.createExec(record);
  if (!created) co_return created.error();
  who.noteResolved("exec", created->execId, "");
  bus_.publish(containerEvent(*c, "exec_create: " + joinCommand(op.cmd), {{"execID", created->execId}}));
  out.setExecCreated(created->execId);
  co_return Result<void>();
}

namespace {

/// Runs one exec to its end and records its exit; output goes to `stream` while it is open.
asio::awaitable<void> runExec(MonitorPort& monitor, state::StateStore& state, EventBus& bus, std::string execId,
                              std::string dockerId, std::uint64_t ticket, std::shared_ptr<ExecStream> stream) {
  // Typed as the parameter, so the call passes it without a conversion (see send()).
  minibox::OutputHandler onOutput = [&stream](minibox::OutputStream from, std::vector<std::uint8_t> data) -> asio::awaitable<void> {
    auto kind = from == minibox::OutputStream::Stderr ? OutputKind::Stderr : OutputKind::Stdout;
    // A named value moved into send(): GCC 12 bitwise-copies a coroutine parameter that is
    // converted from a temporary, leaving the string pointing into this frame (found by
    // valgrind as an invalid free).
    ExecOutput output{kind, std::string(data.begin(), data.end())};
    co_await send(stream, std::move(output));
  };
  Result<std::int32_t> exit = fail(ErrorKind::Internal, "internal error");
  try {
    exit = co_await monitor.runExec(ticket, onOutput);
  } catch (const std::exception& e) {
    exit = fail(ErrorKind::Internal, "exec failed", e.what());
  }
  int code = kCannotExecute;
  if (exit) {
    code = minibox::dockerExitCode(*exit);
  } else {
    // Like Docker's "OCI runtime exec failed": the reason on stderr, status 126.
    spdlog::info("event=exec_failed exec={} error=\"{}\"", execId, exit.error().message);
    ExecOutput output{OutputKind::Stderr, "dockerbox: " + exit.error().message + "\n"};
    co_await send(stream, std::move(output));
  }
  if (auto recorded = state.setExecExited(execId, code); !recorded) {
    spdlog::error("event=state_write_failed op=setExecExited exec={} error=\"{}\"", execId, recorded.error().context);
  }
  if (auto c = state.getContainer(dockerId)) {
    bus.publish(containerEvent(*c, "exec_die", {{"execID", execId}, {"exitCode", std::to_string(code)}}));
  }
  finish(stream);
}

}  // namespace

asio::awaitable<Result<void>> ContainerService::handleStartExec(const Caller& who, const StartExecOp& op,
                                                                StreamSink& sink, Out out) {
  auto exec = visibleExec(who, op.id);
  if (!exec) co_return exec.error();
  if (exec->running) co_return fail(ErrorKind::Conflict, "Error: Exec command " + op.id + " is already running");
  if (exec->exitCode) co_return fail(ErrorKind::Conflict, "Error: Exec command " + op.id + " has already run");
  auto c = state_.getContainer(exec->containerDockerId);
  if (!c) co_return c.error();
  if (c->state != state::ContainerState::Running || !c->miniboxId) co_return notRunning(c->dockerId);
  auto config = readExecConfig(exec->config);
  if (!config) co_return config.error();
  // The monitor judges it: confined the way the container's run is, or refused.
  // Coroutine arguments are named values moved in (g++ 12, see runExec below).
  SealedRecord container = sealedOf(*c);
  SealedRecord sealedExec = sealedOf(*exec);
  std::string miniboxId = *c->miniboxId;
  auto ticket = co_await monitor_.prepareExec(who, std::move(container), std::move(miniboxId), std::move(sealedExec));
  if (!ticket) co_return ticket.error();
  // Another start of the same exec may have got here while the monitor judged this one.
  auto again = state_.getExec(op.id);
  if (!again || again->running || again->exitCode) {
    monitor_.dropExec(*ticket);
    if (!again) co_return again.error();
    co_return fail(ErrorKind::Conflict, "Error: Exec command " + op.id + " is already running");
  }
  if (auto running = state_.setExecRunning(op.id, 0); !running) {
    monitor_.dropExec(*ticket);
    co_return running.error();
  }
  const std::string command = joinCommand(config->cmd);
  bus_.publish(containerEvent(*c, "exec_start: " + command, {{"execID", op.id}}));
  std::shared_ptr<ExecStream> stream;
  if (!op.detach) stream = std::make_shared<ExecStream>(executor_);
  asio::co_spawn(executor_, runExec(monitor_, state_, bus_, op.id, c->dockerId, *ticket, stream),
                 logFailure("exec run"));
  if (op.detach) {
    out.setOk();
    co_return Result<void>();
  }
  // Whatever ends this request, the exec stops writing to it.
  struct CloseOnExit {
    std::shared_ptr<ExecStream> stream;
    ~CloseOnExit() {
      stream->closed = true;
      stream->changed.notifyAll();
    }
  } closeOnExit{stream};
  if (!co_await sink.accepted()) co_return clientGone();
  auto forward = [&]() -> asio::awaitable<Result<void>> {
    for (;;) {
      while (!stream->queue.empty()) {
        ExecOutput output = std::move(stream->queue.front());
        stream->queue.pop_front();
        stream->changed.notifyAll();
        auto bytes = std::as_bytes(std::span(output.bytes.data(), output.bytes.size()));
        if (!co_await sink.output(output.kind, bytes, nowNanos())) co_return clientGone();
      }
      if (stream->finished) co_return Result<void>();
      if (co_await stream->changed.wait() == WakeReason::Cancelled) co_return clientGone();
    }
  };
  if (config->attachStdin) {
    SealedRecord inputContainer = sealedOf(*c);
    SealedRecord inputExec = sealedOf(*exec);
    auto keys = decode::detachKeySequence(config->detachKeys);
    std::string detachKeys = keys ? *keys : std::string("\x10\x11");
    co_return endOfStream(co_await (forward() || forwardExecInput(monitor_, who, std::move(inputContainer),
                                                                  std::move(inputExec), std::move(detachKeys), sink)),
                          out);
  }
  auto ended = co_await (forward() || drainInput(sink));
  if (ended.index() != 0) co_return clientGone();
  if (!std::get<0>(ended)) co_return std::get<0>(ended).error();
  out.setStreamEnded();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleInspectExec(const Caller& who, const InspectExecOp& op,
                                                                  StreamSink&, Out out) {
  auto exec = visibleExec(who, op.id);
  if (!exec) co_return exec.error();
  auto reply = out.initExecInspect();
  reply.setId(exec->execId);
  reply.setContainerId(exec->containerDockerId);
  reply.setRunning(exec->running);
  reply.setHasExitCode(exec->exitCode.has_value());
  reply.setExitCode(exec->exitCode.value_or(0));
  reply.setPid(static_cast<std::int32_t>(exec->pid.value_or(0)));
  if (auto filled = fillExecConfig(exec->config, reply); !filled) co_return filled.error();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleResizeExec(const Caller& who, const ResizeExecOp& op, StreamSink&,
                                                                 Out out) {
  auto exec = visibleExec(who, op.id);
  if (!exec) co_return exec.error();
  auto config = readExecConfig(exec->config);
  if (!config) co_return config.error();
  // As dockerd: a resize of an exec without a terminal is not an error.
  if (!config->tty) {
    out.setOk();
    co_return Result<void>();
  }
  if (!exec->running) co_return fail(ErrorKind::Conflict, "Error: Exec " + op.id + " is not running");
  auto c = state_.getContainer(exec->containerDockerId);
  if (!c) co_return c.error();
  SealedRecord container = sealedOf(*c);  // named: g++ 12 and coroutine arguments
  SealedRecord sealedExec = sealedOf(*exec);
  auto resized = co_await monitor_.resizeTerminal(who, std::move(container), std::move(sealedExec), op.height, op.width);
  if (!resized) co_return resized.error();
  out.setOk();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
