// Runs in: dockerbox-proxy. Input: clients' and the container's datagrams (untrusted,
// passed on unread; see udp_relay.hpp). Memory per port is bounded: two datagram buffers,
// maxUdpClientsPerPort entries and maxUdpPendingBytes of datagrams waiting for a socket.
#include "proxy/udp_relay.hpp"

#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace dockerbox::proxy {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using ErrorCode = boost::system::error_code;
using Clock = std::chrono::steady_clock;

constexpr int kDatagramsPerWakeup = 64;


/// One client address and its socket in the container.
struct UdpClient {
  UdpClient(const asio::any_io_executor& executor, udp::endpoint from)
      : peer(std::move(from)), socket(executor), idle(executor), lastActive(Clock::now()) {}

  udp::endpoint peer;
  udp::socket socket;  // connected to the container's port once `connected`
  asio::steady_timer idle;
  Clock::time_point lastActive;
  std::deque<std::vector<std::byte>> pending;  // arrived before the socket did
  bool connected = false;
  bool closed = false;
};

struct UdpPort : std::enable_shared_from_this<UdpPort> {
  UdpPort(std::shared_ptr<RunContext> r, std::uint16_t port)
      : run(std::move(r)), host(run->executor()), containerPort(port), inbound(kMaxDatagramBytes),
        outbound(kMaxDatagramBytes) {}

  void closeClient(UdpClient& client) {
    if (client.closed) return;
    client.closed = true;
    ErrorCode ignored;
    client.socket.close(ignored);
    client.idle.cancel();
    for (const auto& datagram : client.pending) pendingBytes -= datagram.size();
    client.pending.clear();
  }

  void forget(const std::shared_ptr<UdpClient>& client) {
    closeClient(*client);
    auto found = clients.find(client->peer);
    if (found != clients.end() && found->second == client) clients.erase(found);
  }

  void close() {
    if (closed) return;
    closed = true;
    ErrorCode ignored;
    host.close(ignored);
    for (auto& [peer, client] : clients) closeClient(*client);
    clients.clear();
  }

  /// Passes one datagram to the container side; dropped if it cannot go at once.
  static void toContainer(UdpClient& client, const std::byte* data, std::size_t size) {
    ErrorCode ec;
    client.socket.send(asio::buffer(data, size), 0, ec);  // non-blocking: dropped on would_block
  }

  std::shared_ptr<RunContext> run;
  udp::socket host;
  std::uint16_t containerPort;
  std::map<udp::endpoint, std::shared_ptr<UdpClient>> clients;
  std::vector<std::byte> inbound;   // from clients (filled by the pending receive_from)
  std::vector<std::byte> outbound;  // from the container (read synchronously when ready)
  std::size_t pendingBytes = 0;
  bool warnedFull = false;
  bool closed = false;
};

asio::awaitable<void> expireWhenIdle(std::shared_ptr<UdpPort> port, std::shared_ptr<UdpClient> client) {
  const auto timeout = port->run->limits().udpIdleTimeout;
  while (!client->closed) {
    client->idle.expires_at(client->lastActive + timeout);
    ErrorCode ec;
    co_await client->idle.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (client->closed || ec) co_return;
    if (Clock::now() >= client->lastActive + timeout) {
      spdlog::debug("event=udp_client_expired run={} port={}", port->run->name(), port->containerPort);
      port->forget(client);
      co_return;
    }
  }
}

