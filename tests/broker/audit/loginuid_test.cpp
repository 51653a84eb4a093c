// Tests broker/audit/loginuid: parsing /proc/<pid>/loginuid.
#include "broker/audit/loginuid.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace dockerbox::broker::audit {
namespace {

TEST(LoginUid, ParsesTheKernelsFormat) {
  EXPECT_EQ(parseLoginUid("1000"), std::optional<uid_t>(1000));
  EXPECT_EQ(parseLoginUid("0\n"), std::optional<uid_t>(0));
  EXPECT_EQ(parseLoginUid("4294967295"), std::nullopt);  // unset
  for (const char* bad : {"", "\n", "-1", "12a", " 12", "4294967296", "1000\n\n"}) {
    EXPECT_EQ(parseLoginUid(bad), std::nullopt) << bad;
  }
}

TEST(LoginUid, ReadingIsSafeForAnyPid) {
  (void)readLoginUid(::getpid());  // depends on the host's audit support; must not fail hard
  EXPECT_EQ(readLoginUid(0), std::nullopt);
  EXPECT_EQ(readLoginUid(-5), std::nullopt);
}

}  // namespace
}  // namespace dockerbox::broker::audit
