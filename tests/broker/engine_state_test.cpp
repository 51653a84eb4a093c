// The state directory's layout before the engine starts (engine_state.hpp): root keeps the
// top, the engine's user gets engine/, an earlier layout moves in, and the hand-over follows
// no link and gives away no file that has a second name. Runs as root (ctest does).
#include "broker/engine_state.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace dockerbox::broker {
namespace {

constexpr uid_t kUid = 54321;
constexpr gid_t kGid = 54322;

class EngineStateTest : public ::testing::Test {
 protected:
  EngineStateTest() {
    char tmpl[] = "/tmp/dbxesXXXXXX";
    dir_ = ::mkdtemp(tmpl);
    state_ = dir_ + "/state";
  }
  ~EngineStateTest() override { std::filesystem::remove_all(dir_); }

  static struct stat lstatOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  std::string dir_;
  std::string state_;
};

TEST_F(EngineStateTest, AFreshDirectoryIsRootsWithTheEnginesInside) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(prepareEngineState(state_, kUid, kGid));
  auto top = lstatOf(state_);
  EXPECT_EQ(top.st_uid, 0u);
  EXPECT_EQ(top.st_mode & 0777, 0700u);
  auto engine = lstatOf(state_ + "/engine");
  EXPECT_EQ(engine.st_uid, kUid);
  EXPECT_EQ(engine.st_gid, kGid);
  EXPECT_EQ(engine.st_mode & 0777, 0700u);
  ASSERT_TRUE(prepareEngineState(state_, kUid, kGid));  // again: nothing to do
}

TEST_F(EngineStateTest, AnEarlierLayoutMovesInAndChangesHands) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  std::ofstream(state_ + "/state.db") << "db";
  std::ofstream(state_ + "/seal.key") << "key";
  std::filesystem::create_directories(state_ + "/containers/abc");
  std::ofstream(state_ + "/containers/abc/abc-json.log") << "log";
  ASSERT_TRUE(prepareEngineState(state_, kUid, kGid));
  EXPECT_FALSE(std::filesystem::exists(state_ + "/state.db"));
  EXPECT_FALSE(std::filesystem::exists(state_ + "/containers"));
  EXPECT_EQ(lstatOf(state_ + "/engine/state.db").st_uid, kUid);
  EXPECT_EQ(lstatOf(state_ + "/engine/containers/abc").st_uid, kUid);
  EXPECT_EQ(lstatOf(state_ + "/engine/containers/abc/abc-json.log").st_uid, kUid);
  EXPECT_EQ(lstatOf(state_ + "/seal.key").st_uid, 0u);  // root's key stays root's
}

TEST_F(EngineStateTest, TheHandOverFollowsNoLinkAndSkipsFilesWithTwoNames) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((state_ + "/engine").c_str(), 0700), 0);  // root's: handed over below
  const std::string outside = dir_ + "/outside";
  std::ofstream(outside) << "root's";
  const std::string outsideDir = dir_ + "/outside-dir";
  ASSERT_EQ(::mkdir(outsideDir.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(outside.c_str(), (state_ + "/engine/link").c_str()), 0);
  ASSERT_EQ(::symlink(outsideDir.c_str(), (state_ + "/engine/dirlink").c_str()), 0);
  ASSERT_EQ(::link(outside.c_str(), (state_ + "/engine/hardlink").c_str()), 0);
  ASSERT_TRUE(prepareEngineState(state_, kUid, kGid));
  EXPECT_EQ(lstatOf(outside).st_uid, 0u);
  EXPECT_EQ(lstatOf(outsideDir).st_uid, 0u);
  EXPECT_EQ(lstatOf(state_ + "/engine").st_uid, kUid);
}

TEST_F(EngineStateTest, AStateDirectoryOthersCouldWriteIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_EQ(::mkdir(state_.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(state_.c_str(), 0777), 0);
  auto r = prepareEngineState(state_, kUid, kGid);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().context.find("writable by nobody else"), std::string::npos) << r.error().context;
  EXPECT_FALSE(prepareEngineState(dir_ + "/nested/state", kUid, kGid));  // parents are not made
  EXPECT_FALSE(prepareEngineState(state_, 0, 0));
}

}  // namespace
}  // namespace dockerbox::broker
