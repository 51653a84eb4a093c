// Runs in the engine (dockerbox-engine, unprivileged). Input: validated logs and attach
// requests; the client's stdin chunks (passed to the monitor unread, or dropped); captured
// container output (passed through unparsed).
//
// Output comes from two places that together hold every chunk exactly once: the LogStore
// (everything captured so far) and a tap on the container (everything captured from now on).
// A handler opens its tap and reads the store without suspending in between, so nothing
// falls between the two; a tap that lags is refilled from the store (live.hpp).
//
// miniboxd merges a container's stdout and stderr (protocol 8.5): everything it captures is
// stdout. Runs through dockerbox-init without a Tty write stderr apart (monitor/run_io.hpp),
// so their chunks keep their stream in the LogStore, in taps and on the wire.
#include "engine/containers/escape_scanner.hpp"
#include "engine/containers/service.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <spdlog/spdlog.h>

#include <optional>
#include <variant>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

Error clientGone() { return fail(ErrorKind::Unavailable, "the client went away"); }

OutputKind toKind(state::LogStream stream) {
  return stream == state::LogStream::Stdout ? OutputKind::Stdout : OutputKind::Stderr;
}

std::span<const std::byte> bytesOf(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::optional<std::chrono::steady_clock::time_point> deadlineOf(std::int64_t untilNanos) {
  if (untilNanos == 0) return std::nullopt;
  return std::chrono::steady_clock::now() + std::chrono::nanoseconds(std::max<std::int64_t>(0, untilNanos - nowNanos()));
}

}  // namespace

asio::awaitable<void> drainInput(StreamSink& sink) {
  try {
    for (;;) {
      auto chunk = co_await sink.input();
      if (!chunk || chunk->end) break;
      // Dropped: miniboxd has no working stdin (protocol 7.10).
    }
    co_await parkUntilCancelled();
  } catch (const boost::system::system_error&) {
    // Cancelled while parked: the other side of the stream finished.
  }
}

Result<void> endOfStream(std::variant<Result<void>, bool> ended, ReplyBuilder out) {
  if (ended.index() == 1 && !std::get<1>(ended)) return clientGone();
  if (ended.index() == 0 && !std::get<0>(ended)) return std::get<0>(ended).error();
  out.setStreamEnded();
  return {};
}

asio::awaitable<bool> forwardStdin(StreamSink& sink, std::string detachKeys, bool closeAtEnd, StdinDelivery deliver) {
  try {
    EscapeScanner escape(std::move(detachKeys));
    bool delivering = true;
    for (;;) {
      auto chunk = co_await sink.input();
      bool end = !chunk || chunk->end;
      std::string passed;
      const bool detached =
          chunk && escape.feed(std::string_view(reinterpret_cast<const char*>(chunk->data.data()), chunk->data.size()),
                               passed);
      if (end && !detached) escape.flush(passed);
      // Detaching leaves the program's stdin open (even with StdinOnce), as on Docker.
      if (detached) end = false;
      const bool close = end && closeAtEnd;
      if (delivering && (!passed.empty() || close)) {
        std::vector<std::uint8_t> data(passed.begin(), passed.end());
        auto sent = co_await deliver(std::move(data), close);
        if (!sent) {
          // The program is gone or has no input of its own: the rest is dropped.
          spdlog::debug("event=stdin_dropped reason=\"{}\"", sent.error().message);
          delivering = false;
        }
      }
      if (detached) co_return true;
      if (end) break;
    }
    co_await parkUntilCancelled();
  } catch (const boost::system::system_error&) {
    // Cancelled: the output side of the stream finished.
  }
  co_return false;
}

asio::awaitable<bool> ContainerService::forwardInput(const Caller& who, state::Container container,
                                                    std::shared_ptr<LiveContainer> live, bool stdinOnce,
                                                    std::string detachKeys, StreamSink& sink) {
  StdinDelivery deliver = [&](std::vector<std::uint8_t> data, bool close) -> asio::awaitable<Result<void>> {
    // `docker run` attaches before it starts: what is typed meanwhile waits for the run.
    while (live->link != RunLink::Held && !live->removed) {
      if (co_await live->changed.wait() == WakeReason::Cancelled) co_return clientGone();
    }
    if (live->removed) co_return fail(ErrorKind::NotFound, "the container was removed");
    SealedRecord record = sealedOf(container);  // named: g++ 12 and coroutine arguments
    SealedRecord noExec;
    co_return co_await monitor_.input(who, std::move(record), std::move(noExec), std::move(data), close);
  };
  // With StdinOnce the container's stdin ends with this client's (Docker's -i of `run`).
  co_return co_await forwardStdin(sink, std::move(detachKeys), stdinOnce, std::move(deliver));
}

