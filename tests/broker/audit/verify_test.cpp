// Tests broker/audit/verify: a real log verifies, and every single-line deletion, one-byte
// edit and adjacent swap fails, naming the right file and line.
#include "broker/audit/verify.hpp"

#include <gtest/gtest.h>

#include "audit_test_support.hpp"
#include "broker/audit/audit_log.hpp"
#include "broker/audit/limits.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {
namespace {

using testing::readFile;
using testing::readLines;
using testing::TempDir;
using testing::writeFile;
using testing::writeLines;

/// A log of `n` requests with their outcomes and one policy reload, written by the writer.
std::string makeLog(const TempDir& dir, int n) {
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(testing::optionsFor(path));
  EXPECT_TRUE(log);
  testing::writeSampleLog(**log, n);
  EXPECT_TRUE(
      (*log)->writeEvent(PolicyReloadEvent{ReloadResult::Ok, "/etc/dockerbox/policy.toml", ""}));
  return path;
}

/// Verifies `path` and expects a failure whose message starts with "path:line:".
void expectFailsAt(const std::string& path, std::size_t line, const std::string& what) {
  auto r = verifyFiles({path});
  ASSERT_FALSE(r) << what << ": verified, expected a failure at line " << line;
  std::string prefix = path + ":" + std::to_string(line) + ":";
  EXPECT_EQ(r.error().message.rfind(prefix, 0), 0u) << what << ": " << r.error().message;
}

TEST(Verify, RealLogOfRequestsAndOutcomesVerifies) {
  TempDir dir;
  std::string path = makeLog(dir, 12);
  auto r = verifyFiles({path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->files, 1u);
  EXPECT_EQ(r->requests, 12u);
  EXPECT_EQ(r->outcomes, 12u);
  EXPECT_EQ(r->policyReloads, 1u);
  EXPECT_EQ(r->records, 25u);
  EXPECT_EQ(r->firstSeq, 1u);
  EXPECT_EQ(r->head.seq, 25u);
  EXPECT_EQ(r->head.hash, sha256Hex(readLines(path).back()));
  EXPECT_FALSE(r->startsMidChain);
  EXPECT_EQ(r->openRequestCount, 0u);
}

TEST(Verify, EmptyFileHasNoRecords) {
  TempDir dir;
  writeFile(dir.file("audit.log"), "");
  auto r = verifyFiles({dir.file("audit.log")});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->records, 0u);
}

TEST(Verify, DeletingAnyLineButTheLastFailsAtThatLine) {
  TempDir dir;
  std::string path = makeLog(dir, 6);
  auto original = readLines(path);
  for (std::size_t i = 0; i + 1 < original.size(); ++i) {
    auto lines = original;
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
    writeLines(path, lines);
    expectFailsAt(path, i + 1, "delete line " + std::to_string(i + 1));
  }
}

TEST(Verify, DeletingTheLastLineIsOnlyVisibleInTheHead) {
  // Truncation is the one change the chain cannot show by itself (documented in
  // audit_log.hpp): the head no longer matches the one the broker reported.
  TempDir dir;
  std::string path = makeLog(dir, 3);
  auto lines = readLines(path);
  auto before = verifyFiles({path});
  ASSERT_TRUE(before);
  lines.pop_back();
  writeLines(path, lines);
  auto after = verifyFiles({path});
  ASSERT_TRUE(after);
  EXPECT_NE(after->head.hash, before->head.hash);
  EXPECT_EQ(after->head.seq + 1, before->head.seq);
}

TEST(Verify, DeletingAFinalOutcomeLeavesAnOpenRequest) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  {
    auto log = AuditLog::open(testing::optionsFor(path));
    ASSERT_TRUE(log);
    auto seq = (*log)->writeRequest(testing::sampleRequest(1));
    ASSERT_TRUE(seq);
    ASSERT_TRUE((*log)->writeOutcome(*seq, OutcomeRecord::ok()));
  }
  auto lines = readLines(path);
  lines.pop_back();
  writeLines(path, lines);
  auto r = verifyFiles({path});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->openRequestCount, 1u);
  EXPECT_EQ(r->openRequests, std::vector<std::uint64_t>{1});
}

