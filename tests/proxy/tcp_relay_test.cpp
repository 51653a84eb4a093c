// Published TCP ports through the proxy library (proxy/tcp_relay.cpp), end to end over real
// sockets: the test plays the monitor (control channel), the container's init (FakeInit,
// whose sockets live in the test's own network namespace) and the container's server.
#include "proxy/tcp_relay.hpp"

#include "tests/proxy/proxy_harness.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

namespace dockerbox::proxy::test {
namespace {

/// A pattern that a dropped, duplicated or reordered chunk cannot reproduce.
std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  std::uint32_t state = 0x9e3779b9;
  for (auto& c : out) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    c = static_cast<char>(state);
  }
  return out;
}

/// A published TCP port: the host listener handed to the proxy, the run's channel.
struct TcpPublication {
  TcpPublication(ProxyUnderTest& proxy, const std::string& run, std::uint16_t containerPort) {
    channel = channelListener();
    auto bound = listenTcp();
    hostPort = bound.port;
    proxy.publish(run, {{"tcp", containerPort, hostPort}}, {channel.fd.get(), bound.fd.get()});
    channel.fd.reset();  // the monitor's copies close once they are handed over
  }
  ChannelListener channel;
  std::uint16_t hostPort = 0;
};

TEST(TcpRelay, CarriesSeveralMiBBothWaysUnchanged) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  const std::string run = runId(1);
  TcpPublication published(proxy, run, server.port());
  FakeInit init(published.channel.name);

  const std::string data = pattern(8 << 20);
  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  // Written while the echo is read: neither side may wait for the other to finish.
  std::thread writer([&] {
    EXPECT_TRUE(sendText(client.get(), data));
    ::shutdown(client.get(), SHUT_WR);
  });
  auto echoed = readToEnd(client.get());
  writer.join();
  ASSERT_TRUE(echoed);
  ASSERT_EQ(echoed->size(), data.size());
  EXPECT_TRUE(*echoed == data) << "the bytes changed on the way";
  EXPECT_EQ(init.requestBytes(), "t");
}

TEST(TcpRelay, ABurstOfClientsIsServed) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(10), server.port());
  FakeInit init(published.channel.name);

  // Many more than the requests the proxy keeps in flight to the init at once.
  constexpr int kClients = 200;
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(connectTcp(published.hostPort));
    ASSERT_TRUE(clients.back());
    ASSERT_TRUE(sendText(clients.back().get(), "client " + std::to_string(1000 + i)));
  }
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(readExactly(clients[i].get(), 11), "client " + std::to_string(1000 + i));
  }
  EXPECT_EQ(init.requests(), kClients);
}

TEST(TcpRelay, HalfCloseStillDeliversTheReply) {
  // The server answers only after the client's EOF, as an HTTP/1.0 server or `nc -q` would.
  TcpServer server([](int fd) {
    auto request = readToEnd(fd);
    sendText(fd, "received " + std::to_string(request ? request->size() : 0) + " bytes");
  });
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(2), server.port());
  FakeInit init(published.channel.name);

  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  ASSERT_TRUE(sendText(client.get(), pattern(300000)));
  ASSERT_EQ(::shutdown(client.get(), SHUT_WR), 0);
  EXPECT_EQ(readToEnd(client.get()), "received 300000 bytes");
}

TEST(TcpRelay, TheServerClosingFirstEndsTheClientsReadOnly) {
  TcpServer server([](int fd) { sendText(fd, "banner"); });  // says hello, then closes
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(3), server.port());
  FakeInit init(published.channel.name);

  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  EXPECT_EQ(readToEnd(client.get()), "banner");
}

TEST(TcpRelay, ARefusedConnectClosesTheClient) {
  Bound nobody = reservedTcpPort();  // bound, not listening: connecting is refused
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(4), nobody.port);
  FakeInit init(published.channel.name);

  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  EXPECT_TRUE(seesEnd(client.get()));
  EXPECT_EQ(init.requests(), 1);
}

TEST(TcpRelay, TheInitRefusingASocketClosesTheClient) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(5), server.port());
  FakeInit init(published.channel.name, EMFILE);

  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  EXPECT_TRUE(seesEnd(client.get()));
}

