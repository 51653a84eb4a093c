// Runs as root, in the broker. Input: reply lines from miniboxd (trusted peer; every line is
// still decoded defensively, capped and read under a deadline). The exchange rules follow
// minibox-protocol.md 2.1 and avoid the v0.19 Rust client's hangs (8.11): never read to EOF,
// stop on the terminal message, stop on ContainerCreated for a detached Run.
#include "broker/minibox/client.hpp"

#include <spdlog/spdlog.h>

namespace dockerbox::broker::minibox {

namespace asio = boost::asio;
using asio::awaitable;
using boost::system::error_code;

struct Client::Lease {
  std::unique_ptr<Connection> connection;
  bool reused = false;
};

struct Client::Attempt {
  bool reused = false;     // the connection came from the pool
  bool anyReply = false;   // a reply line arrived in this exchange
  bool retryable = false;  // the pooled socket was found closed before anything was answered
  bool clean = false;      // the exchange ended in step: the connection may be pooled
  Duration deadline{};     // the deadline of the wait that failed, for the error message
};

namespace {

std::string humanDuration(Duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return ms < 1000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
}

bool peerGone(error_code ec) {
  return ec == asio::error::eof || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_reset;
}

/// Only these may be sent twice: they change nothing on the daemon.
bool idempotent(RequestType type) {
  return type == RequestType::List || type == RequestType::ListImages ||
         type == RequestType::ContainerLogs;
}

bool endsExchange(const Reply& reply, bool endOnCreated) {
  return isTerminal(reply) || (endOnCreated && std::holds_alternative<ContainerCreated>(reply));
}

}  // namespace

Client::Client(asio::any_io_executor executor, std::string socketPath, Timeouts timeouts)
    : executor_(std::move(executor)), socketPath_(std::move(socketPath)), timeouts_(timeouts) {}

Client::~Client() = default;

Client::Exchange Client::quick(EncodedRequest request) const {
  return Exchange{std::move(request), timeouts_.reply, timeouts_.reply, false, {}};
}

Error Client::connectError(error_code ec, RequestType type) const {
  if (ec == asio::error::timed_out) {
    return fail(ErrorKind::Unavailable, "miniboxd at " + socketPath_ + " did not accept a " +
                                            "connection within " +
                                            humanDuration(timeouts_.connect));
  }
  if (ec == asio::error::operation_aborted) {
    return fail(ErrorKind::Unavailable,
                "miniboxd request " + std::string(toString(type)) + " was cancelled");
  }
  const bool denied = ec == asio::error::access_denied || ec == asio::error::no_permission;
  return fail(ErrorKind::Unavailable,
              "cannot reach miniboxd at " + socketPath_ + ": " + ec.message() +
                  (denied ? " (is the broker running as root?)" : " (is miniboxd running?)"),
              "connect for " + std::string(toString(type)));
}

Error Client::ioError(error_code ec, const Connection& connection, const Attempt& attempt,
                      RequestType type) const {
  const std::string request(toString(type));
  if (ec == asio::error::timed_out) {
    return fail(ErrorKind::Unavailable, "miniboxd at " + socketPath_ + " did not answer " +
                                            request + " within " + humanDuration(attempt.deadline));
  }
  if (ec == asio::error::operation_aborted) {
    return fail(ErrorKind::Unavailable, "miniboxd request " + request + " was cancelled");
  }
  if (ec == asio::error::message_size) {
    return fail(ErrorKind::Internal, "malformed reply from miniboxd",
                "a reply line to " + request + " exceeded " + std::to_string(kMaxReplyLineBytes) +
                    " bytes");
  }
  if (peerGone(ec) && !attempt.reused && !connection.hasReceived()) {
    // The peer-credential gate closes a fresh connection before sending anything (1.3).
    return fail(ErrorKind::Unavailable,
                "miniboxd at " + socketPath_ +
                    " closed the connection without answering (it admits only root: is the "
                    "broker running as root?)",
                request + ": " + ec.message());
  }
  if (peerGone(ec)) {
    return fail(ErrorKind::Unavailable,
                "miniboxd at " + socketPath_ + " closed the connection during " + request,
                ec.message());
  }
  return fail(ErrorKind::Unavailable,
              "lost the connection to miniboxd at " + socketPath_ + " during " + request,
              ec.message());
}

awaitable<Result<Client::Lease>> Client::acquire(RequestType type) {
  while (!idle_.empty()) {
    std::unique_ptr<Connection> pooled = std::move(idle_.back());
    idle_.pop_back();
    if (pooled->idleAndOpen()) co_return Lease{std::move(pooled), true};
    protocol_.reset();  // the daemon closed it: it restarted, maybe as another version
    spdlog::debug("minibox: dropped a pooled connection the daemon had closed path={}",
                  socketPath_);
  }
  auto opened = co_await Connection::open(executor_, socketPath_, timeouts_.connect);
  if (!opened) {
    protocol_.reset();
    co_return connectError(opened.error(), type);
  }
  co_return Lease{std::move(*opened), false};
}

void Client::release(std::unique_ptr<Connection> connection) {
  if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(connection));
}

