// Published UDP ports through the proxy library (proxy/udp_relay.cpp): datagrams to the
// container's server and its replies back to each client, over real sockets of the test's
// own network namespace.
#include "proxy/udp_relay.hpp"

#include "tests/proxy/proxy_harness.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <string>

namespace dockerbox::proxy::test {
namespace {

std::optional<std::string> receiveDatagram(int fd) {
  std::string buffer(70000, '\0');
  const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
  if (n < 0) return std::nullopt;
  buffer.resize(static_cast<std::size_t>(n));
  return buffer;
}

struct UdpPublication {
  UdpPublication(ProxyUnderTest& proxy, const std::string& run, std::uint16_t containerPort) {
    channel = channelListener();
    auto bound = bindUdp();
    hostPort = bound.port;
    proxy.publish(run, {{"udp", containerPort, hostPort}}, {channel.fd.get(), bound.fd.get()});
    channel.fd.reset();
  }
  ChannelListener channel;
  std::uint16_t hostPort = 0;
};

TEST(UdpRelay, EachClientGetsItsOwnReplies) {
  UdpEchoServer server;
  ProxyUnderTest proxy;
  UdpPublication published(proxy, runId(41), server.port());
  FakeInit init(published.channel.name);

  UniqueFd one = connectUdp(published.hostPort);
  UniqueFd two = connectUdp(published.hostPort);
  ASSERT_TRUE(sendText(one.get(), "from one"));
  ASSERT_TRUE(sendText(two.get(), "from two"));
  EXPECT_EQ(receiveDatagram(one.get()), "echo:from one");
  EXPECT_EQ(receiveDatagram(two.get()), "echo:from two");
  // Later datagrams reuse each client's container socket.
  ASSERT_TRUE(sendText(two.get(), "again two"));
  ASSERT_TRUE(sendText(one.get(), "again one"));
  EXPECT_EQ(receiveDatagram(two.get()), "echo:again two");
  EXPECT_EQ(receiveDatagram(one.get()), "echo:again one");
  EXPECT_EQ(init.requestBytes(), "uu");
}

TEST(UdpRelay, ADatagramIsCarriedWhole) {
  UdpEchoServer server;
  ProxyUnderTest proxy;
  UdpPublication published(proxy, runId(42), server.port());
  FakeInit init(published.channel.name);

  UniqueFd client = connectUdp(published.hostPort);
  int size = 1 << 20;
  ::setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  const std::string big(60000, 'z');
  ASSERT_TRUE(sendText(client.get(), big));
  EXPECT_EQ(receiveDatagram(client.get()), "echo:" + big);
}

TEST(UdpRelay, DatagramsBeforeTheInitConnectsAreDelivered) {
  UdpEchoServer server;
  ProxyUnderTest proxy;
  UdpPublication published(proxy, runId(43), server.port());

  UniqueFd client = connectUdp(published.hostPort);
  ASSERT_TRUE(sendText(client.get(), "early"));
  FakeInit init(published.channel.name);
  EXPECT_EQ(receiveDatagram(client.get()), "echo:early");
}

TEST(UdpRelay, ClientsBeyondTheTableAreDropped) {
  UdpEchoServer server;
  Limits limits;
  limits.maxUdpClientsPerPort = 1;
  ProxyUnderTest proxy(limits);
  UdpPublication published(proxy, runId(44), server.port());
  FakeInit init(published.channel.name);

  UniqueFd one = connectUdp(published.hostPort);
  ASSERT_TRUE(sendText(one.get(), "first"));
  ASSERT_EQ(receiveDatagram(one.get()), "echo:first");
  UniqueFd two = connectUdp(published.hostPort);
  ASSERT_TRUE(sendText(two.get(), "dropped"));
  // The published socket reads datagrams in order: once the first client's next one is
  // answered, the second client's was handled, and found no entry free.
  ASSERT_TRUE(sendText(one.get(), "second"));
  ASSERT_EQ(receiveDatagram(one.get()), "echo:second");
  EXPECT_EQ(init.requestBytes(), "u");
}

}  // namespace
}  // namespace dockerbox::proxy::test
