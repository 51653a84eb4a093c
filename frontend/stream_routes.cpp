// Streaming container routes: wait, logs and the hijacked attach. Runs in: a frontend
// worker. Input: untrusted path and query values; the broker's stream frames.
#include "frontend/handlers.hpp"
#include "frontend/response.hpp"
#include "frontend/stream_framing.hpp"
#include "frontend/time_format.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;
using Response = wire::Response;

std::string_view dataOf(wire::StreamChunk::Reader chunk) {
  auto data = chunk.getData();
  return {reinterpret_cast<const char*>(data.begin()), data.size()};
}

std::optional<FrameStream> frameStreamOf(wire::StreamKind kind) {
  switch (kind) {
    case wire::StreamKind::STDOUT: return FrameStream::Stdout;
    case wire::StreamKind::STDERR: return FrameStream::Stderr;
    default: return std::nullopt;  // stdin and message chunks carry no container output
  }
}

std::string errorMessageOf(Response::Reader reply) {
  if (reply.getResult().which() != Response::Result::ERROR) return {};
  return wireText(reply.getResult().getError().getMessage());
}

/// POST /containers/{id}/wait: the 200 head goes out as soon as the broker accepts, the
/// body when the condition is met. The CLI sends /start only after this head arrived, so
/// holding it back deadlocks `docker run` (client-flows.md 6.3). Below API 1.30 dockerd
/// held the head; so does this.
class WaitRenderer final : public StreamRenderer {
 public:
  explicit WaitRenderer(ApiVersion version) : version_(version) {}
  std::optional<std::string> head() override {
    if (version_.major == 1 && version_.minor < 30) return std::nullopt;
    return chunkedHead("application/json");
  }
  std::string end(Response::Reader reply) override {
    if (reply.getResult().which() == Response::Result::WAIT_RESULT) {
      auto result = reply.getResult().getWaitResult();
      return renderWaitContainer(result.getStatusCode(), wireText(result.getError()));
    }
    std::string error = errorMessageOf(reply);
    return renderWaitContainer(-1, error.empty() ? "dockerbox: unexpected reply from the broker" : error);
  }
  HttpResponse finish(Response::Reader reply, const RenderContext&) override {
    if (auto error = errorReplyResponse(reply)) return std::move(*error);
    if (reply.getResult().which() != Response::Result::WAIT_RESULT) return unexpectedReply("waitContainer");
    HttpResponse response = jsonResponse(200, json::object{});
    response.body = end(reply);
    return response;
  }

 private:
  ApiVersion version_;
};

/// Output of a container as logs or attach show it: multiplexed frames without a TTY,
/// raw bytes with one; the TTY flag comes from the prelude inspect.
class OutputRenderer : public StreamRenderer {
 public:
  explicit OutputRenderer(ApiVersion version) : version_(version) {}
  std::optional<HttpResponse> afterPrelude(Response::Reader reply) override {
    if (auto error = errorReplyResponse(reply)) return error;
    if (reply.getResult().which() == Response::Result::CONTAINER_INSPECT) {
      tty_ = reply.getResult().getContainerInspect().getConfig().getTty();
    } else if (reply.getResult().which() == Response::Result::EXEC_INSPECT) {
      tty_ = reply.getResult().getExecInspect().getConfig().getTty();
    } else {
      return unexpectedReply("inspect");
    }
    return std::nullopt;
  }
  std::string output(wire::StreamChunk::Reader chunk) override {
    auto stream = frameStreamOf(chunk.getKind());
    std::string_view data = dataOf(chunk);
    if (!stream || data.empty()) return {};
    std::string bytes = timestamps_ ? stamper_.apply(*stream, data, chunk.getTimeNanos()) : std::string(data);
    return tty_ ? bytes : multiplexFrame(*stream, bytes);
  }
  std::string end(Response::Reader reply) override {
    // Without a TTY an error can still reach the client, as moby's stdcopy "system error"
    // stream, which the Go client reports instead of printing it as output.
    std::string error = errorMessageOf(reply);
    if (error.empty() || tty_) return {};
    return multiplexFrame(FrameStream::SystemErr, error);
  }
  HttpResponse finish(Response::Reader reply, const RenderContext&) override {
    if (auto error = errorReplyResponse(reply)) return std::move(*error);
    HttpResponse response = emptyResponse(200);
    response.setHeader("Content-Type", std::string(contentType()));
    return response;
  }

 protected:
  [[nodiscard]] std::string_view contentType() const { return streamContentType(tty_, version_); }
  void setTimestamps(bool on) { timestamps_ = on; }

 private:
  ApiVersion version_;
  bool tty_ = false;
  bool timestamps_ = false;
  LogTimestamper stamper_;
};

class LogsRenderer final : public OutputRenderer {
 public:
  LogsRenderer(ApiVersion version, bool timestamps) : OutputRenderer(version) { setTimestamps(timestamps); }
  std::optional<std::string> head() override { return chunkedHead(contentType()); }
};

