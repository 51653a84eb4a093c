// Published ports: publish_addresses and publish_ports, parsed and evaluated.
#include "policy/evaluator.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dockerbox::policy::test {
namespace {

PortPublish publish(std::string hostIp, std::uint16_t hostPort, std::uint16_t containerPort = 80,
                    std::string protocol = "tcp") {
  return PortPublish{std::move(protocol), std::move(hostIp), hostPort, containerPort};
}

Request createPublishing(std::vector<PortPublish> ports) {
  ContainerSpec spec;
  spec.ports = std::move(ports);
  return create(std::move(spec));
}

// A rule for alice with `keys` (TOML lines) added.
Policy aliceRule(const std::string& keys = {}) {
  return parseOk("[[rule]]\nname = 'r'\nusers = ['alice']\nallow = ['*']\n" + keys);
}

const Rule& onlyRule(const Policy& policy) {
  static const Rule kNone;
  if (policy.rules().size() != 1) {
    ADD_FAILURE() << "expected one rule, got " << policy.rules().size();
    return kNone;
  }
  return policy.rules()[0];
}

Decision decide(const Policy& policy, std::vector<PortPublish> ports) {
  return evaluate(policy, alice(), createPublishing(std::move(ports)));
}

// --- parsing ---------------------------------------------------------------------------------

TEST(PublishParse, DefaultsAreLoopbackAndUnprivilegedPorts) {
  auto policy = aliceRule();
  const Rule& r = onlyRule(policy);
  EXPECT_EQ(r.publishAddresses, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(r.publishPorts, (std::vector<PortRange>{{1024, 65535}}));
}

TEST(PublishParse, AddressesAreNormalised) {
  auto policy = aliceRule(
      "publish_addresses = ['0:0:0:0:0:0:0:1', '::0001', 'FE80::0:1', '10.0.0.1', '*', '::', "
      "'::FFFF:127.0.0.1', '2001:db8:0:0:1:0:0:1']");
  EXPECT_EQ(onlyRule(policy).publishAddresses,
            (std::vector<std::string>{"::1", "::1", "fe80::1", "10.0.0.1", "*", "::",
                                      "::ffff:127.0.0.1", "2001:db8::1:0:0:1"}));
}

TEST(PublishParse, PortRangesAndSinglePorts) {
  auto policy = aliceRule("publish_ports = ['8080', '1-1023', '65535', '30000-30000', '00443']");
  EXPECT_EQ(onlyRule(policy).publishPorts,
            (std::vector<PortRange>{{8080, 8080}, {1, 1023}, {65535, 65535}, {30000, 30000},
                                    {443, 443}}));
}

TEST(PublishParse, EmptyListsAreKeptEmpty) {
  auto policy = aliceRule("publish_addresses = []\npublish_ports = []");
  EXPECT_TRUE(onlyRule(policy).publishAddresses.empty());
  EXPECT_TRUE(onlyRule(policy).publishPorts.empty());
  // Giving one key leaves the other at its default.
  auto onlyAddresses = aliceRule("publish_addresses = ['*']");
  EXPECT_EQ(onlyRule(onlyAddresses).publishPorts, (std::vector<PortRange>{{1024, 65535}}));
  auto onlyPorts = aliceRule("publish_ports = ['80']");
  EXPECT_EQ(onlyRule(onlyPorts).publishAddresses,
            (std::vector<std::string>{"127.0.0.1", "::1"}));
}

struct ParseError {
  const char* name;
  const char* line;  // line 5 of the rule
  std::uint32_t column;
  const char* needle;
};

const ParseError kParseErrors[] = {
    {"host_name", "publish_addresses = ['localhost']", 22,
     "publish_addresses entry 'localhost': not an IPv4 or IPv6 address"},
    {"second_entry", "publish_addresses = ['127.0.0.1', '127.0.0.256']", 35, "'127.0.0.256'"},
    {"short_ipv4", "publish_addresses = ['127.1']", 22, "not an IPv4 or IPv6 address"},
    {"leading_zero", "publish_addresses = ['010.0.0.1']", 22, "not an IPv4 or IPv6 address"},
    {"zone", "publish_addresses = ['fe80::1%eth0']", 22, "not an IPv4 or IPv6 address"},
    {"brackets", "publish_addresses = ['[::1]']", 22, "not an IPv4 or IPv6 address"},
    {"with_port", "publish_addresses = ['127.0.0.1:80']", 22, "not an IPv4 or IPv6 address"},
    {"space", "publish_addresses = [' 127.0.0.1']", 22, "not an IPv4 or IPv6 address"},
    {"empty_address", "publish_addresses = ['']", 22, "empty"},
    {"too_long", "publish_addresses = ['1111:2222:3333:4444:5555:6666:7777:8888:9999:0000']", 22,
     "not an IPv4 or IPv6 address"},
    {"address_not_string", "publish_addresses = [127]", 22, "must be a string"},
    {"addresses_not_array", "publish_addresses = '*'", 21, "must be an array"},
    {"port_zero", "publish_ports = ['0']", 18, "port 0 is out of range (ports are 1-65535)"},
    {"port_too_high", "publish_ports = ['1024-65536']", 18, "port 65536 is out of range"},
    {"port_huge", "publish_ports = ['99999999999999999999']", 18, "expected a port"},
    {"port_reversed", "publish_ports = ['2000-1000']", 18, "the first port is above the second"},
    {"port_star", "publish_ports = ['*']", 18, "write \"1-65535\""},
    {"port_open_range", "publish_ports = ['1024-']", 18, "expected a port"},
    {"port_negative", "publish_ports = ['-80']", 18, "expected a port"},
    {"port_three_parts", "publish_ports = ['1-2-3']", 18, "expected a port"},
    {"port_spaces", "publish_ports = ['1024 - 2048']", 18, "expected a port"},
    {"port_name", "publish_ports = ['http']", 18, "expected a port"},
    {"port_integer", "publish_ports = [8080]", 18, "must be a string"},
    {"ports_not_array", "publish_ports = '8080'", 17, "must be an array"},
};

class PublishParseErrors : public ::testing::TestWithParam<ParseError> {};

TEST_P(PublishParseErrors, CarryLineAndColumn) {
  const auto& c = GetParam();
  auto result = parse(std::string("[[rule]]\nname='r'\nusers=['a']\nallow=['*']\n") + c.line);
  ASSERT_FALSE(result) << c.line;
  const Diagnostic d = result.error().diagnostics.at(0);  // error() returns a copy
  EXPECT_EQ(d.toString().rfind("test.toml:5:" + std::to_string(c.column) + ": rule 'r': ", 0), 0U)
      << d.toString();
  EXPECT_NE(d.message.find(c.needle), std::string::npos) << d.toString();
}

INSTANTIATE_TEST_SUITE_P(Table, PublishParseErrors, ::testing::ValuesIn(kParseErrors),
                         [](const auto& param) { return std::string(param.param.name); });

// --- evaluation ------------------------------------------------------------------------------

TEST(PublishEvaluate, NoPortsNoQuestion) {
  EXPECT_TRUE(decide(aliceRule("publish_addresses = []\npublish_ports = []"), {}).allowed());
}

TEST(PublishEvaluate, LoopbackIsAllowedByDefault) {
  auto policy = aliceRule();
  EXPECT_TRUE(decide(policy, {publish("127.0.0.1", 8080)}).allowed());
  EXPECT_TRUE(decide(policy, {publish("::1", 8080)}).allowed());
  EXPECT_TRUE(decide(policy, {publish("0:0:0:0:0:0:0:1", 8080)}).allowed());  // also ::1
  EXPECT_TRUE(decide(policy, {publish("127.0.0.1", 1024), publish("::1", 65535, 443)}).allowed());
}

TEST(PublishEvaluate, AllAddressesAreDeniedByDefault) {
  auto policy = aliceRule();
  auto d = decide(policy, {publish("0.0.0.0", 8080)});
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.rule, "r");
  EXPECT_EQ(d.reason, "publishing port 80/tcp on 0.0.0.0:8080 is not allowed (publish_addresses)");
  EXPECT_EQ(denialMessage(d),
            "denied by policy rule r: publishing port 80/tcp on 0.0.0.0:8080 is not allowed "
            "(publish_addresses)");
  d = decide(policy, {publish("0:0::0", 8080, 8000)});
  EXPECT_EQ(d.reason, "publishing port 8000/tcp on [::]:8080 is not allowed (publish_addresses)");
  // Other loopback addresses are not the listed ones, nor is the IPv4-mapped spelling.
  for (const char* other : {"127.0.0.2", "192.168.1.10", "::ffff:127.0.0.1", "fe80::1"}) {
    EXPECT_FALSE(decide(policy, {publish(other, 8080)}).allowed()) << other;
  }
}

TEST(PublishEvaluate, StarAllowsEveryAddress) {
  auto policy = aliceRule("publish_addresses = ['*']");
  for (const char* address : {"0.0.0.0", "::", "127.0.0.1", "192.168.1.10", "fe80::1"}) {
    EXPECT_TRUE(decide(policy, {publish(address, 8080)}).allowed()) << address;
  }
}

TEST(PublishEvaluate, ListedAddressesMatchInAnySpelling) {
  auto policy = aliceRule("publish_addresses = ['0:0:0:0:0:0:0:1', '2001:DB8::10', '10.1.2.3']");
  EXPECT_TRUE(decide(policy, {publish("::1", 8080)}).allowed());
  EXPECT_TRUE(decide(policy, {publish("2001:db8:0:0:0:0:0:10", 8080)}).allowed());
  EXPECT_TRUE(decide(policy, {publish("10.1.2.3", 8080)}).allowed());
  EXPECT_FALSE(decide(policy, {publish("127.0.0.1", 8080)}).allowed());
  auto d = decide(policy, {publish("2001:db8::11", 8080)});
  EXPECT_EQ(d.reason,
            "publishing port 80/tcp on [2001:db8::11]:8080 is not allowed (publish_addresses)");
}

TEST(PublishEvaluate, PrivilegedPortsAreDeniedByDefault) {
  auto policy = aliceRule();
  auto d = decide(policy, {publish("127.0.0.1", 80)});
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason, "host port 80 is not allowed (publish_ports: 1024-65535)");
  EXPECT_FALSE(decide(policy, {publish("127.0.0.1", 1023)}).allowed());
  EXPECT_FALSE(decide(policy, {publish("127.0.0.1", 1)}).allowed());
}

