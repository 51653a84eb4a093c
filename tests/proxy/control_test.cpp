// The monitor's side of dockerbox-proxy (proxy/control.cpp): publish, unpublish and its
// acknowledgement, republish, and commands a buggy monitor might send. The test plays the
// monitor on a real SOCK_SEQPACKET socketpair.
#include "proxy/control.hpp"

#include "tests/proxy/proxy_harness.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "ipc/proxy.capnp.h"

namespace dockerbox::proxy::test {
namespace {

TEST(Control, UnpublishClosesEverySocketThenAcknowledges) {
  TcpServer server(echo);
  UdpEchoServer udpServer;
  ProxyUnderTest proxy;
  const std::string run = runId(21);
  auto channel = channelListener();
  auto tcp = listenTcp();
  auto udp = bindUdp();
  proxy.publish(run, {{"tcp", server.port(), tcp.port}, {"udp", udpServer.port(), udp.port}},
                {channel.fd.get(), tcp.fd.get(), udp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  udp.fd.reset();
  FakeInit init(channel.name);

  UniqueFd client = connectTcp(tcp.port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(sendText(client.get(), "ping"));
  ASSERT_EQ(readExactly(client.get(), 4), "ping");
  UniqueFd udpClient = connectUdp(udp.port);
  ASSERT_TRUE(sendText(udpClient.get(), "dgram"));
  char reply[64];
  ASSERT_EQ(::recv(udpClient.get(), reply, sizeof reply, 0), 10);

  proxy.unpublish(run);
  EXPECT_EQ(proxy.nextUnpublished(), run);
  // After the acknowledgement: the connection is closed, and both host ports can be bound
  // again at once, as the monitor will (a listener still open anywhere would refuse it).
  EXPECT_TRUE(seesEnd(client.get()));
  EXPECT_TRUE(tcpPortFree(tcp.port));
  EXPECT_TRUE(udpPortFree(udp.port));
  EXPECT_TRUE(abstractNameFree(channel.name));
}

TEST(Control, UnpublishBeforeTheInitConnectedIsAcknowledged) {
  ProxyUnderTest proxy;
  const std::string run = runId(22);
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish(run, {{"tcp", 80, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  UniqueFd waiting = connectTcp(tcp.port);  // waits for a container that never starts
  ASSERT_TRUE(waiting);

  proxy.unpublish(run);
  EXPECT_EQ(proxy.nextUnpublished(), run);
  EXPECT_TRUE(seesEnd(waiting.get()));
  EXPECT_TRUE(tcpPortFree(tcp.port));
  EXPECT_TRUE(abstractNameFree(channel.name));
}

TEST(Control, UnpublishOfAnUnknownRunIsAcknowledged) {
  ProxyUnderTest proxy;
  proxy.unpublish(runId(23));
  EXPECT_EQ(proxy.nextUnpublished(), runId(23));
}

TEST(Control, RepublishClosesThePreviousPublicationFirst) {
  TcpServer server(echo);
  ProxyUnderTest proxy;
  const std::string run = runId(24);
  auto oldChannel = channelListener();
  auto oldPort = listenTcp();
  proxy.publish(run, {{"tcp", server.port(), oldPort.port}}, {oldChannel.fd.get(), oldPort.fd.get()});
  oldChannel.fd.reset();
  oldPort.fd.reset();
  auto newChannel = channelListener();
  auto newPort = listenTcp();
  proxy.publish(run, {{"tcp", server.port(), newPort.port}}, {newChannel.fd.get(), newPort.fd.get()});
  newChannel.fd.reset();
  newPort.fd.reset();
  // Commands are handled in order: once another run's unpublish is answered, the old
  // publication has been closed.
  proxy.unpublish(runId(99));
  ASSERT_EQ(proxy.nextUnpublished(), runId(99));
  EXPECT_FALSE(connectTcp(oldPort.port)) << "the old listener still accepts";

  FakeInit init(newChannel.name);
  UniqueFd client = connectTcp(newPort.port);
  ASSERT_TRUE(client);
  ASSERT_TRUE(sendText(client.get(), "new"));
  EXPECT_EQ(readExactly(client.get(), 3), "new");

  proxy.unpublish(run);
  EXPECT_EQ(proxy.nextUnpublished(), run);
  EXPECT_TRUE(tcpPortFree(oldPort.port));
  EXPECT_TRUE(tcpPortFree(newPort.port));
}

TEST(Control, TheMonitorClosingTheChannelEndsTheProxy) {
  ProxyUnderTest proxy;
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish(runId(25), {{"tcp", 80, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  EXPECT_TRUE(proxy.closeAndJoin());
  EXPECT_TRUE(tcpPortFree(tcp.port));
}

/// Sends a malformed command, then proves the proxy handled it without harm: a later
/// command is still answered, and every descriptor it carried was closed.
class MalformedCommand : public ::testing::Test {
 protected:
  void expectStillServing() {
    proxy.unpublish(runId(98));
    EXPECT_EQ(proxy.nextUnpublished(), runId(98));
  }
  ProxyUnderTest proxy;
};

TEST_F(MalformedCommand, TooFewDescriptorsIsRefused) {
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish(runId(31), {{"tcp", 80, tcp.port}, {"tcp", 81, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
  EXPECT_TRUE(abstractNameFree(channel.name));
}

TEST_F(MalformedCommand, TooManyDescriptorsIsRefused) {
  auto channel = channelListener();
  auto tcp = listenTcp();
  auto extra = listenTcp();
  proxy.publish(runId(32), {{"tcp", 80, tcp.port}}, {channel.fd.get(), tcp.fd.get(), extra.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  extra.fd.reset();
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
  EXPECT_TRUE(tcpPortFree(extra.port));
}

TEST_F(MalformedCommand, AnUnknownProtocolIsRefused) {
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish(runId(33), {{"sctp", 80, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
}

TEST_F(MalformedCommand, PortZeroIsRefused) {
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish(runId(34), {{"tcp", 0, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
}

TEST_F(MalformedCommand, ARunThatIsNotAnIdIsRefused) {
  auto channel = channelListener();
  auto tcp = listenTcp();
  proxy.publish("../../etc", {{"tcp", 80, tcp.port}}, {channel.fd.get(), tcp.fd.get()});
  channel.fd.reset();
  tcp.fd.reset();
  proxy.unpublish("not hex");  // refused too: no answer
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
}

TEST_F(MalformedCommand, ADescriptorOfTheWrongKindIsRefused) {
  auto channel = channelListener();
  auto udp = bindUdp();
  proxy.publish(runId(35), {{"tcp", 80, udp.port}}, {channel.fd.get(), udp.fd.get()});  // udp for a tcp entry
  channel.fd.reset();
  udp.fd.reset();
  auto tcp = listenTcp();
  proxy.publish(runId(36), {{"tcp", 80, tcp.port}}, {tcp.fd.get(), tcp.fd.get()});  // a TCP socket as the channel
  tcp.fd.reset();
  expectStillServing();
  EXPECT_TRUE(udpPortFree(udp.port));
  EXPECT_TRUE(tcpPortFree(tcp.port));
  EXPECT_TRUE(abstractNameFree(channel.name));
  // A refused publish leaves nothing behind: unpublishing it is answered at once.
  proxy.unpublish(runId(35));
  EXPECT_EQ(proxy.nextUnpublished(), runId(35));
}

TEST_F(MalformedCommand, BytesThatAreNotAMessageAreRefused) {
  const std::byte garbage[] = {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}, std::byte{0xff},
                               std::byte{1},    std::byte{2},    std::byte{3},    std::byte{4}};
  proxy.sendRaw(garbage, {});
  proxy.sendRaw(std::span(garbage, 5), {});  // not whole words
  // A message that is some other struct: pointers that do not lead where a command's do.
  capnp::MallocMessageBuilder message;
  message.initRoot<ipc::proxy::ProxyEvent>().setUnpublished(std::string(200, 'x'));
  auto words = capnp::messageToFlatArray(message);
  proxy.sendRaw(std::as_bytes(std::span(words.asBytes().begin(), words.asBytes().size())), {});
  expectStillServing();
}

TEST_F(MalformedCommand, AnUnpublishWithDescriptorsIsRefused) {
  auto tcp = listenTcp();
  capnp::MallocMessageBuilder message;
  message.initRoot<ipc::proxy::ProxyCommand>().setUnpublish(runId(37));
  auto words = capnp::messageToFlatArray(message);
  proxy.sendRaw(std::as_bytes(std::span(words.asBytes().begin(), words.asBytes().size())), {tcp.fd.get()});
  tcp.fd.reset();
  expectStillServing();
  EXPECT_TRUE(tcpPortFree(tcp.port));
}

TEST(DecodeCommand, ChecksEveryField) {
  auto build = [](auto fill) {
    capnp::MallocMessageBuilder message;
    fill(message.initRoot<ipc::proxy::ProxyCommand>());
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    return std::vector<std::byte>(reinterpret_cast<const std::byte*>(bytes.begin()),
                                  reinterpret_cast<const std::byte*>(bytes.end()));
  };
  auto publishOf = [&](std::string run, std::string protocol, std::uint16_t port, std::string hostIp) {
    return build([&](ipc::proxy::ProxyCommand::Builder command) {
      auto publish = command.initPublish();
      publish.setRun(run);
      auto entry = publish.initPorts(1)[0];
      entry.setProtocol(protocol);
      entry.setContainerPort(port);
      entry.setHostIp(hostIp);
      entry.setHostPort(8080);
    });
  };
  auto twoFds = [] {
    std::vector<UniqueFd> fds;
    fds.emplace_back(::dup(2));
    fds.emplace_back(::dup(2));
    return fds;
  };
  const std::string run = runId(40);
  auto ok = decodeCommand(publishOf(run, "udp", 53, "::1"), twoFds());
  ASSERT_TRUE(ok) << ok.error().message;
  auto& publish = std::get<PublishCommand>(*ok);
  EXPECT_EQ(publish.run, run);
  ASSERT_EQ(publish.ports.size(), 1u);
  EXPECT_EQ(publish.ports[0].protocol, Protocol::Udp);
  EXPECT_EQ(publish.ports[0].containerPort, 53);
  EXPECT_EQ(publish.ports[0].hostIp, "::1");
  EXPECT_EQ(publish.sockets.size(), 1u);

  EXPECT_FALSE(decodeCommand(publishOf(run, "UDP", 53, "::1"), twoFds()));
  EXPECT_FALSE(decodeCommand(publishOf(run, "tcp", 53, "1.2.3.4\" forged=1"), twoFds()));
  EXPECT_FALSE(decodeCommand(publishOf(run.substr(1), "tcp", 53, "::1"), twoFds()));
  EXPECT_FALSE(decodeCommand(publishOf(std::string(64, 'A'), "tcp", 53, "::1"), twoFds()));
  EXPECT_FALSE(decodeCommand(publishOf(run, "tcp", 53, "::1"), {}));
  auto tooMany = build([&](ipc::proxy::ProxyCommand::Builder command) {
    auto ports = command.initPublish().initPorts(kMaxPortsPerPublish + 1);
    for (auto port : ports) {
      port.setProtocol("tcp");
      port.setContainerPort(80);
    }
    command.getPublish().setRun(run);
  });
  EXPECT_FALSE(decodeCommand(tooMany, {}));
  auto unpublish = decodeCommand(build([&](ipc::proxy::ProxyCommand::Builder c) { c.setUnpublish(run); }), {});
  ASSERT_TRUE(unpublish);
  EXPECT_EQ(std::get<UnpublishCommand>(*unpublish).run, run);
}

}  // namespace
}  // namespace dockerbox::proxy::test