class HijackRenderer final : public OutputRenderer {
 public:
  HijackRenderer(ApiVersion version, bool upgrade) : OutputRenderer(version), upgrade_(upgrade) {}
  std::optional<std::string> head() override { return hijackHead(upgrade_, contentType()); }

 private:
  bool upgrade_;
};

/// Whether the client asked to take over the connection (Connection: Upgrade, Upgrade: tcp).
bool wantsUpgrade(const HttpRequest& http) { return !http.header("Upgrade").empty(); }

Result<std::int64_t> logTime(const QueryParams& query, std::string_view key) {
  auto raw = query.get(key);
  if (!raw || raw->empty()) return 0;
  auto nanos = parseUnixTimestamp(*raw);
  if (!nanos) return fail(ErrorKind::BadRequest, "invalid value for " + std::string(key) + ": " + *raw);
  return *nanos;
}

std::unique_ptr<capnp::MallocMessageBuilder> inspectPrelude(const std::string& ref) {
  auto message = newWorkerMessage();
  requestOp(*message).initInspectContainer().setRef(ref);
  return message;
}

}  // namespace

std::string renderWaitContainer(std::int64_t statusCode, std::string_view error) {
  json::object body{{"StatusCode", statusCode}};
  body["Error"] = error.empty() ? json::value(nullptr) : json::value(json::object{{"Message", error}});
  return json::serialize(body) + "\n";
}

Result<Action> toWaitContainerRequest(const RouteRequest& request) {
  std::string condition = request.query.get("condition").value_or("");
  auto stream = BrokerStream{"waitContainer", nullptr, newWorkerMessage(),
                             std::make_unique<WaitRenderer>(request.version), StreamFraming::Chunked, {}};
  auto op = requestOp(*stream.message).initWaitContainer();
  op.setRef(request.params.at(0));
  if (condition.empty() || condition == "not-running") {
    op.setCondition(wire::WaitCondition::NOT_RUNNING);
  } else if (condition == "next-exit") {
    op.setCondition(wire::WaitCondition::NEXT_EXIT);
  } else if (condition == "removed") {
    op.setCondition(wire::WaitCondition::REMOVED);
  } else {
    return fail(ErrorKind::BadRequest, "invalid condition: \"" + condition + "\"");
  }
  return Action{std::move(stream)};
}

Result<Action> toContainerLogsRequest(const RouteRequest& request) {
  const QueryParams& q = request.query;
  if (!q.boolValue("stdout") && !q.boolValue("stderr")) {
    return fail(ErrorKind::BadRequest, "Bad parameters: you must choose at least one stream");
  }
  auto since = logTime(q, "since");
  if (!since) return since.error();
  auto until = logTime(q, "until");
  if (!until) return until.error();
  // ?tail: "all", "" or a negative number mean everything (testcontainers sends -1).
  std::int64_t tail = -1;
  if (std::string raw = q.get("tail").value_or("all"); raw != "all" && !raw.empty()) {
    auto n = queryInt(q, "tail", -1);
    if (!n) return n.error();
    tail = *n < 0 ? -1 : std::min<std::int64_t>(*n, 1'000'000'000);
  }
  bool timestamps = q.boolValue("timestamps");
  BrokerStream stream{"containerLogs", inspectPrelude(request.params.at(0)), newWorkerMessage(),
                      std::make_unique<LogsRenderer>(request.version, timestamps), StreamFraming::Chunked, {}};
  auto op = requestOp(*stream.message).initContainerLogs();
  op.setRef(request.params.at(0));
  op.setFollow(q.boolValue("follow"));
  op.setStdout(q.boolValue("stdout"));
  op.setStderr(q.boolValue("stderr"));
  op.setSinceNanos(*since);
  op.setUntilNanos(*until);
  op.setTail(tail);
  op.setTimestamps(timestamps);
  return Action{std::move(stream)};
}

Result<Action> toAttachContainerRequest(const RouteRequest& request) {
  const QueryParams& q = request.query;
  // ?detachKeys=: the CLI handles them itself with a TTY (client-flows.md 5.5); the engine
  // watches the stdin of every other attach for them, as dockerd does.
  BrokerStream stream{"attachContainer", inspectPrelude(request.params.at(0)), newWorkerMessage(),
                      std::make_unique<HijackRenderer>(request.version, wantsUpgrade(request.http)),
                      StreamFraming::Hijacked, {}};
  auto op = requestOp(*stream.message).initAttachContainer();
  op.setRef(request.params.at(0));
  op.setStdin(q.boolValue("stdin"));
  op.setStdout(q.boolValue("stdout"));
  op.setStderr(q.boolValue("stderr"));
  op.setLogs(q.boolValue("logs"));
  op.setStream(q.boolValue("stream"));
  op.setDetachKeys(q.get("detachKeys").value_or(""));
  return Action{std::move(stream)};
}

/// Exec start renders like attach; exec_routes.cpp builds it through this.
std::unique_ptr<StreamRenderer> makeExecStartRenderer(ApiVersion version, bool upgrade) {
  return std::make_unique<HijackRenderer>(version, upgrade);
}

}  // namespace dockerbox::frontend
