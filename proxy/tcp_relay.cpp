// Runs in: dockerbox-proxy. Input: clients' and the container's bytes (untrusted, copied
// unread; see tcp_relay.hpp). What a peer can make us do is bounded: one connection slot
// (the run's maxConnectionsPerRun), two relay buffers, and a connect deadline.
#include "proxy/tcp_relay.hpp"

#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <optional>
#include <vector>

namespace dockerbox::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;


/// One client and its container-side socket.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<RunContext> run, tcp::socket client)
      : run_(std::move(run)), client_(std::move(client)), container_(run_->executor()), deadline_(run_->executor()) {
    ++run_->tcpConnections;
  }
  ~Connection() { close(); }

  /// Registers with the run so that closing the run closes this pair; false if it is closed.
  bool track() {
    tracked_ = run_->track([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->close();
    });
    return tracked_.has_value();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    ErrorCode ignored;
    client_.close(ignored);
    container_.close(ignored);
    deadline_.cancel();
    if (tracked_) run_->untrack(*tracked_);
    --run_->tcpConnections;
  }

  /// Obtains and connects the container side, then relays until both directions end.
  static asio::awaitable<void> serve(std::shared_ptr<Connection> self, std::uint16_t containerPort);

 private:
  static asio::awaitable<void> pump(std::shared_ptr<Connection> self, bool toContainer);
  void directionEnded() {
    if (--openDirections_ == 0) close();
  }

  std::shared_ptr<RunContext> run_;
  tcp::socket client_;
  tcp::socket container_;
  asio::steady_timer deadline_;  // for the connect inside the container
  std::vector<std::byte> upstream_;    // client -> container
  std::vector<std::byte> downstream_;  // container -> client
  std::optional<std::uint64_t> tracked_;
  int openDirections_ = 2;
  bool closed_ = false;
};

asio::awaitable<void> Connection::serve(std::shared_ptr<Connection> self, std::uint16_t containerPort) {
  const auto& limits = self->run_->limits();
  const auto deadline = std::chrono::steady_clock::now() + limits.containerConnectTimeout;
  // The container side is always its IPv4 loopback: what Docker's proxy reaches is the
  // container's address, and a server listening on 0.0.0.0 or 127.0.0.1 answers there.
  auto socket = co_await self->run_->init().request(ContainerSocket::Tcp4, limits.containerConnectTimeout);
  if (self->closed_) co_return;  // the run closed meanwhile; `socket` closes with this frame
  if (!socket) {
    spdlog::debug("event=client_closed run={} port={} reason=\"{}\" detail=\"{}\"", self->run_->name(), containerPort,
                  socket.error().message, socket.error().context);
    self->close();
    co_return;
  }
  ErrorCode ec;
  self->container_.assign(tcp::v4(), socket->get(), ec);
  if (ec) {
    spdlog::warn("event=client_closed run={} reason=\"cannot use the container's socket\" error=\"{}\"",
                 self->run_->name(), ec.message());
    self->close();
    co_return;
  }
  (void)socket->release();  // the asio socket owns it now
  self->deadline_.expires_at(deadline);
  self->deadline_.async_wait([weak = self->weak_from_this()](const ErrorCode& waited) {
    if (waited) return;
    if (auto connection = weak.lock()) {
      ErrorCode ignored;
      connection->container_.cancel(ignored);
    }
  });
  co_await self->container_.async_connect(tcp::endpoint(asio::ip::address_v4::loopback(), containerPort),
                                          asio::redirect_error(asio::use_awaitable, ec));
  self->deadline_.cancel();
  if (self->closed_) co_return;
  if (ec) {
    // Nothing listens there (yet), or the deadline passed: the client sees its connection
    // end, as with Docker's proxy.
    spdlog::debug("event=client_closed run={} port={} reason=\"connect in the container failed\" error=\"{}\"",
                  self->run_->name(), containerPort, ec.message());
    self->close();
    co_return;
  }
  // Bytes go on as they come: a relay must not add Nagle's delay to a request/response
  // protocol (Go's net package, so Docker's proxy, sets the same).
  self->client_.set_option(tcp::no_delay(true), ec);
  self->container_.set_option(tcp::no_delay(true), ec);
  self->upstream_.resize(limits.relayBufferBytes);
  self->downstream_.resize(limits.relayBufferBytes);
  asio::co_spawn(self->run_->executor(), pump(self, true), logFailure("tcp_relay"));
  asio::co_spawn(self->run_->executor(), pump(self, false), logFailure("tcp_relay"));
}

