// Docker's -p and -P as the host bindings the monitor makes (containers/ports.hpp), and the
// monitor's binds themselves (monitor/published_ports.hpp).
#include "broker/containers/ports.hpp"
#include "broker/monitor/published_ports.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>

namespace dockerbox::broker::containers {
namespace {

TEST(Ports, ContainerPortsAsDockerWritesThem) {
  EXPECT_EQ(*parseContainerPort("80"), (std::pair<std::uint16_t, std::string>{80, "tcp"}));
  EXPECT_EQ(*parseContainerPort("80/tcp"), (std::pair<std::uint16_t, std::string>{80, "tcp"}));
  EXPECT_EQ(*parseContainerPort("53/UDP"), (std::pair<std::uint16_t, std::string>{53, "udp"}));
  for (const char* bad : {"", "0", "65536", "80/", "/tcp", "80/http", "8o", "-1", "80/tcp/x", "123456"}) {
    auto r = parseContainerPort(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::BadRequest) << bad;
    EXPECT_EQ(r.error().message, "invalid port specification: \"" + std::string(bad) + "\"");
  }
  EXPECT_EQ(parseContainerPort("132/sctp").error().kind, ErrorKind::NotImplemented);
}

TEST(Ports, EmptyHostIpIsTheDefaultAddressAndAddressesAreCanonical) {
  auto specs = publishSpecsOf({{"80/tcp", "", "8080"},
                               {"81", "0:0:0:0:0:0:0:1", ""},
                               {"82/udp", "[::]", "0"},
                               {"83", "0.0.0.0", "9000-9010"}},
                              false, {});
  ASSERT_TRUE(specs) << specs.error().message;
  ASSERT_EQ(specs->size(), 4U);
  EXPECT_EQ((*specs)[0], (PublishSpec{"tcp", 80, "127.0.0.1", 8080, 8080}));
  EXPECT_EQ((*specs)[1], (PublishSpec{"tcp", 81, "::1", 0, 0}));
  EXPECT_EQ((*specs)[2], (PublishSpec{"udp", 82, "::", 0, 0}));
  EXPECT_EQ((*specs)[3], (PublishSpec{"tcp", 83, "0.0.0.0", 9000, 9010}));
}

TEST(Ports, PublishAllAddsExposedPortsWithoutABindingOfTheirOwn) {
  auto specs = publishSpecsOf({{"80/tcp", "", "8080"}}, true, {"80/tcp", "443/tcp", "53/udp"});
  ASSERT_TRUE(specs);
  ASSERT_EQ(specs->size(), 3U);
  EXPECT_EQ((*specs)[1], (PublishSpec{"tcp", 443, "127.0.0.1", 0, 0}));
  EXPECT_EQ((*specs)[2], (PublishSpec{"udp", 53, "127.0.0.1", 0, 0}));
  // Without -P, exposed ports are not published.
  EXPECT_TRUE(publishSpecsOf({}, false, {"80/tcp"})->empty());
}

TEST(Ports, BadBindingsAreRefusedWithDockersMessages) {
  auto refused = [](PortSpec p) {
    auto r = publishSpecsOf({std::move(p)}, false, {});
    return r ? std::string() : r.error().message;
  };
  EXPECT_EQ(refused({"80", "localhost", "8080"}), "invalid IP address: localhost");
  EXPECT_EQ(refused({"80", "", "http"}), "invalid port specification: \"http\"");
  EXPECT_EQ(refused({"80", "", "70000"}), "invalid port specification: \"70000\"");
  EXPECT_EQ(refused({"80", "", "9010-9000"}), "invalid port specification: \"9010-9000\"");
  EXPECT_EQ(refused({"80", "", "1024-5000"}), "host port range 1024-5000 is too wide: dockerbox takes at most 1024 ports");
  std::vector<PortSpec> many(kMaxPublishedPorts + 1, PortSpec{"80", "", ""});
  auto tooMany = publishSpecsOf(many, false, {});
  ASSERT_FALSE(tooMany);
  EXPECT_EQ(tooMany.error().kind, ErrorKind::BadRequest);
}

std::uint16_t localPort(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  return ntohs(address.sin_port);
}

TEST(PublishedPorts, BindsListensAndReportsTheKernelsPick) {
  auto bound = monitor::bindHostPorts({PublishSpec{"tcp", 80, "127.0.0.1", 0, 0}, PublishSpec{"udp", 53, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(bound) << bound.error().message;
  ASSERT_EQ(bound->size(), 2U);
  const auto& tcp = (*bound)[0];
  EXPECT_NE(tcp.port.hostPort, 0);
  EXPECT_EQ(tcp.port.hostPort, localPort(tcp.fd.get()));
  int listening = 0;
  socklen_t length = sizeof listening;
  ASSERT_EQ(::getsockopt(tcp.fd.get(), SOL_SOCKET, SO_ACCEPTCONN, &listening, &length), 0);
  EXPECT_EQ(listening, 1);
  EXPECT_EQ((*bound)[1].port, (BoundPort{"udp", 53, "127.0.0.1", localPort((*bound)[1].fd.get())}));
}

TEST(PublishedPorts, ATakenPortIsDockersConflictAndARangeTakesTheNextFree) {
  auto first = monitor::bindHostPorts({PublishSpec{"tcp", 80, "127.0.0.1", 0, 0}});
  ASSERT_TRUE(first);
  const std::uint16_t taken = (*first)[0].port.hostPort;
  auto again = monitor::bindHostPorts({PublishSpec{"tcp", 80, "127.0.0.1", taken, taken}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(again.error().message, "Bind for 127.0.0.1:" + std::to_string(taken) + " failed: port is already allocated");
  if (taken < 65535) {
    auto range = monitor::bindHostPorts({PublishSpec{"tcp", 80, "127.0.0.1", taken, static_cast<std::uint16_t>(taken + 1)}});
    if (range) {
      EXPECT_EQ((*range)[0].port.hostPort, taken + 1);  // unless something else holds taken + 1
    }
  }
  // All or nothing: the first socket of a failing list is closed again.
  auto mixed = monitor::bindHostPorts(
      {PublishSpec{"tcp", 81, "127.0.0.1", 0, 0}, PublishSpec{"tcp", 80, "127.0.0.1", taken, taken}});
  EXPECT_FALSE(mixed);
}

}  // namespace
}  // namespace dockerbox::broker::containers
