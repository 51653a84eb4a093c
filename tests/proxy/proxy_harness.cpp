// Test support for dockerbox-proxy (see proxy_harness.hpp).
#include "tests/proxy/proxy_harness.hpp"

#include "ipc/fd_passing.hpp"
#include "ipc/proxy.capnp.h"
#include "proxy/control.hpp"

#include <arpa/inet.h>
#include <boost/asio/io_context.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dockerbox::proxy::test {
namespace {

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

std::uint16_t localPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  return ntohs(address.sin_port);
}

Bound bindLoopback(int type, bool reuse, bool listening, std::uint16_t port = 0) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  const int one = 1;
  if (reuse) ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto address = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return {};
  if (listening && ::listen(fd.get(), SOMAXCONN) != 0) return {};
  boundBlocking(fd.get());
  Bound out;
  out.port = localPort(fd.get());
  out.fd = std::move(fd);
  return out;
}

socklen_t abstractAddress(const std::string& name, sockaddr_un& address) {
  address = {};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

}  // namespace

void boundBlocking(int fd) {
  timeval timeout{};
  timeout.tv_sec = kIoTimeout.count();
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

Bound listenTcp() { return bindLoopback(SOCK_STREAM, true, true); }
Bound bindUdp() { return bindLoopback(SOCK_DGRAM, false, false); }
Bound reservedTcpPort() { return bindLoopback(SOCK_STREAM, false, false); }
bool tcpPortFree(std::uint16_t port) { return bindLoopback(SOCK_STREAM, true, true, port).fd.valid(); }
bool udpPortFree(std::uint16_t port) { return bindLoopback(SOCK_DGRAM, false, false, port).fd.valid(); }

ChannelListener channelListener() {
  static std::atomic<unsigned> counter{0};
  ChannelListener out;
  out.name = "dockerbox-proxy-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  out.fd = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  const socklen_t length = abstractAddress(out.name, address);
  if (::bind(out.fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0 || ::listen(out.fd.get(), 1) != 0) {
    ADD_FAILURE() << "channel listener: " << std::strerror(errno);
  }
  return out;
}

bool abstractNameFree(const std::string& name) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  const socklen_t length = abstractAddress(name, address);
  return ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0;
}

UniqueFd connectTcp(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  boundBlocking(fd.get());
  const auto address = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

UniqueFd connectUdp(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  boundBlocking(fd.get());
  const auto address = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) return {};
  return fd;
}

bool sendAll(int fd, std::span<const std::byte> bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool sendText(int fd, const std::string& text) { return sendAll(fd, std::as_bytes(std::span(text))); }

std::optional<std::string> readToEnd(int fd) {
  std::string out;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> readExactly(int fd, std::size_t n) {
  std::string out(n, '\0');
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::recv(fd, out.data() + done, n - done, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return std::nullopt;
    done += static_cast<std::size_t>(got);
  }
  return out;
}

bool seesEnd(int fd) {
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET || errno == EPIPE;
    // Bytes still in flight before the end: read on.
  }
}

std::string runId(unsigned seed) {
  char buffer[9];
  std::snprintf(buffer, sizeof buffer, "%x", seed);  // first, so that the log's short id tells runs apart
  std::string run = buffer;
  run.resize(64, '0');
  return run;
}

FakeInit::FakeInit(const std::string& channel, int refuseWith) : refuseWith_(refuseWith) {
  fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  const socklen_t length = abstractAddress(channel, address);
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    ADD_FAILURE() << "fake init cannot connect: " << std::strerror(errno);
  }
  boundBlocking(fd_.get());
  thread_ = std::thread([this] { serve(); });
}

FakeInit::~FakeInit() {
  closeChannel();
  thread_.join();
}

void FakeInit::closeChannel() { ::shutdown(fd_.get(), SHUT_RDWR); }

std::string FakeInit::requestBytes() {
  std::lock_guard lock(mutex_);
  return bytes_;
}

void FakeInit::serve() {
  for (;;) {
    char request = 0;
    const ssize_t n = ::recv(fd_.get(), &request, 1, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;  // the proxy closed the channel (or the test did)
    {
      std::lock_guard lock(mutex_);
      bytes_.push_back(request);
    }
    ++requests_;  // before the answer: the proxy may act on it before this thread runs again
    int domain = 0;
    int type = 0;
    switch (request) {
      case 't': domain = AF_INET, type = SOCK_STREAM; break;
      case 'u': domain = AF_INET, type = SOCK_DGRAM; break;
      case 'T': domain = AF_INET6, type = SOCK_STREAM; break;
      case 'U': domain = AF_INET6, type = SOCK_DGRAM; break;
      default: return;  // as dockerbox-init: any other byte ends the channel
    }
    const std::byte answer{static_cast<unsigned char>(refuseWith_)};
    if (refuseWith_ != 0) {
      (void)::send(fd_.get(), &answer, 1, MSG_NOSIGNAL);
    } else {
      UniqueFd socket(::socket(domain, type | SOCK_CLOEXEC, 0));
      const int fds[] = {socket.get()};
      if (!ipc::sendWithFds(fd_.get(), std::span(&answer, 1), fds)) return;
    }
  }
}

TcpServer::TcpServer(std::function<void(int)> handle) : handle_(std::move(handle)) {
  auto bound = listenTcp();
  listener_ = std::move(bound.fd);
  port_ = bound.port;
  acceptor_ = std::thread([this] {
    for (;;) {
      UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!client) {
        if (stopping_ || errno != EAGAIN) return;
        continue;  // the receive timeout passed without a client
      }
      boundBlocking(client.get());
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd = std::move(client)] { handle_(fd.get()); });
    }
  });
}