// No read deadline: a published port carries long-lived, often idle connections (database
// sessions, streams), and Docker's proxy has none either. What bounds an idle client is the
// run's connection limit, and every connection ends with the run.
asio::awaitable<void> Connection::pump(std::shared_ptr<Connection> self, bool toContainer) {
  tcp::socket& from = toContainer ? self->client_ : self->container_;
  tcp::socket& to = toContainer ? self->container_ : self->client_;
  std::vector<std::byte>& buffer = toContainer ? self->upstream_ : self->downstream_;
  for (;;) {
    ErrorCode ec;
    const std::size_t n = co_await from.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (self->closed_) co_return;
    if (ec == asio::error::eof) {
      // Half-close: the other side learns that no more is coming, and may still answer.
      ErrorCode ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
      self->directionEnded();
      co_return;
    }
    if (ec) {
      self->close();  // a reset on either side ends both
      co_return;
    }
    co_await asio::async_write(to, asio::buffer(buffer.data(), n), asio::redirect_error(asio::use_awaitable, ec));
    if (self->closed_) co_return;
    if (ec) {
      self->close();
      co_return;
    }
  }
}

/// One listener and its accept loop.
struct TcpPort : std::enable_shared_from_this<TcpPort> {
  TcpPort(std::shared_ptr<RunContext> r, std::uint16_t port)
      : run(std::move(r)), acceptor(run->executor()), backoff(run->executor()), containerPort(port) {}

  void close() {
    ErrorCode ignored;
    acceptor.close(ignored);
    backoff.cancel();
  }

  std::shared_ptr<RunContext> run;
  tcp::acceptor acceptor;
  asio::steady_timer backoff;
  std::uint16_t containerPort;
};

asio::awaitable<void> acceptClients(std::shared_ptr<TcpPort> port) {
  RunContext& run = *port->run;
  while (!run.closed()) {
    ErrorCode ec;
    tcp::socket client = co_await port->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (run.closed() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      if (ec == asio::error::connection_aborted) continue;  // the client left before we took it
      // Out of descriptors or memory: the pending client stays queued; try again shortly.
      spdlog::warn("event=accept_failed run={} port={} error=\"{}\"", run.name(), port->containerPort, ec.message());
      port->backoff.expires_after(run.limits().acceptBackoff);
      co_await port->backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (run.tcpConnections >= run.limits().maxConnectionsPerRun) {
      spdlog::warn("event=client_refused run={} port={} reason=too_many_connections limit={}", run.name(),
                   port->containerPort, run.limits().maxConnectionsPerRun);
      continue;  // `client` closes here
    }
    auto connection = std::make_shared<Connection>(port->run, std::move(client));
    if (!connection->track()) co_return;
    asio::co_spawn(run.executor(), Connection::serve(connection, port->containerPort), logFailure("tcp_relay"));
  }
}

}  // namespace

void serveTcpPort(const std::shared_ptr<RunContext>& run, UniqueFd listener, int family, std::uint16_t containerPort) {
  auto port = std::make_shared<TcpPort>(run, containerPort);
  ErrorCode ec;
  port->acceptor.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), listener.get(), ec);
  if (ec) {
    spdlog::error("event=port_failed run={} port={}/tcp error=\"{}\"", run->name(), containerPort, ec.message());
    return;  // `listener` closes here
  }
  (void)listener.release();
  if (!run->track([weak = port->weak_from_this()] {
        if (auto self = weak.lock()) self->close();
      })) {
    port->close();
    return;
  }
  asio::co_spawn(run->executor(), acceptClients(port), logFailure("tcp_relay"));
}

}  // namespace dockerbox::proxy