awaitable<Result<Reply>> Client::converse(Connection& connection, const Exchange& exchange,
                                          Attempt& attempt) {
  const RequestType type = exchange.request.type;
  attempt.deadline = timeouts_.write;
  if (auto written = co_await connection.write(exchange.request.line, timeouts_.write); !written) {
    attempt.retryable = attempt.reused && peerGone(written.error());
    co_return ioError(written.error(), connection, attempt, type);
  }
  Duration deadline = exchange.firstReply;
  for (;;) {
    attempt.deadline = deadline;
    auto line = co_await connection.readLine(deadline);
    if (!line) {
      attempt.retryable = attempt.reused && !attempt.anyReply && peerGone(line.error());
      co_return ioError(line.error(), connection, attempt, type);
    }
    attempt.anyReply = true;
    auto reply = decodeReply(*line);
    if (!reply) {
      Error error = reply.error();
      error.context += " (in answer to " + std::string(toString(type)) + ")";
      co_return error;
    }
    if (endsExchange(*reply, exchange.endOnCreated)) {
      attempt.clean = !connection.hasBuffered();
      co_return std::move(*reply);
    }
    if (!exchange.onInterim) co_return unexpectedReply(*reply, type);
    if (auto handled = co_await exchange.onInterim(*reply); !handled) co_return handled.error();
    deadline = exchange.nextReply;
  }
}

awaitable<Result<Reply>> Client::roundTrip(Exchange exchange) {
  const RequestType type = exchange.request.type;
  if (exchange.request.line.size() > kMaxRequestBytes) {
    co_return fail(ErrorKind::BadRequest, "request too large for miniboxd",
                   std::string(toString(type)) + " of " +
                       std::to_string(exchange.request.line.size()) + " bytes");
  }
  try {
    for (int attemptNumber = 0;; ++attemptNumber) {
      auto lease = co_await acquire(type);
      if (!lease) co_return lease.error();
      Attempt attempt{.reused = lease->reused};
      Result<Reply> reply = co_await converse(*lease->connection, exchange, attempt);
      if (attempt.clean) release(std::move(lease->connection));
      const bool retry = !reply && attempt.retryable && idempotent(type) && attemptNumber == 0;
      if (!retry) co_return reply;
      spdlog::debug("minibox: pooled connection died before answering, retrying type={}",
                    toString(type));
      // The lease goes out of scope here and closes the dead socket.
    }
  } catch (const boost::system::system_error& e) {
    // Cancellation (Asio throws operation_aborted at the next co_await) or a handler's error.
    // The connection was owned by the frame that just unwound, so it is closed already.
    const bool cancelled = e.code() == asio::error::operation_aborted;
    co_return fail(cancelled ? ErrorKind::Unavailable : ErrorKind::Internal,
                   "miniboxd request " + std::string(toString(type)) +
                       (cancelled ? " was cancelled" : " failed"),
                   e.what());
  } catch (const std::exception& e) {
    co_return fail(ErrorKind::Internal,
                   "miniboxd request " + std::string(toString(type)) + " failed", e.what());
  }
}

