#include "policy/policy.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::policy::test {
namespace {

TEST(ParsePolicy, EmptyTextIsTheEmptyPolicy) {
  auto policy = parseOk("");
  EXPECT_TRUE(policy.rules().empty());
  EXPECT_EQ(policy.settings().mode, Mode::Enforce);
  EXPECT_EQ(policy.settings().defaultVisibility, Visibility::Own);
}

TEST(ParsePolicy, ReadsEveryKey) {
  auto policy = parseOk(R"(
[settings]
mode = "audit"
default_visibility = "group"

[[rule]]
name = "members"
users = ["alice", "1001", 1002]
groups = ["dockerbox-users", "3000"]
allow = ["system.*", "containers.create", "images.list"]
mode = "enforce"
visibility = "all"
privileged = false
root_user = true
images = ["docker.io/library/*"]
network_modes = ["none", "bridge"]
max_memory = "2g"
default_memory = "512m"
max_cpus = 2.0
default_cpus = 1
bind_sources = ["{home}/**"]
bind_read_only = true
volumes = false
capabilities = ["cap_net_bind_service", "CHOWN"]
devices = ["/dev/fuse"]
publish_addresses = ["0:0:0:0:0:0:0:1", "192.168.1.10"]
publish_ports = ["8080", "30000-30100"]
)");
  ASSERT_EQ(policy.rules().size(), 1U);
  const Rule& r = policy.rules()[0];
  EXPECT_EQ(policy.settings().mode, Mode::Audit);
  EXPECT_EQ(policy.settings().defaultVisibility, Visibility::Group);
  EXPECT_EQ(r.name, "members");
  EXPECT_EQ(r.line, 6U);
  ASSERT_EQ(r.users.size(), 3U);
  EXPECT_FALSE(r.users[0].id);
  EXPECT_EQ(r.users[1].id, 1001U);
  EXPECT_EQ(r.users[2].id, 1002U);
  ASSERT_EQ(r.groups.size(), 2U);
  EXPECT_EQ(r.groups[1].id, 3000U);
  EXPECT_EQ(r.operations.size(), 5U);  // system.{version,info,events} + 2
  EXPECT_EQ(r.mode, Mode::Enforce);
  EXPECT_EQ(r.visibility, Visibility::All);
  EXPECT_EQ(r.rootUser, RootUser::Allowed);
  ASSERT_TRUE(r.images);
  EXPECT_EQ(r.images->size(), 1U);
  EXPECT_EQ(r.networkModes, (std::vector<std::string>{"none", "bridge"}));
  EXPECT_EQ(r.maxMemory, 2ULL << 30);
  EXPECT_EQ(r.defaultMemory, 512ULL << 20);
  EXPECT_EQ(r.maxNanoCpus, 2'000'000'000ULL);
  EXPECT_EQ(r.defaultNanoCpus, 1'000'000'000ULL);
  EXPECT_EQ(r.bindSources.size(), 1U);
  EXPECT_EQ(r.bindAccess, BindAccess::ReadOnlyRequired);
  EXPECT_EQ(r.volumes, NamedVolumes::Denied);
  EXPECT_EQ(r.capabilities, (std::vector<std::string>{"NET_BIND_SERVICE", "CHOWN"}));
  EXPECT_EQ(r.devices, (std::vector<std::string>{"/dev/fuse"}));
  EXPECT_EQ(r.publishAddresses, (std::vector<std::string>{"::1", "192.168.1.10"}));
  EXPECT_EQ(r.publishPorts, (std::vector<PortRange>{{8080, 8080}, {30000, 30100}}));
}

TEST(ParsePolicy, Defaults) {
  auto policy =
      parseOk("[[rule]]\nname = \"r\"\ngroups = [\"g\"]\nallow = [\"*\"]\nmax_memory = \"1g\"\n");
  ASSERT_EQ(policy.rules().size(), 1U);
  const Rule& r = policy.rules()[0];
  EXPECT_EQ(r.operations.size(), kOperations.size());
  EXPECT_FALSE(r.mode);
  EXPECT_FALSE(r.visibility);
  EXPECT_EQ(r.privileged, Privileged::Denied);
  EXPECT_EQ(r.rootUser, RootUser::Denied);
  EXPECT_FALSE(r.images);  // any image
  EXPECT_EQ(r.networkModes, (std::vector<std::string>{"default", "bridge", "none"}));
  EXPECT_EQ(r.defaultMemory, r.maxMemory);  // unset never means unlimited under a maximum
  EXPECT_FALSE(r.maxNanoCpus);
  EXPECT_TRUE(r.bindSources.empty());  // no binds
  EXPECT_EQ(r.bindAccess, BindAccess::ReadWriteAllowed);
  EXPECT_EQ(r.volumes, NamedVolumes::Allowed);
  EXPECT_TRUE(r.capabilities.empty());
  EXPECT_TRUE(r.devices.empty());
  EXPECT_EQ(r.publishAddresses, (std::vector<std::string>{"127.0.0.1", "::1"}));  // loopback
  EXPECT_EQ(r.publishPorts, (std::vector<PortRange>{{1024, 65535}}));
}

TEST(ParsePolicy, KnownOperationsComeFromTheCaller) {
  const std::string_view onlyTwo[] = {"system.version", "containers.list"};
  EXPECT_TRUE(parsePolicy("[[rule]]\nname='r'\nusers=['a']\nallow=['containers.list']", onlyTwo));
  EXPECT_FALSE(
      parsePolicy("[[rule]]\nname='r'\nusers=['a']\nallow=['containers.create']", onlyTwo));
  auto prefix = parsePolicy("[[rule]]\nname='r'\nusers=['a']\nallow=['containers.*']", onlyTwo);
  ASSERT_TRUE(prefix);
  EXPECT_EQ(prefix->rules()[0].operations.size(), 1U);
}

struct ErrorCase {
  const char* name;
  std::string text;
  std::uint32_t line;
  std::uint32_t column;
  const char* needle;
};

// Every case: a file that must be refused, where, and a word the message must contain.
const ErrorCase kErrors[] = {
    {"syntax", "[[rule]\nname = 1", 1, 8, "expected"},
    {"unknown_top_key", "colour = 1", 1, 1, "unknown top-level key 'colour'"},
    {"unknown_settings_key", "[settings]\nmod = 'audit'", 2, 1, "unknown key 'mod'"},
    {"bad_mode", "[settings]\nmode = 'loud'", 2, 8, "enforce"},
    {"bad_default_visibility", "[settings]\ndefault_visibility = 'everyone'", 2, 22, "own"},
    {"settings_not_table", "settings = 1", 1, 12, "must be a table"},
    {"rule_not_array", "[rule]\nname = 'r'", 1, 1, "[[rule]]"},
    {"unknown_rule_key", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nalow=['*']", 5, 1,
     "unknown key 'alow'"},
    {"allow_not_array", "[[rule]]\nname='r'\nusers=['a']\nallow='*'", 4, 7, "must be an array"},
    {"unknown_operation",
     "[[rule]]\nname='r'\nusers=['a']\nallow=['containers.list', 'containers.explode']", 4, 27,
     "unknown operation 'containers.explode'"},
    {"prefix_matches_nothing", "[[rule]]\nname='r'\nusers=['a']\nallow=['swarm.*']", 4, 8,
     "matches no known"},
    {"glob_in_middle", "[[rule]]\nname='r'\nusers=['a']\nallow=['cont*']", 4, 8, "only"},
    {"missing_name", "[[rule]]\nusers=['a']\nallow=['*']", 1, 1, "no name"},
    {"missing_allow", "[[rule]]\nname='r'\nusers=['a']", 1, 1, "no allow"},
    {"empty_allow", "[[rule]]\nname='r'\nusers=['a']\nallow=[]", 4, 7, "never apply"},
    {"no_subjects", "[[rule]]\nname='r'\nallow=['*']", 1, 1, "match nobody"},
    {"bad_name", "[[rule]]\nname='a rule'\nusers=['a']\nallow=['*']", 2, 6, "name must be"},
    {"duplicate_name",
     "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\n[[rule]]\nname='r'\nusers=['b']\nallow=['*']",
     5, 1, "duplicate rule name 'r' (first at line 1)"},
    {"user_wrong_type", "[[rule]]\nname='r'\nusers=[true]\nallow=['*']", 3, 8, "must be a string"},
    {"user_id_range", "[[rule]]\nname='r'\nusers=['99999999999']\nallow=['*']", 3, 8,
     "out of range"},
    {"group_negative", "[[rule]]\nname='r'\ngroups=[-1]\nallow=['*']", 3, 9, "out of range"},
    {"empty_user", "[[rule]]\nname='r'\nusers=['']\nallow=['*']", 3, 8, "must not be empty"},
    {"bad_size", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_memory='2 gigs'", 5, 12,
     "unknown unit"},
    {"zero_size", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_memory=0", 5, 12,
     "above zero"},
    {"default_above_max",
     "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_memory='1g'\ndefault_memory='2g'", 6, 16,
     "default_memory is above max_memory"},
    {"cpus_above_max", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_cpus=1\ndefault_cpus=1.5",
     6, 14, "default_cpus is above max_cpus"},
    {"cpus_wrong_type", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_cpus='2'", 5, 10,
     "must be a number"},
    {"cpus_negative", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nmax_cpus=-1.0", 5, 10,
     "above 0"},
    {"dotdot_pattern",
     "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nbind_sources=['{home}/../etc/**']", 5, 15,
     "'..'"},
    {"relative_pattern", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nbind_sources=['data/**']",
     5, 15, "absolute"},
    {"bad_image", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nimages=['alpine']", 5, 9,
     "normalised reference"},
    {"bad_network", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nnetwork_modes=['container:db']",
     5, 16, "write \"container\""},
    {"bad_capability", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\ncapabilities=['SYS_ADMINZ']",
     5, 15, "not a Linux capability"},
    {"bad_device", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\ndevices=['/dev/../sda']", 5, 10,
     "normalised"},
    {"bad_publish_address",
     "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\npublish_addresses=['::1', '0.0.0.0.0']", 5,
     27, "publish_addresses entry '0.0.0.0.0': not an IPv4 or IPv6 address"},
    {"bad_publish_port", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\npublish_ports=['80-8']",
     5, 16, "publish_ports entry '80-8': the first port is above the second"},
    {"bool_wrong_type", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nprivileged='yes'", 5, 12,
     "true or false"},
    {"bad_rule_visibility", "[[rule]]\nname='r'\nusers=['a']\nallow=['*']\nvisibility='mine'", 5,
     12, "own"},
    {"control_char", "[[rule]]\nname='r'\nusers=[\"a\\u0007\"]\nallow=['*']", 3, 8,
     "control characters"},
};

class ParseErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseErrors, CarryLineAndColumn) {
  const auto& c = GetParam();
  auto result = parse(c.text);
  ASSERT_FALSE(result) << "accepted:\n" << c.text;
  const auto& diagnostics = result.error().diagnostics;
  ASSERT_FALSE(diagnostics.empty());
  const auto& d = diagnostics.front();
  EXPECT_EQ(d.source, "test.toml");
  EXPECT_EQ(d.line, c.line) << d.toString();
  EXPECT_EQ(d.column, c.column) << d.toString();
  EXPECT_NE(d.message.find(c.needle), std::string::npos) << d.toString();
  EXPECT_EQ(d.toString().rfind(
                "test.toml:" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": ", 0),
            0U)
      << d.toString();
}

INSTANTIATE_TEST_SUITE_P(Table, ParseErrors, ::testing::ValuesIn(kErrors),
                         [](const auto& param) { return std::string(param.param.name); });

TEST(ParsePolicy, ReportsEveryErrorInFileOrder) {
  auto result = parse(
      "[[rule]]\nname='r'\nusers=['a']\nallow=['nope']\nmax_memory='x'\n[settings]\nmode='x'\n");
  ASSERT_FALSE(result);
  const auto& d = result.error().diagnostics;
  ASSERT_EQ(d.size(), 3U) << result.error().toString();
  EXPECT_EQ(d[0].line, 4U);
  EXPECT_EQ(d[1].line, 5U);
  EXPECT_EQ(d[2].line, 7U);
  EXPECT_NE(d[0].message.find("rule 'r': "), std::string::npos);
  EXPECT_NE(d[2].message.find("[settings]: "), std::string::npos);
}

TEST(ParsePolicy, CapsTheNumberOfDiagnostics) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "key" + std::to_string(i) + " = 1\n";
  auto result = parse(text);
  ASSERT_FALSE(result);
  EXPECT_LE(result.error().diagnostics.size(), 51U);
}

TEST(ParsePolicy, RefusesOversizedText) {
  std::string text(kMaxPolicyBytes + 1, '#');
  auto result = parse(text);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().toString().find("larger than"), std::string::npos);
}

TEST(ParsePolicy, TextIsAsciiAndOtherCharactersAreEscaped) {
  auto result = parse("[[rule]]\nname='r' # caf\xc3\xa9\nusers=['a']\nallow=['*']");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().diagnostics.at(0).toString().rfind("test.toml:2:15: non-ASCII", 0), 0U)
      << result.error().toString();
  auto escaped = parseOk("[[rule]]\nname='r'\nusers=[\"J\\u00fcrgen\"]\nallow=['*']");
  ASSERT_EQ(escaped.rules().size(), 1U);
  EXPECT_EQ(escaped.rules()[0].users.at(0).name, "J\xc3\xbcrgen");
}

TEST(ParsePolicy, RefusesInvalidUtf8AndNul) {
  EXPECT_FALSE(parse("[[rule]]\nname='\xff'\nusers=['a']\nallow=['*']"));
  EXPECT_FALSE(parse(std::string("[[rule]]\nname='a\0b'\nusers=['a']\nallow=['*']", 40)));
}

}  // namespace
}  // namespace dockerbox::policy::test
