#include "broker/server.hpp"
#include "common/task.hpp"

#include "broker/audit/loginuid.hpp"
#include "broker/peer.hpp"
#include "common/syscall.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

namespace dockerbox::broker {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

Server::Server(asio::io_context& io, const Config& config, Handlers& handlers, Gate& gate,
               FrontendLauncher& launcher, ConnectionCounter& counter)
    : io_(io), config_(config), handlers_(handlers), gate_(gate), launcher_(launcher), counter_(counter) {}

asio::awaitable<void> Server::acceptLoop(UniqueFd listener) {
  acceptor_.emplace(io_);
  acceptor_->assign(Local(), listener.release());
  for (;;) {
    boost::system::error_code ec;
    Local::socket client = co_await acceptor_->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
      spdlog::warn("event=accept_failed error=\"{}\"", ec.message());
      continue;  // EMFILE and friends: keep serving the connections we have
    }
    admitOne(UniqueFd(client.release()));
  }
}

void Server::drain(std::function<void()> whenIdle) {
  if (acceptor_) {
    boost::system::error_code ignored;
    acceptor_->close(ignored);  // the accept loop ends; new clients are refused by the kernel
  }
  channels_->drain(std::move(whenIdle));
}

void Server::admitOne(UniqueFd client) {
  auto who = readPeerIdentity(client.get());
  if (!who) {
    spdlog::warn("event=connection_refused reason=no_credentials error=\"{}\"", who.error().context);
    return;  // fail closed: no identity, no service
  }
  who->loginuid = audit::readLoginUid(who->pid);  // now: the pid may be reused later
  if (admit(*who, config_.socketGroup) != Admission::Admitted) {
    // Closed before one byte is read: the client learns nothing but that it was refused.
    spdlog::warn("event=connection_refused reason=not_in_socket_group {}", describe(*who));
    return;
  }
  if (!counter_.tryAcquire(who->uid)) {
    spdlog::warn("event=connection_refused reason=too_many_connections {} limit={}", describe(*who),
                 config_.maxConnectionsPerUid);
    return;
  }
  int pair[2];
  auto rc = DOCKERBOX_SYSCALL(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), "socketpair(ipc)");
  if (!rc) {
    counter_.release(who->uid);
    spdlog::error("event=connection_dropped error=\"{}\"", rc.error().context);
    return;
  }
  UniqueFd brokerEnd(pair[0]);
  UniqueFd workerEnd(pair[1]);
  if (auto sent = launcher_.handOver(client.get(), workerEnd.get()); !sent) {
    counter_.release(who->uid);
    spdlog::error("event=connection_dropped {} error=\"{}\"", describe(*who), sent.error().message);
    return;
  }
  spdlog::debug("event=connection_admitted {}", describe(*who));
  // Our copies of the client fd and the worker's end close here; the worker holds them now.
  Local::socket channel(io_);
  channel.assign(Local(), brokerEnd.release());
  asio::co_spawn(io_, serveWorker(handlers_, gate_, counter_, channels_, std::move(channel), std::move(*who)),
                 logFailure("worker channel"));
}

}  // namespace dockerbox::broker
