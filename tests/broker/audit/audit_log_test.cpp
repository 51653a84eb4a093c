// Tests broker/audit/audit_log: the writer's file handling, chain continuation across
// restarts and rotations, recovery from a torn tail, and failing closed when it cannot write.
#include "broker/audit/audit_log.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "audit_test_support.hpp"
#include "broker/audit/sha256.hpp"
#include "broker/audit/verify.hpp"

namespace dockerbox::broker::audit {
namespace {

using testing::optionsFor;
using testing::readLines;
using testing::sampleRequest;
using testing::TempDir;

TEST(AuditLog, CreatesParentDirectories0700AndTheFile0600) {
  TempDir dir;
  std::string path = dir.file("a/b/audit.log");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log) << log.error().context;
  ASSERT_TRUE((*log)->writeRequest(sampleRequest(1)));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(dir.file("a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
  ASSERT_EQ(::stat(dir.file("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST(AuditLog, TightensLoosePermissionsOfAnExistingFile) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  testing::writeFile(path, "");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(AuditLog::open(optionsFor(path)));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(AuditLog, FirstRecordStartsTheChainAndEachLineChainsToTheLast) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->openStatus().start, StartKind::NewChain);
  auto first = (*log)->writeRequest(sampleRequest(1));
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1u);
  ASSERT_TRUE((*log)->writeOutcome(*first, OutcomeRecord::ok()));
  auto lines = readLines(path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"prev\":\"" + std::string(kZeroHash) + "\""), std::string::npos)
      << lines[0];
  EXPECT_NE(lines[1].find("\"prev\":\"" + sha256Hex(lines[0]) + "\""), std::string::npos)
      << lines[1];
  EXPECT_EQ((*log)->head().seq, 2u);
  EXPECT_EQ((*log)->head().hash, sha256Hex(lines[1]));
}

TEST(AuditLog, ReopeningContinuesSeqAndChain) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  ChainHead before;
  {
    auto log = AuditLog::open(optionsFor(path));
    ASSERT_TRUE(log);
    testing::writeSampleLog(**log, 3);
    before = (*log)->head();
  }
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->openStatus().start, StartKind::Continued);
  EXPECT_EQ((*log)->head().seq, before.seq);
  EXPECT_EQ((*log)->head().hash, before.hash);
  auto seq = (*log)->writeRequest(sampleRequest(4));
  ASSERT_TRUE(seq);
  EXPECT_EQ(*seq, before.seq + 1);
  ASSERT_TRUE((*log)->writeOutcome(*seq, OutcomeRecord::ok()));
  auto r = verifyFiles({path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->records, before.seq + 2);
}

TEST(AuditLog, RotationKeepsTheChainAcrossFiles) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  testing::writeSampleLog(**log, 3);
  ASSERT_TRUE((*log)->rotate());
  testing::writeSampleLog(**log, 3);
  ASSERT_TRUE((*log)->rotate());
  testing::writeSampleLog(**log, 2);

  auto newest = readLines(path);
  EXPECT_NE(newest[0].find("\"kind\":\"rotation\""), std::string::npos) << newest[0];
  EXPECT_NE(newest[0].find("\"prev\":\"" + sha256Hex(readLines(path + ".1").back()) + "\""),
            std::string::npos);
  auto r = verifyFiles({path + ".2", path + ".1", path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->files, 3u);
  EXPECT_EQ(r->rotations, 2u);
  EXPECT_EQ(r->requests, 8u);
  EXPECT_EQ(r->head.seq, (*log)->head().seq);

  // The newest files alone verify too: the chain starts at a rotation record.
  auto tail = verifyFiles({path + ".1", path});
  ASSERT_TRUE(tail) << tail.error().message;
  EXPECT_TRUE(tail->startsMidChain);
  // A missing middle file does not.
  auto gap = verifyFiles({path + ".2", path});
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().message.rfind(path + ":1: seq", 0), 0u) << gap.error().message;
}

TEST(AuditLog, DeletingTheRotatedFilesLastLineIsDetected) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  testing::writeSampleLog(**log, 3);
  ASSERT_TRUE((*log)->rotate());
  testing::writeSampleLog(**log, 1);
  auto rotated = readLines(path + ".1");
  rotated.pop_back();
  testing::writeLines(path + ".1", rotated);
  auto r = verifyFiles({path + ".1", path});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind(path + ":1: seq", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(path + ".1:" + std::to_string(rotated.size())),
            std::string::npos)
      << r.error().message;
}

TEST(AuditLog, RotationDropsFilesBeyondTheKeepCount) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto options = optionsFor(path);
  options.keep = 2;
  auto log = AuditLog::open(std::move(options));
  ASSERT_TRUE(log);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE((*log)->writeRequest(sampleRequest(i)));
    ASSERT_TRUE((*log)->rotate());
  }
  struct stat st {};
  EXPECT_EQ(::stat((path + ".2").c_str(), &st), 0);
  EXPECT_NE(::stat((path + ".3").c_str(), &st), 0);
  auto r = verifyFiles({path + ".2", path + ".1", path});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->startsMidChain);
}