awaitable<Result<void>> Client::expectSuccess(EncodedRequest request) {
  const RequestType type = request.type;
  auto success = expectReply<Success>(co_await roundTrip(quick(std::move(request))), type);
  if (!success) co_return success.error();
  co_return Result<void>();
}

awaitable<Result<std::vector<ContainerInfo>>> Client::list() {
  auto reply =
      expectReply<ContainerList>(co_await roundTrip(quick(encodeList())), RequestType::List);
  if (!reply) co_return reply.error();
  co_return std::move(reply->containers);
}

awaitable<Result<std::vector<std::string>>> Client::listImages() {
  auto notOnV019 = [this] {
    return fail(ErrorKind::NotImplemented,
                "miniboxd at " + socketPath_ + " (v0.19) cannot list images");
  };
  if (protocol_ == Protocol::V019) co_return notOnV019();
  auto reply = co_await roundTrip(quick(encodeListImages()));
  if (reply) {
    if (auto* error = std::get_if<ErrorReply>(&*reply); error && isUnknownVariant(*error)) {
      protocol_ = Protocol::V019;
      co_return notOnV019();
    }
  }
  auto images = expectReply<ImageList>(std::move(reply), RequestType::ListImages);
  if (!images) co_return images.error();
  protocol_ = Protocol::Head;
  co_return std::move(images->images);
}

awaitable<Result<Protocol>> Client::probe() {
  if (protocol_) co_return *protocol_;
  auto images = co_await listImages();  // sets protocol_ from the answer
  if (protocol_) co_return *protocol_;
  co_return images.error();
}

awaitable<Result<void>> Client::pull(ImageRef ref) {
  Exchange exchange = quick(encodePull(ref));
  exchange.firstReply = timeouts_.pull;  // no progress is streamed: the answer comes at the end
  auto success = expectReply<Success>(co_await roundTrip(std::move(exchange)), RequestType::Pull);
  if (!success) co_return success.error();
  co_return Result<void>();
}

awaitable<Result<std::string>> Client::runDetached(RunSpec spec) {
  Exchange exchange = quick(encodeRun(spec, RunMode::Detached));
  exchange.firstReply = timeouts_.pull;  // Run pulls the image when it is not cached
  exchange.endOnCreated = true;          // a detached Run sends ContainerCreated and nothing else
  auto created =
      expectReply<ContainerCreated>(co_await roundTrip(std::move(exchange)), RequestType::Run);
  if (!created) co_return created.error();
  co_return std::move(created->id);
}

awaitable<Result<void>> Client::stop(std::string idOrName) {
  co_return co_await expectSuccess(encodeStop(idOrName));
}

awaitable<Result<void>> Client::pause(std::string id) {
  auto paused = expectReply<ContainerPaused>(co_await roundTrip(quick(encodePauseContainer(id))),
                                             RequestType::PauseContainer);
  if (!paused) co_return paused.error();
  co_return Result<void>();
}

awaitable<Result<void>> Client::resume(std::string id) {
  auto resumed = expectReply<ContainerResumed>(co_await roundTrip(quick(encodeResumeContainer(id))),
                                               RequestType::ResumeContainer);
  if (!resumed) co_return resumed.error();
  co_return Result<void>();
}

awaitable<Result<void>> Client::remove(std::string idOrName) {
  co_return co_await expectSuccess(encodeRemove(idOrName));
}

awaitable<Result<void>> Client::removeImage(ImageRef ref) {
  co_return co_await expectSuccess(encodeRemoveImage(ref));
}

}  // namespace dockerbox::broker::minibox