TEST(PublishEvaluate, PortRangesAreInclusive) {
  auto policy = aliceRule("publish_ports = ['80', '8000-8099']");
  for (std::uint16_t port : {80, 8000, 8050, 8099})
    EXPECT_TRUE(decide(policy, {publish("127.0.0.1", port)}).allowed()) << port;
  for (std::uint16_t port : {79, 81, 7999, 8100, 65535})
    EXPECT_FALSE(decide(policy, {publish("127.0.0.1", port)}).allowed()) << port;
  EXPECT_EQ(decide(policy, {publish("127.0.0.1", 443)}).reason,
            "host port 443 is not allowed (publish_ports: 80, 8000-8099)");
}

TEST(PublishEvaluate, RandomPortIsAllowedWhenPublishingIs) {
  EXPECT_TRUE(decide(aliceRule(), {publish("127.0.0.1", 0)}).allowed());
  EXPECT_TRUE(decide(aliceRule("publish_ports = ['8080']"), {publish("::1", 0)}).allowed());
  // ... but only on an allowed address,
  auto d = decide(aliceRule(), {publish("0.0.0.0", 0)});
  EXPECT_EQ(d.reason, "publishing port 80/tcp on 0.0.0.0:0 is not allowed (publish_addresses)");
  // and not when the rule allows no publishing.
  d = decide(aliceRule("publish_ports = []"), {publish("127.0.0.1", 0)});
  EXPECT_EQ(d.reason, "host port 0 (random) is not allowed (publish_ports: none)");
  EXPECT_FALSE(decide(aliceRule("publish_addresses = []"), {publish("127.0.0.1", 0)}).allowed());
}

