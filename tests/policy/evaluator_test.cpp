#include "policy/evaluator.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::policy::test {
namespace {

class EveryOperation : public ::testing::TestWithParam<std::string_view> {};

TEST_P(EveryOperation, EmptyPolicyDenies) {
  Request request = op(std::string(GetParam()));
  for (const Policy& policy :
       {Policy{}, parseOk(""), parseOk("[settings]\ndefault_visibility = 'all'")}) {
    for (const Subject& who : {root(), alice(), carol()}) {
      auto d = evaluate(policy, who, request);
      EXPECT_EQ(d.effect, Effect::Deny) << GetParam();
      EXPECT_FALSE(d.wouldDeny);
      EXPECT_EQ(d.visibility, Visibility::Own);
    }
  }
}

TEST_P(EveryOperation, AllowedOnlyWhereARuleSaysSo) {
  auto policy = parseOk("[[rule]]\nname='r'\ngroups=['dockerbox-users']\nallow=['" +
                        std::string(GetParam()) + "']");
  for (auto other : kOperations) {
    bool expected = other == GetParam();
    EXPECT_EQ(evaluate(policy, alice(), op(std::string(other))).allowed(), expected) << other;
    EXPECT_FALSE(evaluate(policy, carol(), op(std::string(other))).allowed()) << other;
  }
}

INSTANTIATE_TEST_SUITE_P(Table, EveryOperation, ::testing::ValuesIn(kOperations),
                         [](const auto& param) {
                           std::string name(param.param);
                           for (auto& c : name) c = c == '.' ? '_' : c;
                           return name;
                         });

TEST(Evaluate, UnknownOperationIsDeniedEvenUnderAuditAndStar) {
  auto policy = parseOk(
      "[settings]\nmode='audit'\n[[rule]]\nname='all'\nusers=['0']\nallow=['*']\nmode='audit'");
  for (const char* name : {"", "containers.explode", "containers.*", "*", "system.version\n"}) {
    auto d = evaluate(policy, root(), op(name));
    EXPECT_EQ(d.effect, Effect::Deny) << name;
    EXPECT_FALSE(d.wouldDeny);
    EXPECT_NE(d.reason.find("unknown operation"), std::string::npos);
  }
}

TEST(Evaluate, NoRuleAllowsNamesTheOperation) {
  auto d = evaluate(parseOk(""), alice(), op("images.remove"));
  EXPECT_EQ(d.reason, "no rule allows images.remove");
  EXPECT_TRUE(d.rule.empty());
  EXPECT_EQ(denialMessage(d), "denied by policy: no rule allows images.remove");
}

TEST(Evaluate, SubjectMatching) {
  struct Case {
    const char* subjects;
    bool alice;
  };
  const Case cases[] = {
      {"users=['alice']", true},
      {"users=['1000']", true},
      {"users=[1000]", true},
      {"users=['bob']", false},
      {"users=['1001']", false},
      {"groups=['dockerbox-users']", true},
      {"groups=['2000']", true},
      {"groups=['team']", true},
      {"groups=['3000']", true},  // supplementary
      {"groups=['1000']", true},
      {"groups=['alice']", true},  // primary gid and its name
      {"groups=['wheel']", false},
      {"groups=['0']", false},
      {"users=['root']", false},
      {"users=['Alice']", false},
      {"users=['bob'] \ngroups=['team']", true},
  };
  for (const auto& c : cases) {
    auto policy =
        parseOk(std::string("[[rule]]\nname='r'\nallow=['system.version']\n") + c.subjects);
    EXPECT_EQ(evaluate(policy, alice(), op("system.version")).allowed(), c.alice) << c.subjects;
  }
  // A caller without a name is matched by ids only; an empty name never matches.
  Subject nameless = alice();
  nameless.userName.clear();
  nameless.groupNames.clear();
  EXPECT_FALSE(
      evaluate(parseOk("[[rule]]\nname='r'\nallow=['*']\nusers=['alice']\ngroups=['team']"),
               nameless, op("system.info"))
          .allowed());
  EXPECT_TRUE(evaluate(parseOk("[[rule]]\nname='r'\nallow=['*']\ngroups=['3000']"), nameless,
                       op("system.info"))
                  .allowed());
}

constexpr const char* kOrdered = R"(
[[rule]]
name = "ops-team"
groups = ["team"]
allow = ["containers.create"]
privileged = true

[[rule]]
name = "members"
groups = ["dockerbox-users"]
allow = ["containers.*", "images.list"]

[[rule]]
name = "late"
groups = ["dockerbox-users"]
allow = ["images.*"]
privileged = true
)";

