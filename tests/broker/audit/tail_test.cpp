// Tests broker/audit/tail: finding the chain head in the end of an existing log.
#include "broker/audit/tail.hpp"

#include <gtest/gtest.h>

#include "broker/audit/record_line.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {
namespace {

std::string line(std::uint64_t seq) {
  return formatRotation(LineHeader{seq, std::chrono::system_clock::time_point(), kZeroHash},
                        RotationReason::Size);
}

TEST(TailScan, EmptyWindowHasNoHead) {
  auto scan = scanTail("", true);
  EXPECT_FALSE(scan.lastGood);
  EXPECT_FALSE(scan.lastLineGood);
}

TEST(TailScan, GoodLastLine) {
  std::string text = line(1) + "\n" + line(2) + "\n";
  auto scan = scanTail(text, true);
  ASSERT_TRUE(scan.lastGood);
  EXPECT_TRUE(scan.lastLineGood);
  EXPECT_EQ(scan.lastGood->seq, 2u);
  EXPECT_EQ(scan.lastGood->hash, sha256Hex(line(2)));
}

TEST(TailScan, TornLastLineFallsBackToThePreviousOne) {
  std::string text = line(1) + "\n" + line(2).substr(0, 30);
  auto scan = scanTail(text, true);
  ASSERT_TRUE(scan.lastGood);
  EXPECT_FALSE(scan.lastLineGood);
  EXPECT_FALSE(scan.endsWithNewline);
  EXPECT_EQ(scan.lastGood->seq, 1u);
  EXPECT_NE(scan.problem.find("incomplete"), std::string::npos);
}

TEST(TailScan, GarbageLastLineIsReported) {
  std::string text = line(1) + "\ngarbage\n";
  auto scan = scanTail(text, true);
  ASSERT_TRUE(scan.lastGood);
  EXPECT_FALSE(scan.lastLineGood);
  EXPECT_TRUE(scan.endsWithNewline);
  EXPECT_NE(scan.problem.find("not a valid record"), std::string::npos) << scan.problem;
}

TEST(TailScan, PartialFirstLineOfAWindowIsSkipped) {
  std::string text = line(1).substr(20) + "\n" + line(2) + "\n";
  auto scan = scanTail(text, false);
  ASSERT_TRUE(scan.lastGood);
  EXPECT_EQ(scan.lastGood->seq, 2u);
  auto onlyPartial = scanTail(line(1).substr(20) + "\n", false);
  EXPECT_FALSE(onlyPartial.lastGood);
}

}  // namespace
}  // namespace dockerbox::broker::audit
