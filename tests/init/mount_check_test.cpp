#include "init/mount_check.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::init {
namespace {

// What dockerbox-init leaves (taken from a run in a busybox root), one line per mount.
constexpr std::string_view kGood =
    "67 45 254:0 /tmp/r / rw,nosuid,nodev,relatime - ext4 /dev/vda rw\n"
    "68 67 0:41 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "69 67 0:42 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro\n"
    "71 67 254:0 /tmp/host\\040data /data rw,nosuid,nodev,relatime - ext4 /dev/vda rw\n"
    "47 53 0:6 /null /dev/null ro,nosuid,noexec,relatime - devtmpfs devtmpfs rw,mode=755\n"
    "52 53 0:6 /tty /dev/tty ro,nosuid,noexec,relatime - devtmpfs devtmpfs rw,mode=755\n"
    "53 67 0:43 / /dev rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "54 53 0:44 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620\n"
    "57 68 0:46 / /proc/acpi ro,nosuid,nodev,noexec,relatime - tmpfs tmpfs ro,size=0k\n"
    "58 68 0:6 /null /proc/kcore ro,nosuid,noexec,relatime - devtmpfs devtmpfs rw\n"
    "65 68 0:41 /sys /proc/sys ro,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n";

Result<void> check(std::string_view text) {
  auto mounts = parseMountInfo(text);
  if (!mounts) return mounts.error();
  return checkMountTable(*mounts);
}

TEST(MountCheck, ParsesFieldsAndEscapes) {
  auto mounts = parseMountInfo(kGood);
  ASSERT_TRUE(mounts);
  ASSERT_EQ(mounts->size(), 11U);
  EXPECT_EQ((*mounts)[3].root, "/tmp/host data");
  EXPECT_EQ((*mounts)[3].mountPoint, "/data");
  EXPECT_EQ((*mounts)[10].fsType, "proc");  // optional fields before "-" are skipped
  EXPECT_EQ((*mounts)[4].options.front(), "ro");
}

TEST(MountCheck, AcceptsWhatTheInitBuilds) {
  auto ok = check(kGood);
  EXPECT_TRUE(ok) << ok.error().message;
}

TEST(MountCheck, RefusesEveryWayOut) {
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"host /dev left", "1 0 0:6 / /dev rw,nosuid,noexec - devtmpfs devtmpfs rw\n"},
      {"host /dev elsewhere", "1 0 0:6 / /mnt rw,nosuid,nodev,noexec - devtmpfs devtmpfs rw\n"},
      {"a host disk node", "1 0 0:6 /sda /dev/sda ro,nosuid,noexec - devtmpfs devtmpfs rw\n"},
      {"bind without nodev", "1 0 254:0 /x /data rw,nosuid - ext4 /dev/vda rw\n"},
      {"bind without nosuid", "1 0 254:0 /x /data rw,nodev - ext4 /dev/vda rw\n"},
      {"root without nodev", "1 0 254:0 / / rw,nosuid - overlay overlay rw\n"},
      {"writable node", "1 0 0:6 /null /dev/null rw,nosuid,noexec - devtmpfs devtmpfs rw\n"},
      {"suid node", "1 0 0:6 /null /dev/null ro,noexec - devtmpfs devtmpfs rw\n"},
      {"exec devpts", "1 0 0:9 / /dev/pts rw,nosuid - devpts devpts rw\n"},
      {"devpts elsewhere", "1 0 0:9 / /mnt rw,nosuid,noexec - devpts devpts rw\n"},
      {"node-named dir bind", "1 0 254:0 /null /data rw,nosuid,noexec - ext4 /dev/vda rw\n"},
  };
  for (const auto& [name, line] : bad) {
    EXPECT_FALSE(check(std::string(kGood) + line)) << name;
  }
}

TEST(MountCheck, RefusesMalformedTables) {
  EXPECT_FALSE(parseMountInfo(""));
  EXPECT_FALSE(parseMountInfo("1 2 3 / /\n"));
  EXPECT_FALSE(parseMountInfo("1 2 0:1 / / rw shared:1 ext4 /dev/vda rw\n"));  // no "-"
  EXPECT_FALSE(parseMountInfo("1 2 0:1 / / rw -\n"));
}

}  // namespace
}  // namespace dockerbox::init