TEST(AuditLog, RotatesBySizeAndVerifiesOverTheSet) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto options = optionsFor(path);
  options.maxBytes = 3000;
  options.keep = 50;
  auto log = AuditLog::open(std::move(options));
  ASSERT_TRUE(log);
  testing::writeSampleLog(**log, 20);
  std::vector<std::string> files = {path};
  for (int n = 1; ::access((path + "." + std::to_string(n)).c_str(), F_OK) == 0; ++n) {
    files.insert(files.begin(), path + "." + std::to_string(n));
    struct stat st {};
    ASSERT_EQ(::stat(files.front().c_str(), &st), 0);
    EXPECT_LE(st.st_size, 3000);
  }
  EXPECT_GE(files.size(), 5u);
  auto r = verifyFiles(files);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rotations, files.size() - 1);
  EXPECT_EQ(r->requests, 20u);
  EXPECT_EQ(r->outcomes, 20u);
}

TEST(AuditLog, RecoversFromACrashBetweenRenameAndFirstRecord) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  {
    auto log = AuditLog::open(optionsFor(path));
    ASSERT_TRUE(log);
    testing::writeSampleLog(**log, 2);
  }
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);  // as rotate() would, then "crash"
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->openStatus().start, StartKind::ContinuedFromRotated);
  EXPECT_NE(readLines(path).at(0).find("\"reason\":\"recovered\""), std::string::npos);
  auto r = verifyFiles({path + ".1", path});
  ASSERT_TRUE(r) << r.error().message;
}

TEST(AuditLog, TornTailStartsANewSegmentWithAChainBreak) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  ChainHead good;
  {
    auto log = AuditLog::open(optionsFor(path));
    ASSERT_TRUE(log);
    testing::writeSampleLog(**log, 2);
    good = (*log)->head();
  }
  auto lines = readLines(path);
  std::string torn = lines.back().substr(0, 40);  // a write interrupted by a crash
  testing::writeFile(path, testing::readFile(path) + torn);
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->openStatus().start, StartKind::ChainBreak);
  EXPECT_NE((*log)->openStatus().detail.find("incomplete"), std::string::npos)
      << (*log)->openStatus().detail;
  EXPECT_EQ((*log)->head().seq, good.seq + 1);
  ASSERT_TRUE((*log)->writeRequest(sampleRequest(9)));

  auto after = readLines(path);
  ASSERT_EQ(after.size(), lines.size() + 3);  // torn line (now ended), chain_break, request
  EXPECT_EQ(after[lines.size()], torn);
  EXPECT_NE(after[lines.size() + 1].find("\"kind\":\"chain_break\""), std::string::npos);
  EXPECT_NE(after[lines.size() + 1].find("\"prev\":\"" + good.hash + "\""), std::string::npos);

  // Strict verification names the torn line; accepting declared breaks lists it instead.
  auto strict = verifyFiles({path});
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().message.rfind(path + ":" + std::to_string(lines.size() + 1) + ":", 0),
            0u)
      << strict.error().message;
  auto lenient = verifyFiles({path}, VerifyOptions{ChainBreaks::Accept});
  ASSERT_TRUE(lenient) << lenient.error().message;
  EXPECT_EQ(lenient->chainBreaks, 1u);
  ASSERT_EQ(lenient->skippedLines.size(), 1u);
}

