// The monitor's volume directories (broker/monitor/volumes.hpp): made whole, owned as
// recorded, removed without following what a container left in them.
#include "broker/monitor/volumes.hpp"

#include "tests/broker/state/temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace dockerbox::broker::monitor {
namespace {

namespace fs = std::filesystem;

class VolumeStoreTest : public ::testing::Test {
 protected:
  state::testing::TempDir dir_;
  std::string root_ = (dir_.path() / "volumes").string();
  VolumeStore store_{root_};
};

TEST_F(VolumeStoreTest, MakesAVolumeOnceWithItsOwner) {
  auto made = store_.create("data", VolumeOwner{1000, 1001});
  ASSERT_TRUE(made) << made.error().context;
  EXPECT_TRUE(*made);
  auto again = store_.create("data", VolumeOwner{2000, 2000});
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  auto owner = store_.owner("data");
  ASSERT_TRUE(owner && *owner);
  EXPECT_EQ((*owner)->uid, 1000U);
  EXPECT_EQ((*owner)->gid, 1001U);
  EXPECT_EQ(store_.dataPath("data"), root_ + "/data/_data");
  struct stat st {};
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700U);
  ASSERT_EQ(::stat(store_.dataPath("data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755U);
  auto none = store_.owner("other");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto names = store_.names();
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"data"});
}

TEST_F(VolumeStoreTest, RefusesNamesDockerRefuses) {
  for (const char* bad : {"", "a", "../x", ".hidden", "a/b", "-x", "x y"}) {
    auto made = store_.create(bad, VolumeOwner{});
    ASSERT_FALSE(made) << bad;
    EXPECT_EQ(made.error().kind, ErrorKind::BadRequest) << bad;
  }
}

TEST_F(VolumeStoreTest, RemovalFollowsNoSymlinkAContainerLeft) {
  ASSERT_TRUE(store_.create("data", VolumeOwner{}));
  const fs::path outside = dir_.path() / "outside";
  fs::create_directory(outside);
  std::ofstream(outside / "keep") << "keep";
  const fs::path data = store_.dataPath("data");
  fs::create_directory_symlink(outside, data / "link");
  fs::create_directories(data / "deep" / "er");
  std::ofstream(data / "deep" / "er" / "f") << "x";
  // What a container of another uid leaves: its own directory, closed even to itself.
  ASSERT_EQ(::chown((data / "deep").c_str(), 12345, 12345), 0);
  ASSERT_EQ(::chown((data / "deep" / "er").c_str(), 12345, 12345), 0);
  ASSERT_EQ(::chmod((data / "deep" / "er").c_str(), 0500), 0);
  ASSERT_EQ(::chmod((data / "deep").c_str(), 0), 0);
  ASSERT_TRUE(store_.remove("data"));
  EXPECT_FALSE(fs::exists(root_ + "/data"));
  EXPECT_TRUE(fs::exists(outside / "keep"));
  auto gone = store_.remove("data");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::NotFound);
  auto names = store_.names();
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
}

TEST_F(VolumeStoreTest, LeftoversOfAnInterruptedActGoAtStartUp) {
  ASSERT_TRUE(store_.create("data", VolumeOwner{}));
  fs::create_directories(root_ + "/.new-0011223344556677/_data");
  fs::create_directories(root_ + "/.gone-8899aabbccddeeff/_data/x");
  auto names = store_.names();
  ASSERT_TRUE(names);
  EXPECT_EQ(*names, std::vector<std::string>{"data"});
  store_.clearLeftovers();
  EXPECT_FALSE(fs::exists(root_ + "/.new-0011223344556677"));
  EXPECT_FALSE(fs::exists(root_ + "/.gone-8899aabbccddeeff"));
  EXPECT_TRUE(fs::exists(root_ + "/data/_data"));
}

TEST_F(VolumeStoreTest, ARootDirectoryOthersCanEnterIsRefused) {
  fs::create_directory(root_);
  ::chmod(root_.c_str(), 0755);
  auto made = store_.create("data", VolumeOwner{});
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().kind, ErrorKind::Internal);
}

}  // namespace
}  // namespace dockerbox::broker::monitor
