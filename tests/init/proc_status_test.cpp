#include "init/proc_status.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

namespace dockerbox::init {
namespace {

constexpr std::string_view kStatus =
    "Name:\tsh\n"
    "Uid:\t1000\t1000\t1000\t1000\n"
    "Gid:\t1000\t1000\t1000\t1000\n"
    "FDSize:\t64\n"
    "Groups:\t50 1000 10 \n"
    "CapInh:\t0000000000000000\n"
    "CapPrm:\t0000000000000000\n"
    "CapEff:\t0000000000000000\n"
    "CapBnd:\t00000000a80425fb\n"
    "CapAmb:\t0000000000000000\n"
    "NoNewPrivs:\t1\n"
    "Seccomp:\t2\n"
    "Seccomp_filters:\t1\n";

TEST(ProcStatus, ParsesTheCredentialFields) {
  auto state = parseProcStatus(kStatus);
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->uids[3], 1000U);
  EXPECT_EQ(state->gids[0], 1000U);
  EXPECT_EQ(state->groups, (std::vector<gid_t>{10, 50, 1000}));
  EXPECT_EQ(state->capBounding, 0xa80425fbULL);
  EXPECT_EQ(state->noNewPrivs, 1);
  EXPECT_EQ(state->seccompMode, 2);  // "Seccomp_filters" is not "Seccomp"
}

TEST(ProcStatus, EmptyGroupsLineIsNoGroups) {
  std::string text(kStatus);
  text.replace(text.find("50 1000 10 "), 11, "");
  auto state = parseProcStatus(text);
  ASSERT_TRUE(state);
  EXPECT_TRUE(state->groups.empty());
}

TEST(ProcStatus, RefusesMissingOrMalformedFields) {
  for (std::string_view key : {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:",
                               "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"}) {
    std::string text(kStatus);
    auto at = text.find(std::string("\n") + std::string(key));
    ASSERT_NE(at, std::string::npos) << key;
    text.replace(at + 1, key.size(), "Other:");
    EXPECT_FALSE(parseProcStatus(text)) << key;
  }
  std::string threeUids(kStatus);
  threeUids.replace(threeUids.find("1000\t1000\t1000\t1000"), 19, "1000\t1000\t1000");
  EXPECT_FALSE(parseProcStatus(threeUids));
}

TEST(ProcStatus, ReadsItsOwnProcess) {
  auto state = readProcessState();
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_EQ(state->uids[0], ::getuid());
  EXPECT_EQ(state->gids[1], ::getegid());
}

}  // namespace
}  // namespace dockerbox::init