TEST(AuditLog, EditedLastLineIsACorruptTail) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  {
    auto log = AuditLog::open(optionsFor(path));
    ASSERT_TRUE(log);
    testing::writeSampleLog(**log, 2);
  }
  auto lines = readLines(path);
  lines.back()[30] = lines.back()[30] == '1' ? '2' : '1';
  testing::writeLines(path, lines);
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->openStatus().start, StartKind::ChainBreak);
  EXPECT_NE((*log)->openStatus().detail.find("line edited"), std::string::npos)
      << (*log)->openStatus().detail;
  EXPECT_EQ((*log)->head().seq, lines.size());  // seq continues after the last valid line
}

TEST(AuditLog, RefusesALogWithNoValidRecord) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  testing::writeFile(path, "this is not an audit log\n");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_FALSE(log);
  EXPECT_NE(log.error().context.find("move it aside"), std::string::npos) << log.error().context;
}

TEST(AuditLog, RefusesSymlinksDevicesAndImpossiblePaths) {
  TempDir dir;
  std::string target = dir.file("target.log");
  testing::writeFile(target, "");
  ASSERT_EQ(::symlink(target.c_str(), dir.file("link.log").c_str()), 0);
  EXPECT_FALSE(AuditLog::open(optionsFor(dir.file("link.log"))));
  EXPECT_FALSE(AuditLog::open(optionsFor("/dev/full")));  // not a regular file
  testing::writeFile(dir.file("file"), "");
  EXPECT_FALSE(AuditLog::open(optionsFor(dir.file("file/audit.log"))));
  EXPECT_FALSE(AuditLog::open(optionsFor("")));
  auto noKeep = optionsFor(dir.file("audit.log"));
  noKeep.keep = 0;
  EXPECT_FALSE(AuditLog::open(std::move(noKeep)));
}

/// Sets RLIMIT_FSIZE for the test (works as root, unlike read-only permissions): writes
/// beyond it fail with EFBIG instead of raising SIGXFSZ.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    previousHandler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previousHandler_);
  }

 private:
  rlimit saved_{};
  void (*previousHandler_)(int) = nullptr;
};

TEST(AuditLog, FailedWriteIsAnErrorAndTheNextWriteRecovers) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(optionsFor(path));
  ASSERT_TRUE(log);
  testing::writeSampleLog(**log, 2);
  auto before = (*log)->head();
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  {
    FileSizeLimit limit(static_cast<rlim_t>(st.st_size) + 50);  // room for a torn line only
    auto seq = (*log)->writeRequest(sampleRequest(3));
    ASSERT_FALSE(seq);  // the caller must deny
    EXPECT_EQ(seq.error().message, "audit log unavailable: request refused");
    EXPECT_NE(seq.error().context.find("write"), std::string::npos) << seq.error().context;
    EXPECT_FALSE((*log)->writeOutcome(before.seq, OutcomeRecord::ok()));  // still failing
  }
  auto seq = (*log)->writeRequest(sampleRequest(4));
  ASSERT_TRUE(seq) << seq.error().context;
  EXPECT_EQ((*log)->openStatus().start, StartKind::ChainBreak);
  EXPECT_EQ(*seq, before.seq + 2);  // the chain_break took before.seq + 1

  auto r = verifyFiles({path}, VerifyOptions{ChainBreaks::Accept});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->chainBreaks, 1u);
  EXPECT_FALSE(verifyFiles({path}));
}

}  // namespace
}  // namespace dockerbox::broker::audit