TEST(Evaluate, FirstMatchingRuleThatAllowsDecides) {
  auto policy = parseOk(kOrdered);
  ContainerSpec privileged;
  privileged.privileged = true;
  // alice is in team: the first rule decides create.
  auto d = evaluate(policy, alice(), create(privileged));
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.rule, "ops-team");
  // bob is not: members decides, and its constraint denies; "late" is never consulted.
  d = evaluate(policy, bob(), create(privileged));
  EXPECT_FALSE(d.allowed());
  EXPECT_EQ(d.rule, "members");
  EXPECT_EQ(
      denialMessage(d),
      "denied by policy rule members: privileged mode requires a rule with privileged = true");
  // alice matches ops-team, which does not allow containers.list: falls through to members.
  EXPECT_EQ(evaluate(policy, alice(), op("containers.list")).rule, "members");
  // images.pull: members matches the caller but not the operation; late decides.
  EXPECT_EQ(evaluate(policy, bob(), op("images.pull")).rule, "late");
  EXPECT_EQ(evaluate(policy, bob(), op("images.list")).rule, "members");
  EXPECT_FALSE(evaluate(policy, carol(), op("containers.list")).allowed());
}

TEST(Evaluate, AuditModeAllowsButFlags) {
  ContainerSpec privileged;
  privileged.privileged = true;
  auto global = parseOk(
      "[settings]\nmode='audit'\n[[rule]]\nname='m'\ngroups=['dockerbox-users']\nallow=['"
      "containers.*']");
  auto d = evaluate(global, alice(), create(privileged));
  EXPECT_EQ(d.effect, Effect::Allow);
  EXPECT_TRUE(d.wouldDeny);
  EXPECT_EQ(d.rule, "m");
  EXPECT_NE(d.reason.find("privileged"), std::string::npos);
  // "no rule allows" follows settings.mode.
  d = evaluate(global, alice(), op("images.remove"));
  EXPECT_EQ(d.effect, Effect::Allow);
  EXPECT_TRUE(d.wouldDeny);
  EXPECT_EQ(d.visibility, Visibility::Own);
  // A clean request in audit mode is a plain allow.
  d = evaluate(global, alice(), create({}));
  EXPECT_TRUE(d.allowed());
  EXPECT_FALSE(d.wouldDeny);

  // Per-rule mode overrides settings.mode, both ways.
  auto perRule = parseOk(R"(
[settings]
mode = "audit"
[[rule]]
name = "strict"
users = ["alice"]
allow = ["containers.create"]
mode = "enforce"
[[rule]]
name = "staged"
users = ["bob"]
allow = ["containers.create"]
)");
  EXPECT_EQ(evaluate(perRule, alice(), create(privileged)).effect, Effect::Deny);
  EXPECT_TRUE(evaluate(perRule, bob(), create(privileged)).wouldDeny);
  auto staged =
      parseOk("[[rule]]\nname='s'\nusers=['bob']\nallow=['containers.create']\nmode='audit'");
  d = evaluate(staged, bob(), create(privileged));
  EXPECT_TRUE(d.allowed());
  EXPECT_TRUE(d.wouldDeny);
  EXPECT_FALSE(evaluate(staged, bob(), op("containers.list")).allowed());  // no rule: enforce
}