TEST(Verify, EditingAnySingleByteFailsAtItsLine) {
  TempDir dir;
  std::string path = makeLog(dir, 3);
  const std::string original = readFile(path);
  std::size_t line = 1;
  for (std::size_t pos = 0; pos < original.size(); ++pos) {
    for (char replacement : {'a', '0', '\n', '"'}) {
      if (original[pos] == replacement) continue;
      std::string edited = original;
      edited[pos] = replacement;
      writeFile(path, edited);
      expectFailsAt(path, line, "byte " + std::to_string(pos) + " -> '" + replacement + "'");
    }
    if (::testing::Test::HasFailure()) return;  // one broken position is enough output
    if (original[pos] == '\n') ++line;          // a newline belongs to the line it ends
  }
}

TEST(Verify, SwappingAnyTwoAdjacentLinesFailsAtTheFirst) {
  TempDir dir;
  std::string path = makeLog(dir, 6);
  auto original = readLines(path);
  for (std::size_t i = 0; i + 1 < original.size(); ++i) {
    auto lines = original;
    std::swap(lines[i], lines[i + 1]);
    writeLines(path, lines);
    expectFailsAt(path, i + 1,
                  "swap lines " + std::to_string(i + 1) + " and " + std::to_string(i + 2));
  }
}

TEST(Verify, DuplicatedLineFails) {
  TempDir dir;
  std::string path = makeLog(dir, 3);
  auto lines = readLines(path);
  lines.insert(lines.begin() + 3, lines[2]);
  writeLines(path, lines);
  expectFailsAt(path, 4, "duplicate line 3");
}

TEST(Verify, FailureMessagesSayWhatIsWrong) {
  TempDir dir;
  std::string path = makeLog(dir, 3);
  auto lines = readLines(path);
  auto edited = lines;
  edited[4][25] = edited[4][25] == '9' ? '8' : '9';  // a digit of the year in "time"
  writeLines(path, edited);
  auto r = verifyFiles({path});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, path + ":5: line hash does not match its content (line edited)");

  auto deleted = lines;
  deleted.erase(deleted.begin() + 4);
  writeLines(path, deleted);
  r = verifyFiles({path});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, path +
                                   ":5: seq 6 does not follow seq 4 of line 4 "
                                   "(expected 5: line deleted, duplicated or reordered)");
}

TEST(Verify, OutcomeMustReferToAnEarlierOpenRequest) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(testing::optionsFor(path));
  ASSERT_TRUE(log);
  auto seq = (*log)->writeRequest(testing::sampleRequest(1));
  ASSERT_TRUE(seq);
  ASSERT_TRUE((*log)->writeOutcome(*seq, OutcomeRecord::ok()));
  ASSERT_TRUE(verifyFiles({path}));

  ASSERT_TRUE((*log)->writeOutcome(*seq, OutcomeRecord::ok()));  // a second outcome
  auto r = verifyFiles({path});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + ":3: outcome refers to seq 1, which is not a request"),
            std::string::npos)
      << r.error().message;
}

TEST(Verify, OutcomeForAFutureSeqFails) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(testing::optionsFor(path));
  ASSERT_TRUE(log);
  ASSERT_TRUE((*log)->writeOutcome(7, OutcomeRecord::ok()));
  auto r = verifyFiles({path});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, path + ":1: outcome refers to seq 7, which is not earlier");
}

TEST(Verify, UnreadableFileIsAnError) {
  TempDir dir;
  auto r = verifyFiles({dir.file("missing.log")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Internal);
  EXPECT_NE(r.error().message.find("missing.log"), std::string::npos);
}

TEST(VerifyText, RejectsLinesThatAreNotRecords) {
  for (const char* text : {"\n", "{}\n", "not json\n", "{\"v\":1}\n", "[1,2]\n", "x"}) {
    auto r = verifyText(text, "t");
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().message.rfind("t:1:", 0), 0u) << r.error().message;
  }
}

TEST(VerifyText, RejectsAnOverlongLineWithoutBufferingIt) {
  std::string text(kMaxLineBytes + 10, 'x');
  text += "\n";
  auto r = verifyText(text, "t");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("t:1: line is longer than"), std::string::npos)
      << r.error().message;
}

}  // namespace
}  // namespace dockerbox::broker::audit
