// Runs as root, in the broker. The Client calls whose replies come as a stream of messages:
// logs, ephemeral Run, Exec and the event subscription. Input: miniboxd replies, already
// decoded and checked by the codec; handlers are awaited so backpressure reaches miniboxd.
#include "broker/minibox/client.hpp"

namespace dockerbox::broker::minibox {

namespace asio = boost::asio;
using asio::awaitable;

Client::Exchange Client::stream(EncodedRequest request, Duration firstReply,
                                InterimHandler onInterim) const {
  return Exchange{std::move(request), firstReply, timeouts_.streamIdle, false,
                  std::move(onInterim)};
}

awaitable<Result<std::vector<LogLine>>> Client::logs(std::string idOrName) {
  std::vector<LogLine> lines;
  std::size_t bytes = 0;
  // Captures by reference: the handler lives in the exchange, which ends before this frame.
  auto collect = [&lines, &bytes](Reply& reply) -> awaitable<Result<void>> {
    auto* line = std::get_if<LogLine>(&reply);
    if (line == nullptr) co_return unexpectedReply(reply, RequestType::ContainerLogs);
    bytes += line->line.size() + 1;
    if (bytes > kMaxCollectedLogBytes) {
      co_return fail(ErrorKind::Internal, "the container's log is too large to collect",
                     "over " + std::to_string(kMaxCollectedLogBytes) + " bytes");
    }
    lines.push_back(std::move(*line));
    co_return Result<void>();
  };
  // Each line is read under the quick-reply deadline: the daemon replays a file, no waiting.
  Exchange exchange = quick(encodeContainerLogs(idOrName));
  exchange.onInterim = collect;
  auto end =
      expectReply<Success>(co_await roundTrip(std::move(exchange)), RequestType::ContainerLogs);
  if (!end) co_return end.error();
  co_return std::move(lines);
}

awaitable<Result<std::int32_t>> Client::runEphemeral(RunSpec spec, CreatedHandler onCreated,
                                                     OutputHandler onOutput) {
  bool created = false;
  auto deliver = [&created, &onCreated, &onOutput](Reply& reply) -> awaitable<Result<void>> {
    if (auto* container = std::get_if<ContainerCreated>(&reply); container && !created) {
      created = true;
      if (onCreated) co_await onCreated(std::move(container->id));
      co_return Result<void>();
    }
    if (auto* output = std::get_if<ContainerOutput>(&reply); output && created) {
      if (onOutput) co_await onOutput(output->stream, std::move(output->data));
      co_return Result<void>();
    }
    co_return unexpectedReply(reply, RequestType::Run);
  };
  // The first reply may wait for an image download; output may then pause for hours.
  auto stopped = expectReply<ContainerStopped>(
      co_await roundTrip(stream(encodeRun(spec, RunMode::Ephemeral), timeouts_.pull, deliver)),
      RequestType::Run);
  if (!stopped) co_return stopped.error();
  co_return stopped->exitCode;
}

awaitable<Result<std::int32_t>> Client::exec(ExecSpec spec, OutputHandler onOutput) {
  auto deliver = [&onOutput](Reply& reply) -> awaitable<Result<void>> {
    // ExecStarted may come before or after the first output, or not matter at all (7.8).
    if (std::holds_alternative<ExecStarted>(reply)) co_return Result<void>();
    if (auto* output = std::get_if<ContainerOutput>(&reply)) {
      if (onOutput) co_await onOutput(output->stream, std::move(output->data));
      co_return Result<void>();
    }
    co_return unexpectedReply(reply, RequestType::Exec);
  };
  auto stopped = expectReply<ContainerStopped>(
      co_await roundTrip(stream(encodeExec(spec), timeouts_.reply, deliver)), RequestType::Exec);
  if (!stopped) co_return stopped.error();
  co_return stopped->exitCode;
}

awaitable<Result<void>> Client::subscribeEvents(EventHandler onEvent) {
  auto deliver = [&onEvent](Reply& reply) -> awaitable<Result<void>> {
    auto* event = std::get_if<EventReply>(&reply);
    if (event == nullptr) co_return unexpectedReply(reply, RequestType::SubscribeEvents);
    if (onEvent) co_await onEvent(std::move(event->event));
    co_return Result<void>();
  };
  // No terminal message exists for a subscription: it ends by cancellation or failure only.
  auto end = co_await roundTrip(stream(encodeSubscribeEvents(), timeouts_.streamIdle, deliver));
  if (!end) co_return end.error();
  if (auto* error = std::get_if<ErrorReply>(&*end)) {
    co_return errorFromReply(*error, RequestType::SubscribeEvents);
  }
  co_return unexpectedReply(*end, RequestType::SubscribeEvents);
}

}  // namespace dockerbox::broker::minibox