TEST(PublishEvaluate, EmptyListsAllowNoPublishing) {
  auto noAddresses = aliceRule("publish_addresses = []");
  auto d = decide(noAddresses, {publish("127.0.0.1", 8080)});
  EXPECT_EQ(d.reason, "publishing port 80/tcp on 127.0.0.1:8080 is not allowed (publish_addresses)");
  auto noPorts = aliceRule("publish_addresses = ['*']\npublish_ports = []");
  d = decide(noPorts, {publish("0.0.0.0", 8080)});
  EXPECT_EQ(d.reason, "host port 8080 is not allowed (publish_ports: none)");
}

TEST(PublishEvaluate, UdpIsJudgedLikeTcp) {
  auto policy = aliceRule();
  EXPECT_TRUE(decide(policy, {publish("127.0.0.1", 5353, 53, "udp")}).allowed());
  EXPECT_TRUE(decide(policy, {publish("::1", 0, 53, "udp")}).allowed());
  auto d = decide(policy, {publish("0.0.0.0", 5353, 53, "udp")});
  EXPECT_EQ(d.reason, "publishing port 53/udp on 0.0.0.0:5353 is not allowed (publish_addresses)");
  d = decide(policy, {publish("127.0.0.1", 53, 53, "udp")});
  EXPECT_EQ(d.reason, "host port 53 is not allowed (publish_ports: 1024-65535)");
  auto open = aliceRule("publish_addresses = ['*']\npublish_ports = ['1-65535']");
  EXPECT_TRUE(decide(open, {publish("0.0.0.0", 53, 53, "udp")}).allowed());
}