asio::awaitable<Result<void>> ContainerService::followOutput(const std::string& dockerId, OutputTap& tap,
                                                             std::int64_t last, bool wantStdout, bool wantStderr,
                                                             std::int64_t untilNanos, StreamSink& sink) {
  const auto deadline = deadlineOf(untilNanos);
  auto beyond = [&](std::int64_t t) {
    return (tap.endedAt() && t > *tap.endedAt()) || (untilNanos != 0 && t > untilNanos);
  };
  for (;;) {
    while (!tap.queue().empty()) {
      OutputChunk chunk = std::move(tap.queue().front());
      tap.queue().pop_front();
      if (chunk.timeNanos <= last || beyond(chunk.timeNanos)) continue;
      const OutputKind kind = chunk.stderrStream ? OutputKind::Stderr : OutputKind::Stdout;
      if ((chunk.stderrStream ? wantStderr : wantStdout) &&
          !co_await sink.output(kind, bytesOf(chunk.bytes), chunk.timeNanos)) {
        co_return clientGone();
      }
      last = chunk.timeNanos;
    }
    if (tap.lagged()) {
      state::LogReadOptions missed{.sinceNanos = last + 1, .untilNanos = tap.endedAt().value_or(untilNanos)};
      auto entries = logs_.read(dockerId, missed);
      tap.clearLagged();  // from here on the tap queues again: no gap, no overlap
      if (!entries) co_return entries.error();
      for (const auto& e : entries->entries) {
        if (!(e.stream == state::LogStream::Stdout ? wantStdout : wantStderr)) continue;
        if (!co_await sink.output(toKind(e.stream), bytesOf(e.bytes), e.timeNanos)) co_return clientGone();
        last = std::max(last, e.timeNanos);
      }
      continue;
    }
    if (tap.endedAt()) co_return Result<void>();
    auto woke = co_await tap.notifier().wait(deadline);
    if (woke == WakeReason::Cancelled) co_return clientGone();
    if (woke == WakeReason::TimedOut) co_return Result<void>();
  }
}

asio::awaitable<Result<void>> ContainerService::handleContainerLogs(const Caller& who, const ContainerLogsOp& op,
                                                                    StreamSink& sink, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto live = live_.get(c->dockerId);
  // Docker's `logs -f` on a stopped container prints the log and ends.
  const bool follow = op.follow && (isActive(c->state) || live->link != RunLink::None) &&
                      (op.untilNanos == 0 || op.untilNanos > nowNanos());
  std::optional<TapSubscription> subscription;
  if (follow) subscription.emplace(live, executor_);
  const std::int64_t from = live->followFrom();
  // Timestamps are rendered by the frontend from each chunk's time.
  state::LogReadOptions read{.stdoutStream = op.stdoutWanted,
                             .stderrStream = op.stderrWanted,
                             .sinceNanos = op.sinceNanos,
                             .untilNanos = op.untilNanos,
                             .tail = op.tail};
  auto replay = logs_.read(c->dockerId, read);
  if (!replay) co_return replay.error();
  if (replay->malformedLines != 0) {
    spdlog::warn("event=log_lines_skipped id={} count={}", c->dockerId, replay->malformedLines);
  }
  if (!co_await sink.accepted()) co_return clientGone();
  for (const auto& e : replay->entries) {
    if (!co_await sink.output(toKind(e.stream), bytesOf(e.bytes), e.timeNanos)) co_return clientGone();
  }
  if (subscription) {
    auto followed = co_await followOutput(c->dockerId, subscription->tap(), from, op.stdoutWanted, op.stderrWanted,
                                          op.untilNanos, sink);
    if (!followed) co_return followed.error();
  }
  out.setStreamEnded();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleAttachContainer(const Caller& who, const AttachContainerOp& op,
                                                                      StreamSink& sink, Out out) {
  auto c = resolve(who, op.ref);
  if (!c) co_return c.error();
  auto live = live_.get(c->dockerId);
  // Attached to a container that is not running, the stream carries its NEXT run: `docker
  // run` attaches before `start`, `docker start -a` attaches to an exited container.
  TapSubscription subscription(live, executor_);
  const std::int64_t from = live->followFrom();
  std::vector<state::LogEntry> replay;
  if (op.logs) {
    auto read = logs_.read(c->dockerId, {.stdoutStream = op.stdoutWanted, .stderrStream = op.stderrWanted});
    if (!read) co_return read.error();
    replay = std::move(read->entries);
  }
  if (!co_await sink.accepted()) co_return clientGone();
  bus_.publish(containerEvent(*c, "attach"));
  auto forward = [&]() -> asio::awaitable<Result<void>> {
    for (const auto& e : replay) {
      if (!co_await sink.output(toKind(e.stream), bytesOf(e.bytes), e.timeNanos)) co_return clientGone();
    }
    if (!op.stream) co_return Result<void>();
    co_return co_await followOutput(c->dockerId, subscription.tap(), from, op.stdoutWanted, op.stderrWanted, 0, sink);
  };
  // Docker reads an attached client's stdin only for a container created with OpenStdin;
  // miniboxd cannot deliver it, dockerbox-init does (monitor/run_io.hpp).
  auto config = readRunConfig(c->config);
  const bool deliver = op.stdinWanted && config && config->openStdin;
  if (deliver) {
    // Named arguments: g++ 12 and coroutine arguments (see service_exec.cpp).
    state::Container container = *c;
    const bool stdinOnce = config->stdinOnce;
    std::string detachKeys = op.detachKeys;
    co_return endOfStream(co_await (forward() || forwardInput(who, container, live, stdinOnce, std::move(detachKeys), sink)),
                          out);
  }
  auto ended = co_await (forward() || drainInput(sink));
  if (ended.index() != 0) co_return clientGone();  // only cancellation ends the stdin side first
  if (!std::get<0>(ended)) co_return std::get<0>(ended).error();
  out.setStreamEnded();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