TEST(TcpRelay, ClientsBeforeTheInitConnectsAreServedOnceItDoes) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  TcpPublication published(proxy, runId(6), server.port());

  std::vector<UniqueFd> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connectTcp(published.hostPort));
    ASSERT_TRUE(clients.back());
    ASSERT_TRUE(sendText(clients.back().get(), "early " + std::to_string(i)));
  }
  FakeInit init(published.channel.name);  // the container's pid 1 starts only now
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(readExactly(clients[i].get(), 7), "early " + std::to_string(i));
  }
  EXPECT_EQ(init.requestBytes(), "ttt");
}

TEST(TcpRelay, ClientsBeyondTheWaitingLimitAreClosed) {
  TcpServer server(echo);
  Limits limits;
  limits.maxWaitingForInit = 2;
  ProxyUnderTest proxy(limits);
  TcpPublication published(proxy, runId(7), server.port());

  UniqueFd first = connectTcp(published.hostPort);
  UniqueFd second = connectTcp(published.hostPort);
  UniqueFd third = connectTcp(published.hostPort);
  ASSERT_TRUE(first && second && third);
  // Accepted in the order they connected: the third finds two waiting already.
  EXPECT_TRUE(seesEnd(third.get()));
  FakeInit init(published.channel.name);
  ASSERT_TRUE(sendText(first.get(), "one"));
  ASSERT_TRUE(sendText(second.get(), "two"));
  EXPECT_EQ(readExactly(first.get(), 3), "one");
  EXPECT_EQ(readExactly(second.get(), 3), "two");
}

TEST(TcpRelay, ConnectionsBeyondTheRunsLimitAreClosed) {
  TcpServer server(echo);
  Limits limits;
  limits.maxConnectionsPerRun = 1;
  ProxyUnderTest proxy(limits);
  TcpPublication published(proxy, runId(8), server.port());
  FakeInit init(published.channel.name);

  UniqueFd first = connectTcp(published.hostPort);
  ASSERT_TRUE(first);
  ASSERT_TRUE(sendText(first.get(), "one"));
  ASSERT_EQ(readExactly(first.get(), 3), "one");  // the one slot is taken
  UniqueFd second = connectTcp(published.hostPort);
  ASSERT_TRUE(second);
  EXPECT_TRUE(seesEnd(second.get()));
  // The first goes on; once it is closed, its slot is free again.
  ASSERT_TRUE(sendText(first.get(), "more"));
  EXPECT_EQ(readExactly(first.get(), 4), "more");
  ::shutdown(first.get(), SHUT_WR);
  // The proxy passes the server's EOF on and frees the slot in the same step, before it can
  // take the next client: the third is served.
  EXPECT_EQ(readToEnd(first.get()), "");
  UniqueFd third = connectTcp(published.hostPort);
  ASSERT_TRUE(third);
  ASSERT_TRUE(sendText(third.get(), "three"));
  EXPECT_EQ(readExactly(third.get(), 5), "three");
}

TEST(TcpRelay, TheInitChannelEndingClosesTheRunsListeners) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  const std::string run = runId(9);
  TcpPublication published(proxy, run, server.port());
  FakeInit init(published.channel.name);

  UniqueFd client = connectTcp(published.hostPort);
  ASSERT_TRUE(client);
  ASSERT_TRUE(sendText(client.get(), "hello"));
  ASSERT_EQ(readExactly(client.get(), 5), "hello");

  init.closeChannel();  // the container's pid 1 is gone
  // The run closes as a whole, in one step: once this connection has ended, the listener
  // is closed too.
  EXPECT_TRUE(seesEnd(client.get()));
  EXPECT_FALSE(connectTcp(published.hostPort)) << "the listener still accepts";
  // The monitor still unpublishes, and is answered.
  proxy.unpublish(run);
  EXPECT_EQ(proxy.nextUnpublished(), run);
  EXPECT_TRUE(tcpPortFree(published.hostPort));
}

}  // namespace
}  // namespace dockerbox::proxy::test
