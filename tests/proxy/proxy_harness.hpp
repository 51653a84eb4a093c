// Test support for dockerbox-proxy's tests: the proxy library on its own io_context thread
// driven through a real control socketpair, a fake container init that hands out real
// sockets of the test's own network namespace, servers playing the container's, and
// bounded blocking socket helpers. Every blocking call here has a timeout.
#pragma once

#include "common/unique_fd.hpp"
#include "proxy/limits.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <string>
#include <thread>
#include <vector>

namespace dockerbox::proxy::test {

/// How long any blocking call of a test may wait before it fails.
inline constexpr std::chrono::seconds kIoTimeout{20};

/// SO_RCVTIMEO and SO_SNDTIMEO of kIoTimeout: a blocking call fails instead of hanging.
void boundBlocking(int fd);

struct Bound {
  UniqueFd fd;
  std::uint16_t port = 0;
};

/// A TCP socket on 127.0.0.1:0 with SO_REUSEADDR (as the monitor binds), listening.
Bound listenTcp();
/// A UDP socket bound to 127.0.0.1:0.
Bound bindUdp();
/// A TCP socket bound to 127.0.0.1:0 that does not listen: connecting to its port is refused.
Bound reservedTcpPort();
/// Binds 127.0.0.1:`port` again (TCP with SO_REUSEADDR then listen; UDP without it): true
/// when nobody holds the port any more.
bool tcpPortFree(std::uint16_t port);
bool udpPortFree(std::uint16_t port);

/// A listening AF_UNIX stream socket on a fresh abstract address: the run's channel.
struct ChannelListener {
  UniqueFd fd;
  std::string name;  // abstract name, without the leading NUL
};
ChannelListener channelListener();
/// True when the abstract name can be bound again (the proxy closed the listener).
bool abstractNameFree(const std::string& name);

/// Connects to 127.0.0.1:`port` (bounded); an invalid fd when refused.
UniqueFd connectTcp(std::uint16_t port);
/// A UDP socket connected to 127.0.0.1:`port`.
UniqueFd connectUdp(std::uint16_t port);
bool sendAll(int fd, std::span<const std::byte> bytes);
bool sendText(int fd, const std::string& text);
/// Reads until EOF (or an error or the timeout: then nullopt).
std::optional<std::string> readToEnd(int fd);
/// Reads exactly `n` bytes (nullopt on EOF, error or timeout).
std::optional<std::string> readExactly(int fd, std::size_t n);
/// True when the peer closed or reset the connection (not a timeout).
bool seesEnd(int fd);

/// A run id: 64 hex digits derived from `seed`.
std::string runId(unsigned seed);

/// Plays the container's pid 1 on the port channel: connects to `channel` at once and, in
/// a thread, answers each request byte with a fresh socket of this process's network
/// namespace, or with `refuseWith` (an errno) when it is not 0.
class FakeInit {
 public:
  explicit FakeInit(const std::string& channel, int refuseWith = 0);
  ~FakeInit();
  FakeInit(const FakeInit&) = delete;
  FakeInit& operator=(const FakeInit&) = delete;

  /// Closes the channel: the proxy sees EOF, as when pid 1 exits.
  void closeChannel();
  /// Requests received so far (counted before they are answered).
  [[nodiscard]] int requests() const { return requests_.load(); }
  /// The request bytes received so far, in order.
  [[nodiscard]] std::string requestBytes();

 private:
  void serve();
  UniqueFd fd_;
  int refuseWith_;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::string bytes_;
  std::thread thread_;
};

/// A TCP server in the test's namespace (the container's server): `handle` runs in a thread
/// per connection with the connected fd (bounded by boundBlocking), which closes after it.
class TcpServer {
 public:
  explicit TcpServer(std::function<void(int)> handle);
  ~TcpServer();
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  UniqueFd listener_;
  std::uint16_t port_ = 0;
  std::function<void(int)> handle_;
  std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
};

/// Echoes every byte until EOF, then shuts down its side.
void echo(int fd);

/// A UDP server that sends every datagram back to its sender, prefixed with "echo:".
class UdpEchoServer {
 public:
  UdpEchoServer();
  ~UdpEchoServer();
  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  UniqueFd fd_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

struct PortSpec {
  std::string protocol;  // "tcp", "udp" (or anything, for malformed commands)
  std::uint16_t containerPort = 0;
  std::uint16_t hostPort = 0;
};

/// The monitor's end of a control channel (not owned): what dockerboxd sends and reads.
class Monitor {
 public:
  explicit Monitor(int fd) : fd_(fd) {}
  /// Sends publish(run, ports) with `fds` attached (channel listener first).
  void publish(const std::string& run, const std::vector<PortSpec>& ports, const std::vector<int>& fds);
  void unpublish(const std::string& run);
  /// Sends any bytes with any descriptors as one packet.
  void sendRaw(std::span<const std::byte> bytes, const std::vector<int>& fds);
  /// The next event's run (unpublished), or nullopt on EOF or timeout.
  std::optional<std::string> nextUnpublished();

 private:
  int fd_;
};

/// The proxy library (Control) on its own io_context thread; the test holds the monitor's
/// end of the control channel. The destructor closes that end (the monitor is gone) and
/// joins the thread, which also ends on its own after a bound.
class ProxyUnderTest : public Monitor {
 public:
  explicit ProxyUnderTest(Limits limits = {});
  ~ProxyUnderTest();
  ProxyUnderTest(const ProxyUnderTest&) = delete;
  ProxyUnderTest& operator=(const ProxyUnderTest&) = delete;

  /// Closes the monitor's end and waits for the proxy to end; true when it ended because the
  /// channel closed (and not because its bound ran out).
  bool closeAndJoin();

 private:
  ProxyUnderTest(Limits limits, std::pair<UniqueFd, UniqueFd> ends);
  UniqueFd control_;
  std::thread thread_;
  std::atomic<bool> closedByEof_{false};
};

}  // namespace dockerbox::proxy::test
