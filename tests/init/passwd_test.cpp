#include "init/passwd.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace dockerbox::init {
namespace {

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
    "nohome:x:1001:1001::\n"
    "broken:x:zero:0:bad uid, skipped:/:/bin/sh\n"
    "huge:x:2147483648:1:out of range, skipped:/:/bin/sh\n"
    "  spaced:x:1002:1002::/home/spaced:/bin/sh  \r\n"
    "alice:x:2000:2000:second alice, ignored:/x:/bin/sh\n";

constexpr std::string_view kGroup =
    "root:x:0:root\n"
    "wheel:x:10:root,alice\n"
    "staff:x:50:bob,alice\n"
    "alice:x:1000:\n"
    "bad:x:nan:alice\n"
    "users:x:100:\n"
    "staff:x:51:alice\n";

struct Case {
  std::string_view spec;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
  std::string_view home;
};

TEST(ResolveUser, FollowsRuncGetExecUser) {
  const std::vector<Case> cases = {
      {"", 0, 0, {0, 10}, "/root"},
      {"root", 0, 0, {0, 10}, "/root"},
      {"0", 0, 0, {0, 10}, "/root"},
      {"alice", 1000, 1000, {10, 50, 51, 1000}, "/home/alice"},
      {"1000", 1000, 1000, {10, 50, 51, 1000}, "/home/alice"},
      {"alice:staff", 1000, 50, {50}, "/home/alice"},       // explicit group: no supplementary
      {"alice:51", 1000, 51, {51}, "/home/alice"},
      {"alice:4242", 1000, 4242, {4242}, "/home/alice"},    // numeric gid need not exist
      {"4242", 4242, 0, {0}, "/"},                          // numeric uid need not exist
      {"4242:users", 4242, 100, {100}, "/"},
      {"nohome", 1001, 1001, {1001}, "/"},                  // empty home -> "/"
      {"spaced", 1002, 1002, {1002}, "/home/spaced"},       // lines are trimmed
      {"daemon", 1, 1, {1}, "/usr/sbin"},
      {"2147483647", 2147483647, 0, {0}, "/"},
  };
  for (const auto& c : cases) {
    auto user = resolveUser(c.spec, kPasswd, kGroup);
    ASSERT_TRUE(user) << c.spec << ": " << user.error().message;
    EXPECT_EQ(user->uid, c.uid) << c.spec;
    EXPECT_EQ(user->gid, c.gid) << c.spec;
    EXPECT_EQ(user->supplementaryGroups, c.groups) << c.spec;
    EXPECT_EQ(user->home, c.home) << c.spec;
  }
}

TEST(ResolveUser, RefusesWhatRuncRefuses) {
  struct Refusal {
    std::string_view spec;
    std::string_view message;
  };
  const std::vector<Refusal> cases = {
      {"bob", "unable to find user bob: no matching entries in passwd file"},
      {"broken", "unable to find user broken: no matching entries in passwd file"},
      {"huge", "unable to find user huge: no matching entries in passwd file"},
      {"alice:nogroup", "unable to find group nogroup: no matching entries in group file"},
      {"2147483648", "uids and gids must be in range 0-2147483647"},
      {"4294967295", "uids and gids must be in range 0-2147483647"},
      {"alice:2147483648", "uids and gids must be in range 0-2147483647"},
      {"-1", "unable to find user -1: no matching entries in passwd file"},
      {"a:b:c", "invalid user a:b:c"},
  };
  for (const auto& c : cases) {
    auto user = resolveUser(c.spec, kPasswd, kGroup);
    ASSERT_FALSE(user) << c.spec;
    EXPECT_EQ(user.error().message, c.message) << c.spec;
  }
}

TEST(ResolveUser, EmptyFilesMeanRootOrNumericIds) {
  auto root = resolveUser("", "", "");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->uid, 0U);
  EXPECT_EQ(root->home, "/");
  EXPECT_EQ(root->supplementaryGroups, std::vector<gid_t>{0});
  auto numeric = resolveUser("1000:1000", "", "");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->uid, 1000U);
  EXPECT_EQ(numeric->gid, 1000U);
  EXPECT_FALSE(resolveUser("root", "", ""));
}

TEST(ResolveUser, NeverReadsAMalformedIdAsRoot) {
  // runc parses "x" as 0; here the line is skipped and the name is unknown.
  EXPECT_FALSE(resolveUser("mallory", "mallory:x::0:::\nmallory:x:x:x:::\n", ""));
  auto user = resolveUser("mallory", "mallory:x:::::\nmallory:x:7:7:::\n", "");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->uid, 7U);
}

TEST(ResolveUser, SkipsOverlongLines) {
  std::string passwd = "alice:x:0:0:" + std::string(70000, 'g') + ":/:/bin/sh\n";
  passwd += "alice:x:1000:1000::/home/alice:/bin/sh\n";
  auto user = resolveUser("alice", passwd, "");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->uid, 1000U);
}

class AccountFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/passwd_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  std::string dir_;
};

TEST_F(AccountFile, ReadsRegularFilesAndFollowsSymlinks) {
  std::string file = dir_ + "/passwd";
  std::ofstream(file) << "root:x:0:0::/root:/bin/sh\n";
  ASSERT_EQ(::symlink(file.c_str(), (dir_ + "/link").c_str()), 0);
  auto text = readAccountFile((dir_ + "/link").c_str());
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "root:x:0:0::/root:/bin/sh\n");
}

TEST_F(AccountFile, MissingIsEmpty) {
  auto text = readAccountFile((dir_ + "/absent").c_str());
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->empty());
}

TEST_F(AccountFile, RefusesFifosDirectoriesAndHugeFiles) {
  std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(readAccountFile(fifo.c_str()));  // and does not block on it
  EXPECT_FALSE(readAccountFile(dir_.c_str()));
  std::string huge = dir_ + "/huge";
  std::ofstream(huge) << std::string(4 * 1024 * 1024 + 1, 'x');
  EXPECT_FALSE(readAccountFile(huge.c_str()));
}

}  // namespace
}  // namespace dockerbox::init
