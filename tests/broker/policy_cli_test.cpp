// `dockerboxctl check-policy` and `dockerboxctl explain`, called the way main() calls them.
#include "broker/policy_cli.hpp"

#include "authz_test_support.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace dockerbox::broker {
namespace {

using namespace testing;

struct Run {
  int code = -1;
  std::string out, err;
};

Run run(const std::vector<std::string>& args) {
  std::ostringstream out;
  std::ostringstream err;
  Run r;
  r.code = runAdminCommand(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(CheckPolicy, TheShippedPolicyIsValid) {
  auto r = run({"check-policy", DOCKERBOX_DEFAULT_POLICY});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("OK: ", 0), 0U) << r.out;
  EXPECT_NE(r.out.find("2 rule(s)"), std::string::npos) << r.out;
}

TEST(CheckPolicy, EveryProblemIsReportedWithLineAndColumn) {
  TempTree tree;
  tree.file("bad.toml", "[[rule]]\nname = \"x\"\nusers = [\"0\"]\nallow = [\"containers.explode\"]\nalow = 1\n");
  auto r = run({"check-policy", tree.path("bad.toml")});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find(tree.path("bad.toml") + ":4:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unknown operation 'containers.explode'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(tree.path("bad.toml") + ":5:1: "), std::string::npos) << r.out;
}

TEST(CheckPolicy, UsageErrorsExitTwo) {
  EXPECT_EQ(run({"check-policy"}).code, 2);
  EXPECT_EQ(run({"check-policy", "a", "b"}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"check-policy", "--help"}).code, 0);
}

TEST(Explain, NamesTheDecidingRuleAndWhy) {
  auto r = run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "0", "containers.create", "--image",
                "alpine", "--privileged", "--bind", "/:/host"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("ALLOW by rule root"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("image docker.io/library/alpine:latest"), std::string::npos) << r.out;

  r = run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "nobody", "containers.create", "--image",
           "alpine", "--user-in-container", "0:0"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("DENY (no rule): no rule allows containers.create"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rule root (line "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("client sees: denied by policy: no rule allows containers.create"), std::string::npos)
      << r.out;
}

TEST(Explain, ShowsEveryViolationOfTheDecidingRule) {
  TempTree tree;
  tree.file("p.toml", shippedPolicyWith({{"groups = [\"dockerbox-users\"]", "users = [\"nobody\"]"}}));
  auto r = run({"explain", "--policy", tree.path("p.toml"), "--user", "65534", "containers.create", "--image",
                "alpine", "--privileged", "--network", "host", "--user-in-container", "00"});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("rule members (line "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("violation: privileged mode"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("violation: network mode 'host'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("violation: User '00' runs as root"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("client sees: denied by policy rule members: privileged mode"), std::string::npos) << r.out;
}

TEST(Explain, RefusesFlagsThatDoNotApplyAndUnknownOperations) {
  EXPECT_EQ(run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "0", "containers.list", "--privileged"})
                .code,
            2);
  EXPECT_EQ(run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "0", "containers.explode"}).code, 2);
  EXPECT_EQ(run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "0", "containers.create"}).code, 2);
  EXPECT_EQ(run({"explain", "--policy", DOCKERBOX_DEFAULT_POLICY, "--user", "no-such-user-x", "containers.list"})
                .code,
            2);
  EXPECT_EQ(run({"explain", "--policy", "/nonexistent/policy.toml", "--user", "0", "containers.list"}).code, 2);
}

}  // namespace
}  // namespace dockerbox::broker