/// What the container sends back goes to the client, from the published socket.
asio::awaitable<void> relayReplies(std::shared_ptr<UdpPort> port, std::shared_ptr<UdpClient> client) {
  while (!client->closed) {
    ErrorCode ec;
    co_await client->socket.async_wait(udp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (client->closed || port->closed) co_return;
    if (ec) {
      port->forget(client);
      co_return;
    }
    // A bounded batch per wake-up: a container that sends without pause must not keep
    // every other client of the proxy waiting.
    for (int batch = 0; batch < kDatagramsPerWakeup; ++batch) {
      const std::size_t n = client->socket.receive(asio::buffer(port->outbound), 0, ec);
      if (ec == asio::error::would_block) break;
      // Nothing listens in the container (an ICMP error on the loopback): a later
      // datagram may find a server, so the entry stays until it is idle.
      if (ec == asio::error::connection_refused) continue;
      if (ec) {
        port->forget(client);
        co_return;
      }
      client->lastActive = Clock::now();
      port->host.send_to(asio::buffer(port->outbound.data(), n), client->peer, 0, ec);  // dropped if full
    }
  }
}

asio::awaitable<void> connectClient(std::shared_ptr<UdpPort> port, std::shared_ptr<UdpClient> client) {
  const auto& limits = port->run->limits();
  auto socket = co_await port->run->init().request(ContainerSocket::Udp4, limits.containerConnectTimeout);
  if (client->closed) co_return;
  if (!socket) {
    spdlog::debug("event=udp_client_dropped run={} port={} reason=\"{}\"", port->run->name(), port->containerPort,
                  socket.error().message);
    port->forget(client);
    co_return;
  }
  ErrorCode ec;
  client->socket.assign(udp::v4(), socket->get(), ec);
  if (ec) {
    port->forget(client);
    co_return;
  }
  (void)socket->release();
  client->socket.non_blocking(true, ec);
  // Connecting a datagram socket only sets its peer: it does not wait.
  if (!ec) client->socket.connect(udp::endpoint(asio::ip::address_v4::loopback(), port->containerPort), ec);
  if (ec) {
    spdlog::debug("event=udp_client_dropped run={} port={} error=\"{}\"", port->run->name(), port->containerPort,
                  ec.message());
    port->forget(client);
    co_return;
  }
  client->connected = true;
  while (!client->pending.empty()) {
    const auto& datagram = client->pending.front();
    UdpPort::toContainer(*client, datagram.data(), datagram.size());
    port->pendingBytes -= datagram.size();
    client->pending.pop_front();
  }
  co_await relayReplies(port, client);
}

void fromClient(const std::shared_ptr<UdpPort>& port, const udp::endpoint& sender, std::size_t n) {
  const auto& limits = port->run->limits();
  auto found = port->clients.find(sender);
  std::shared_ptr<UdpClient> client;
  if (found != port->clients.end()) {
    client = found->second;
  } else {
    if (port->clients.size() >= limits.maxUdpClientsPerPort) {
      if (!port->warnedFull) {
        spdlog::warn("event=udp_datagram_dropped run={} port={} reason=too_many_clients limit={}", port->run->name(),
                     port->containerPort, limits.maxUdpClientsPerPort);
        port->warnedFull = true;
      }
      return;
    }
    port->warnedFull = false;
    client = std::make_shared<UdpClient>(port->run->executor(), sender);
    port->clients.emplace(sender, client);
    asio::co_spawn(port->run->executor(), connectClient(port, client), logFailure("udp_relay"));
    asio::co_spawn(port->run->executor(), expireWhenIdle(port, client), logFailure("udp_relay"));
  }
  client->lastActive = Clock::now();
  if (client->connected) {
    UdpPort::toContainer(*client, port->inbound.data(), n);
  } else if (port->pendingBytes + n <= limits.maxUdpPendingBytes) {
    client->pending.emplace_back(port->inbound.begin(), port->inbound.begin() + static_cast<std::ptrdiff_t>(n));
    port->pendingBytes += n;
  }
}

asio::awaitable<void> receiveFromClients(std::shared_ptr<UdpPort> port) {
  while (!port->closed) {
    ErrorCode ec;
    udp::endpoint sender;
    const std::size_t n = co_await port->host.async_receive_from(asio::buffer(port->inbound), sender,
                                                                 asio::redirect_error(asio::use_awaitable, ec));
    if (port->closed || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // An error queued on the socket (an ICMP report for an earlier reply): it is consumed
      // by this call, and the socket goes on.
      spdlog::debug("event=udp_receive_failed run={} port={} error=\"{}\"", port->run->name(), port->containerPort,
                    ec.message());
      continue;
    }
    fromClient(port, sender, n);
  }
}

}  // namespace

void serveUdpPort(const std::shared_ptr<RunContext>& run, UniqueFd socket, int family, std::uint16_t containerPort) {
  auto port = std::make_shared<UdpPort>(run, containerPort);
  ErrorCode ec;
  port->host.assign(family == AF_INET6 ? udp::v6() : udp::v4(), socket.get(), ec);
  if (ec) {
    spdlog::error("event=port_failed run={} port={}/udp error=\"{}\"", run->name(), containerPort, ec.message());
    return;  // `socket` closes here
  }
  (void)socket.release();
  port->host.non_blocking(true, ec);  // replies are sent without waiting (dropped when full)
  if (!run->track([weak = port->weak_from_this()] {
        if (auto self = weak.lock()) self->close();
      })) {
    port->close();
    return;
  }
  asio::co_spawn(run->executor(), receiveFromClients(port), logFailure("udp_relay"));
}

}  // namespace dockerbox::proxy
