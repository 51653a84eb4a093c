// Tests broker/audit/verify_cli: `dockerboxctl audit-verify` output and exit status.
#include "broker/audit/verify_cli.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "audit_test_support.hpp"

namespace dockerbox::broker::audit {
namespace {

using testing::TempDir;

struct Run {
  int status;
  std::string out, err;
};

Run run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int status = runAuditVerify(args, out, err);
  return {status, out.str(), err.str()};
}

/// audit.log.2, audit.log.1 and audit.log, each with records.
std::string makeRotatedLog(const TempDir& dir) {
  std::string path = dir.file("audit.log");
  auto log = AuditLog::open(testing::optionsFor(path));
  EXPECT_TRUE(log);
  testing::writeSampleLog(**log, 2);
  EXPECT_TRUE((*log)->rotate());
  testing::writeSampleLog(**log, 2);
  EXPECT_TRUE((*log)->rotate());
  EXPECT_TRUE((*log)->writeRequest(testing::sampleRequest(7)));
  return path;
}

TEST(AuditVerifyCli, SingleFilePicksUpRotatedSiblings) {
  TempDir dir;
  std::string path = makeRotatedLog(dir);
  EXPECT_EQ(withRotatedSiblings(path), (std::vector<std::string>{path + ".2", path + ".1", path}));
  auto r = run({path});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK: 11 records in 3 file(s), seq 1..11", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("requests 5, outcomes 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 request(s) without an outcome"), std::string::npos) << r.out;
}

TEST(AuditVerifyCli, ReportsTheFirstFailureWithFileAndLine) {
  TempDir dir;
  std::string path = makeRotatedLog(dir);
  auto lines = testing::readLines(path + ".1");
  lines.erase(lines.begin() + 1);
  testing::writeLines(path + ".1", lines);
  auto r = run({path});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out.rfind("FAIL: " + path + ".1:2: seq", 0), 0u) << r.out;
}

TEST(AuditVerifyCli, ExplicitFilesAreTakenAsGiven) {
  TempDir dir;
  std::string path = makeRotatedLog(dir);
  EXPECT_EQ(run({path + ".1", path}).status, 0);
  auto wrongOrder = run({path, path + ".1"});
  EXPECT_EQ(wrongOrder.status, 1);
  EXPECT_NE(wrongOrder.out.find("FAIL: " + path + ".1:1:"), std::string::npos) << wrongOrder.out;
}

TEST(AuditVerifyCli, UsageErrorsAndHelp) {
  EXPECT_EQ(run({}).status, 2);
  auto unknown = run({"--frobnicate", "x"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.err.find("unknown option"), std::string::npos);
  auto help = run({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("usage:"), std::string::npos);
  TempDir dir;
  auto missing = run({dir.file("none.log")});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.out.find("cannot read"), std::string::npos) << missing.out;
}

TEST(AuditVerifyCli, AcceptBreaksFlag) {
  TempDir dir;
  std::string path = dir.file("audit.log");
  {
    auto log = AuditLog::open(testing::optionsFor(path));
    ASSERT_TRUE(log);
    testing::writeSampleLog(**log, 1);
  }
  testing::writeFile(path, testing::readFile(path) + "{\"torn");
  ASSERT_TRUE(AuditLog::open(testing::optionsFor(path)));  // writes the chain_break
  EXPECT_EQ(run({path}).status, 1);
  auto lenient = run({"--accept-breaks", path});
  EXPECT_EQ(lenient.status, 0) << lenient.out;
  EXPECT_NE(lenient.out.find("skipped at a chain break: " + path + ":3:"), std::string::npos)
      << lenient.out;
}

TEST(AuditVerifyCli, ArgcArgvEntryPoint) {
  TempDir dir;
  std::string path = makeRotatedLog(dir);
  std::string name = "audit-verify";
  std::vector<char*> argv = {name.data(), path.data()};
  EXPECT_EQ(runAuditVerify(static_cast<int>(argv.size()), argv.data()), 0);
}

}  // namespace
}  // namespace dockerbox::broker::audit