TcpServer::~TcpServer() {
  stopping_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);  // wakes accept
  acceptor_.join();
  std::lock_guard lock(mutex_);
  for (auto& connection : connections_) connection.join();
}

void echo(int fd) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (!sendAll(fd, std::as_bytes(std::span(buffer, static_cast<std::size_t>(n))))) break;
  }
  ::shutdown(fd, SHUT_WR);
}

UdpEchoServer::UdpEchoServer() {
  auto bound = bindUdp();
  fd_ = std::move(bound.fd);
  port_ = bound.port;
  thread_ = std::thread([this] {
    char buffer[65536];
    for (;;) {
      sockaddr_storage from{};
      socklen_t length = sizeof from;
      const ssize_t n = ::recvfrom(fd_.get(), buffer + 5, sizeof buffer - 5, 0, reinterpret_cast<sockaddr*>(&from), &length);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return;
      if (n == 0 && length == 0) return;  // shut down
      std::memcpy(buffer, "echo:", 5);
      (void)::sendto(fd_.get(), buffer, static_cast<std::size_t>(n) + 5, 0, reinterpret_cast<sockaddr*>(&from), length);
    }
  });
}

UdpEchoServer::~UdpEchoServer() {
  ::shutdown(fd_.get(), SHUT_RDWR);  // recvfrom returns 0 with no address
  thread_.join();
}

namespace {

std::pair<UniqueFd, UniqueFd> seqpacketPair() {
  int ends[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends) != 0) {
    ADD_FAILURE() << "socketpair: " << std::strerror(errno);
    return {};
  }
  return {UniqueFd(ends[0]), UniqueFd(ends[1])};
}

}  // namespace

ProxyUnderTest::ProxyUnderTest(Limits limits) : ProxyUnderTest(limits, seqpacketPair()) {}

ProxyUnderTest::ProxyUnderTest(Limits limits, std::pair<UniqueFd, UniqueFd> ends)
    : Monitor(ends.first.get()), control_(std::move(ends.first)) {
  boundBlocking(control_.get());
  thread_ = std::thread([this, limits, proxyEnd = ends.second.release()] {
    boost::asio::io_context io;
    {
      Control control(io.get_executor(), UniqueFd(proxyEnd), limits, [this] { closedByEof_ = true; });
      control.start();
      // Returns when the proxy has nothing left to do (the channel closed and every run
      // unwound), or after the bound.
      io.run_for(std::chrono::seconds(90));
    }
    io.restart();
    io.run_for(std::chrono::seconds(5));  // what closing the Control left to unwind
  });
}

ProxyUnderTest::~ProxyUnderTest() {
  if (thread_.joinable()) closeAndJoin();
}

bool ProxyUnderTest::closeAndJoin() {
  control_.reset();
  if (thread_.joinable()) thread_.join();
  return closedByEof_.load();
}

void Monitor::sendRaw(std::span<const std::byte> bytes, const std::vector<int>& fds) {
  auto sent = ipc::sendWithFds(fd_, bytes, fds);
  ASSERT_TRUE(sent) << sent.error().context;
}

void Monitor::publish(const std::string& run, const std::vector<PortSpec>& ports, const std::vector<int>& fds) {
  capnp::MallocMessageBuilder message;
  auto publish = message.initRoot<ipc::proxy::ProxyCommand>().initPublish();
  publish.setRun(run);
  auto entries = publish.initPorts(static_cast<unsigned>(ports.size()));
  for (unsigned i = 0; i < ports.size(); ++i) {
    entries[i].setProtocol(ports[i].protocol);
    entries[i].setContainerPort(ports[i].containerPort);
    entries[i].setHostIp("127.0.0.1");
    entries[i].setHostPort(ports[i].hostPort);
  }
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  sendRaw(std::as_bytes(std::span(bytes.begin(), bytes.size())), fds);
}

void Monitor::unpublish(const std::string& run) {
  capnp::MallocMessageBuilder message;
  message.initRoot<ipc::proxy::ProxyCommand>().setUnpublish(run);
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  sendRaw(std::as_bytes(std::span(bytes.begin(), bytes.size())), {});
}

std::optional<std::string> Monitor::nextUnpublished() {
  std::vector<capnp::word> words(1024);
  const ssize_t n = ::recv(fd_, words.data(), words.size() * sizeof(capnp::word), 0);
  if (n <= 0 || n % sizeof(capnp::word) != 0) return std::nullopt;
  capnp::FlatArrayMessageReader reader(kj::arrayPtr(words.data(), static_cast<std::size_t>(n) / sizeof(capnp::word)));
  auto event = reader.getRoot<ipc::proxy::ProxyEvent>();
  if (!event.hasUnpublished()) return std::nullopt;  // a one-member union is a plain field in capnp
  return std::string(event.getUnpublished().cStr());
}

}  // namespace dockerbox::proxy::test
