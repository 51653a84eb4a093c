#include "policy/values.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace dockerbox::policy {
namespace {

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;

TEST(ParseSize, Accepts) {
  struct Case {
    const char* text;
    std::uint64_t bytes;
  };
  const Case cases[] = {
      {"1", 1},
      {"100b", 100},
      {"1k", kKiB},
      {"1kb", kKiB},
      {"1KiB", kKiB},
      {"512m", 512 * kMiB},
      {"512M", 512 * kMiB},
      {"2g", 2 * kGiB},
      {"2 g", 2 * kGiB},
      {"2GB", 2 * kGiB},
      {"1.5g", kGiB + kGiB / 2},
      {"0.5k", 512},
      {"1t", kGiB * 1024},
      {"1p", kGiB * kMiB},
  };
  for (const auto& c : cases) {
    auto got = parseSize(c.text);
    ASSERT_TRUE(got) << c.text << ": " << got.error().message;
    EXPECT_EQ(*got, c.bytes) << c.text;
  }
}

TEST(ParseSize, Refuses) {
  for (const char* text :
       {"", "g", "0", "0g", "-1g", "1x", "1gg", "1bb", "1.g", ".5g", "1.0000000001g", "1 2g",
        "8192p", "99999999999999999999", "2g ", " 2g", "1e9"}) {
    EXPECT_FALSE(parseSize(text)) << text;
  }
}

TEST(CpusToNanoCpus, Table) {
  EXPECT_EQ(*cpusToNanoCpus(1.0), 1'000'000'000U);
  EXPECT_EQ(*cpusToNanoCpus(0.5), 500'000'000U);
  EXPECT_EQ(*cpusToNanoCpus(2.25), 2'250'000'000U);
  for (double bad : {0.0, -1.0, 5000.0, 1e-12, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_FALSE(cpusToNanoCpus(bad)) << bad;
  }
}

TEST(Capabilities, NormaliseAndKnow) {
  EXPECT_EQ(normaliseCapability("cap_net_admin"), "NET_ADMIN");
  EXPECT_EQ(normaliseCapability("NET_ADMIN"), "NET_ADMIN");
  EXPECT_EQ(normaliseCapability("Cap_Sys_Admin"), "SYS_ADMIN");
  EXPECT_EQ(normaliseCapability("all"), "ALL");
  EXPECT_TRUE(isKnownCapability("SYS_ADMIN"));
  EXPECT_TRUE(isKnownCapability("ALL"));
  EXPECT_FALSE(isKnownCapability("SYS_ADMINX"));
  EXPECT_FALSE(isKnownCapability(""));
}

TEST(NormaliseIpAddress, OneSpellingPerAddress) {
  struct Case {
    const char* text;
    const char* normalised;
  };
  const Case cases[] = {
      {"127.0.0.1", "127.0.0.1"},
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
      {"::1", "::1"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"0000:0000:0000:0000:0000:0000:0000:0001", "::1"},
      {"::", "::"},
      {"0:0:0:0:0:0:0:0", "::"},
      {"FE80::1", "fe80::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"::ffff:127.0.0.1", "::ffff:127.0.0.1"},  // stays IPv6
      {"::FFFF:7f00:1", "::ffff:127.0.0.1"},
  };
  for (const auto& c : cases) {
    auto got = normaliseIpAddress(c.text);
    ASSERT_TRUE(got) << c.text << ": " << got.error().message;
    EXPECT_EQ(*got, c.normalised) << c.text;
  }
  EXPECT_TRUE(isIpv6("::1"));
  EXPECT_TRUE(isIpv6("::ffff:127.0.0.1"));
  EXPECT_FALSE(isIpv6("127.0.0.1"));
}

TEST(NormaliseIpAddress, Refuses) {
  for (const char* text :
       {"", "*", "localhost", "127.1", "127.0.0", "127.0.0.1.1", "127.0.0.256", "010.0.0.1",
        "0x7f.0.0.1", " 127.0.0.1", "127.0.0.1 ", "[::1]", "::1%lo", "fe80::1%eth0", ":::",
        "1::2::3", "127.0.0.1:80", "12345::", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_FALSE(normaliseIpAddress(text)) << text;
  }
  EXPECT_FALSE(normaliseIpAddress(std::string_view("127.0.0.1\0garbage", 17)));
  EXPECT_FALSE(normaliseIpAddress(std::string(100000, '1')));
}

TEST(ParsePortRange, Accepts) {
  EXPECT_EQ(*parsePortRange("8080"), (PortRange{8080, 8080}));
  EXPECT_EQ(*parsePortRange("1-65535"), (PortRange{1, 65535}));
  EXPECT_EQ(*parsePortRange("1024-65535"), (PortRange{1024, 65535}));
  EXPECT_EQ(*parsePortRange("443-443"), (PortRange{443, 443}));
  EXPECT_EQ(*parsePortRange("00080"), (PortRange{80, 80}));
  EXPECT_EQ(PortRange({80, 80}).toString(), "80");
  EXPECT_EQ(PortRange({1024, 65535}).toString(), "1024-65535");
  EXPECT_TRUE(PortRange({1024, 2048}).contains(1024));
  EXPECT_TRUE(PortRange({1024, 2048}).contains(2048));
  EXPECT_FALSE(PortRange({1024, 2048}).contains(1023));
  EXPECT_FALSE(PortRange({1024, 2048}).contains(2049));
}

TEST(ParsePortRange, Refuses) {
  for (const char* text : {"", "0", "65536", "0-80", "80-65536", "2-1", "*", "-", "-80", "80-",
                           "1-2-3", " 80", "80 ", "1 - 2", "+80", "8o", "000000080", "http"}) {
    EXPECT_FALSE(parsePortRange(text)) << text;
  }
}

TEST(ClassifyUser, EverySpellingOfRootIsRoot) {
  for (const char* user : {"0", "00", "000", "0:0", "00:00", "root", "root:root", "ROOT", "Root:x",
                           "0:1000", "1000:0", "1000:root", "alice:0"}) {
    EXPECT_EQ(classifyUser(user), ContainerUser::Root) << user;
  }
}

TEST(ClassifyUser, OtherUsers) {
  EXPECT_EQ(classifyUser(""), ContainerUser::Unspecified);
  for (const char* user : {"1000", "1000:1000", "alice", "alice:staff", "nobody", "65534",
                           "4294967295", "01", "0x0", "0abc"}) {
    EXPECT_EQ(classifyUser(user), ContainerUser::NonRoot) << user;
  }
  // Spellings the policy cannot judge fail closed.
  for (const char* user : {"4294967296", "18446744073709551616", "0:0:0", ":0", "0:", ":", " 0",
                           "0 ", "+0", "-0", "-1", "r\xC3\xB6ot", "a/b", "root\n"}) {
    EXPECT_EQ(classifyUser(user), ContainerUser::Invalid) << user;
  }
}

}  // namespace
}  // namespace dockerbox::policy