TEST(PublishEvaluate, WhatThePolicyCannotJudgeIsDenied) {
  auto open = aliceRule("publish_addresses = ['*']\npublish_ports = ['1-65535']");
  for (const char* protocol : {"sctp", "", "TCP", "tcp6"}) {
    auto d = decide(open, {publish("127.0.0.1", 8080, 80, protocol)});
    EXPECT_FALSE(d.allowed()) << protocol;
    EXPECT_NE(d.reason.find("(only tcp and udp can be published)"), std::string::npos) << d.reason;
  }
  // "*" allows any address, not any text: the broker must pass the address it will bind.
  for (const char* address : {"", "localhost", "127.1", "[::1]", "fe80::1%eth0", "0.0.0.0 "}) {
    auto d = decide(open, {publish(address, 8080)});
    EXPECT_FALSE(d.allowed()) << address;
    EXPECT_NE(d.reason.find("(the host address is not an IP address)"), std::string::npos)
        << d.reason;
  }
  auto d = decide(open, {publish("x" + std::string(10000, 'y'), 8080)});
  EXPECT_LT(d.reason.size(), 300U);
  d = decide(open, {publish(std::string("127.0.0.1\0x", 11), 8080)});
  EXPECT_FALSE(d.allowed());
}

TEST(PublishEvaluate, EveryRefusalIsReported) {
  auto d = decide(aliceRule(), {publish("127.0.0.1", 8080), publish("0.0.0.0", 80),
                                publish("::1", 443, 443, "udp")});
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason,
            "publishing port 80/tcp on 0.0.0.0:80 is not allowed (publish_addresses); "
            "host port 80 is not allowed (publish_ports: 1024-65535); "
            "host port 443 is not allowed (publish_ports: 1024-65535)");
}

TEST(PublishEvaluate, ManyRefusalsAreCounted) {
  // The broker passes a host range (-p 1-1023:80) as one binding per port.
  std::vector<PortPublish> ports;
  for (std::uint16_t port = 1; port <= 1023; ++port) ports.push_back(publish("127.0.0.1", port));
  auto d = decide(aliceRule(), ports);
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.reason.rfind("host port 1 is not allowed (publish_ports: 1024-65535); ", 0), 0U);
  EXPECT_NE(d.reason.find("host port 8 is not allowed"), std::string::npos) << d.reason;
  EXPECT_EQ(d.reason.find("host port 9 is not allowed"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("; and 1015 more published port refusals"), std::string::npos)
      << d.reason;
  EXPECT_LT(d.reason.size(), 1000U);
  // Other refusals are not counted against the ports' share.
  ContainerSpec spec;
  spec.ports = ports;
  spec.privileged = true;
  d = evaluate(aliceRule(), alice(), create(spec));
  EXPECT_NE(d.reason.find("privileged mode"), std::string::npos) << d.reason;
  // Nine refusals: eight shown, one counted; eight: all shown.
  ports.resize(9);
  EXPECT_NE(decide(aliceRule(), ports).reason.find("; and 1 more published port refusal"),
            std::string::npos);
  ports.resize(8);
  EXPECT_EQ(decide(aliceRule(), ports).reason.find("more published port refusals"),
            std::string::npos);
}

TEST(PublishEvaluate, PrivilegedGrantsNoPorts) {
  auto policy = parseOk(
      "[[rule]]\nname='root'\nusers=['root']\nallow=['*']\nprivileged=true\nroot_user=true\n"
      "network_modes=['*']\nbind_sources=['/**']\ncapabilities=['ALL']");
  auto d = evaluate(policy, root(), createPublishing({publish("0.0.0.0", 80)}));
  EXPECT_FALSE(d.allowed());
  EXPECT_NE(d.reason.find("(publish_addresses)"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("host port 80 is not allowed"), std::string::npos) << d.reason;
}

TEST(PublishEvaluate, AuditModeAllowsButFlags) {
  auto policy = aliceRule("mode = 'audit'");
  auto d = decide(policy, {publish("0.0.0.0", 80)});
  EXPECT_TRUE(d.allowed());
  EXPECT_TRUE(d.wouldDeny);
  EXPECT_NE(d.reason.find("publishing port 80/tcp on 0.0.0.0:80"), std::string::npos) << d.reason;
  d = decide(policy, {publish("127.0.0.1", 8080)});
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.wouldDeny);
}

TEST(PublishEvaluate, StartIsJudgedOnTheStoredSpec) {
  Request start = createPublishing({publish("0.0.0.0", 8080)});
  start.operation = "containers.start";
  EXPECT_FALSE(evaluate(aliceRule(), alice(), start).allowed());
}

TEST(PublishExplain, ShowsEveryRefusedBinding) {
  auto e = explain(aliceRule(), alice(), createPublishing({publish("0.0.0.0", 80)}));
  EXPECT_FALSE(e.decision.allowed());
  ASSERT_EQ(e.trace.size(), 1U);
  EXPECT_EQ(e.trace[0].violations,
            (std::vector<std::string>{
                "publishing port 80/tcp on 0.0.0.0:80 is not allowed (publish_addresses)",
                "host port 80 is not allowed (publish_ports: 1024-65535)"}));
  auto text = e.toString();
  EXPECT_NE(text.find("violation: host port 80 is not allowed (publish_ports: 1024-65535)"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace dockerbox::policy::test
