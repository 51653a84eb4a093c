// Runs in: dockerbox-proxy (see publication.hpp).
#include "proxy/publication.hpp"

#include "proxy/run_context.hpp"
#include "proxy/socket_io.hpp"
#include "common/task.hpp"
#include "proxy/tcp_relay.hpp"
#include "proxy/udp_relay.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>


namespace dockerbox::proxy {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;


const char* protocolName(Protocol protocol) { return protocol == Protocol::Tcp ? "tcp" : "udp"; }

/// The families each descriptor must have: returns the host socket's family per entry.
Result<std::vector<int>> checkDescriptors(const PublishCommand& command) {
  auto channel = socketFacts(command.channelListener.get());
  if (!channel || channel->domain != AF_UNIX || channel->type != SOCK_STREAM || !channel->listening) {
    return fail(ErrorKind::Internal, "the channel descriptor is not a listening Unix stream socket");
  }
  std::vector<int> families;
  for (std::size_t i = 0; i < command.ports.size(); ++i) {
    const auto& entry = command.ports[i];
    auto facts = socketFacts(command.sockets[i].get());
    const bool tcp = entry.protocol == Protocol::Tcp;
    const bool ok = facts && (facts->domain == AF_INET || facts->domain == AF_INET6) &&
                    facts->type == (tcp ? SOCK_STREAM : SOCK_DGRAM) && facts->listening == tcp && facts->bound;
    if (!ok) {
      return fail(ErrorKind::Internal, "a port descriptor is not what its entry says",
                  "entry " + std::to_string(i) + " (" + protocolName(entry.protocol) + " " +
                      std::to_string(entry.containerPort) + ")");
    }
    families.push_back(facts->domain);
  }
  return families;
}

/// Accepts the container init's one connection; the listener closes after it (nobody
/// else is meant to connect, and the run's io directory is not ours to keep a socket in).
/// No deadline: a container that never starts leaves the listener until the monitor
/// unpublishes the run, and the clients meanwhile are bounded (maxWaitingForInit, each
/// with containerConnectTimeout).
asio::awaitable<void> acceptInit(std::shared_ptr<RunContext> run, std::shared_ptr<Local::acceptor> listener) {
  boost::system::error_code ec;
  Local::socket channel = co_await listener->async_accept(asio::redirect_error(asio::use_awaitable, ec));
  boost::system::error_code ignored;
  listener->close(ignored);
  if (run->closed()) co_return;  // `channel` closes here
  if (ec) {
    spdlog::warn("event=port_channel_failed run={} error=\"{}\"", run->name(), ec.message());
    run->close();
    co_return;
  }
  spdlog::info("event=port_channel_connected run={}", run->name());
  run->init().attach(std::move(channel), [weak = std::weak_ptr<RunContext>(run)] {
    // pid 1 is gone, and with it the container: nothing of the run can be served now.
    if (auto context = weak.lock()) context->close();
  });
}

}  // namespace

Result<std::unique_ptr<Publication>> Publication::start(asio::any_io_executor executor, PublishCommand command,
                                                        const Limits& limits, std::function<void()> onGone) {
  // Made first: whatever happens below, onGone is posted when it goes.
  auto context = std::make_shared<RunContext>(executor, command.run, limits, std::move(onGone));
  if (command.sockets.size() != command.ports.size()) {
    return fail(ErrorKind::Internal, "the descriptors do not match the ports");
  }
  auto families = checkDescriptors(command);
  if (!families) return families.error();

  auto listener = std::make_shared<Local::acceptor>(executor);
  boost::system::error_code ec;
  listener->assign(Local(), command.channelListener.get(), ec);
  if (ec) return fail(ErrorKind::Internal, "the channel listener cannot be used", ec.message());
  (void)command.channelListener.release();
  (void)context->track([weak = std::weak_ptr<Local::acceptor>(listener)] {
    if (auto acceptor = weak.lock()) {
      boost::system::error_code ignored;
      acceptor->close(ignored);
    }
  });
  asio::co_spawn(executor, acceptInit(context, listener), logFailure("port_channel"));

  for (std::size_t i = 0; i < command.ports.size(); ++i) {
    const auto& entry = command.ports[i];
    spdlog::info("event=port_published run={} host={}:{} container={}/{}", context->name(), entry.hostIp,
                 entry.hostPort, entry.containerPort, protocolName(entry.protocol));
    if (entry.protocol == Protocol::Tcp) {
      serveTcpPort(context, std::move(command.sockets[i]), (*families)[i], entry.containerPort);
    } else {
      serveUdpPort(context, std::move(command.sockets[i]), (*families)[i], entry.containerPort);
    }
  }
  return std::unique_ptr<Publication>(new Publication(std::move(context)));
}

Publication::~Publication() { close(); }

void Publication::close() {
  if (context_) context_->close();
}

}  // namespace dockerbox::proxy