TEST(Evaluate, VisibilityComesFromTheDecidingRule) {
  auto policy = parseOk(R"(
[settings]
default_visibility = "group"
[[rule]]
name = "root"
users = ["0"]
allow = ["*"]
visibility = "all"
[[rule]]
name = "members"
groups = ["dockerbox-users"]
allow = ["containers.list"]
)");
  EXPECT_EQ(evaluate(policy, root(), op("containers.list")).visibility, Visibility::All);
  EXPECT_EQ(evaluate(policy, alice(), op("containers.list")).visibility, Visibility::Group);
  EXPECT_EQ(evaluate(policy, alice(), op("containers.logs")).visibility,
            Visibility::Own);  // denied
}

TEST(CanSee, Table) {
  const Owner byAlice{1000, 1000}, byBobInTeam{1001, kTeamGid}, byRoot{0, 0};
  EXPECT_TRUE(canSee(Visibility::Own, alice(), byAlice));
  EXPECT_FALSE(canSee(Visibility::Own, alice(), byBobInTeam));
  EXPECT_FALSE(canSee(Visibility::Own, bob(), byAlice));
  EXPECT_TRUE(
      canSee(Visibility::Group, alice(), byBobInTeam));     // team is alice's supplementary group
  EXPECT_FALSE(canSee(Visibility::Group, bob(), byAlice));  // alice's primary group is her own
  EXPECT_TRUE(canSee(Visibility::Group, bob(), Owner{1000, kUsersGid}));
  EXPECT_FALSE(canSee(Visibility::Group, alice(), byRoot));
  EXPECT_TRUE(canSee(Visibility::All, alice(), byRoot));
  EXPECT_FALSE(canSee(static_cast<Visibility>(42), alice(), byAlice));

  Decision allowAll;
  allowAll.effect = Effect::Allow;
  allowAll.visibility = Visibility::All;
  EXPECT_TRUE(canSee(allowAll, alice(), byRoot));
  Decision denied = allowAll;
  denied.effect = Effect::Deny;
  EXPECT_FALSE(canSee(denied, alice(), byAlice));
}

TEST(Explain, TracesEveryRule) {
  auto policy = parseOk(kOrdered);
  ContainerSpec spec;
  spec.privileged = true;
  auto e = explain(policy, bob(), create(spec));
  EXPECT_EQ(e.decision.rule, "members");
  ASSERT_EQ(e.trace.size(), 3U);
  EXPECT_EQ(e.trace[0].outcome, RuleOutcome::SubjectMismatch);
  EXPECT_EQ(e.trace[1].outcome, RuleOutcome::Decided);
  EXPECT_EQ(e.trace[2].outcome, RuleOutcome::NotReached);
  EXPECT_EQ(e.trace[1].line, 8U);
  ASSERT_EQ(e.trace[1].violations.size(), 1U);
  EXPECT_NE(e.trace[1].detail.find("groups entry 'dockerbox-users'"), std::string::npos);
  auto text = e.toString();
  EXPECT_NE(text.find("DENY by rule members"), std::string::npos) << text;
  EXPECT_NE(text.find("rule ops-team (line 2): subject does not match"), std::string::npos) << text;

  auto pull = explain(policy, bob(), op("images.pull"));
  EXPECT_EQ(pull.trace[1].outcome, RuleOutcome::OperationNotAllowed);
  EXPECT_EQ(pull.trace[2].outcome, RuleOutcome::Decided);
  EXPECT_EQ(pull.decision.effect, evaluate(policy, bob(), op("images.pull")).effect);
}

TEST(Explain, AgreesWithEvaluate) {
  auto policy = parseOk(kOrdered);
  for (const Subject& who : {root(), alice(), bob(), carol()}) {
    for (auto name : kOperations) {
      auto d = evaluate(policy, who, op(std::string(name)));
      auto e = explain(policy, who, op(std::string(name)));
      EXPECT_EQ(d.effect, e.decision.effect) << name;
      EXPECT_EQ(d.rule, e.decision.rule) << name;
      EXPECT_EQ(d.reason, e.decision.reason) << name;
    }
  }
}

}  // namespace
}  // namespace dockerbox::policy::test
