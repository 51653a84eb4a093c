// Drops privileges for real in a forked child (root only): the child applies a config and
// the parent checks what the child read back from /proc/self/status.
#include "init/privileges.hpp"

#include <gtest/gtest.h>

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dockerbox::init {
namespace {

// Codes the child exits with, so a failure says which step went wrong.
constexpr int kChildDropFailed = 10;
constexpr int kChildReadFailed = 11;
constexpr int kChildWrongState = 12;
constexpr int kChildRlimitWrong = 13;

/// Runs `body` in a forked child and returns its exit status (or 128 + signal).
template <class F>
int inChild(F&& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int dropAndCheck(const InitConfig& config, const ExecUser& user) {
  if (auto ok = dropPrivileges(config, user); !ok) {
    std::fprintf(stderr, "drop: %s\n", ok.error().message.c_str());
    return kChildDropFailed;
  }
  auto state = readProcessState();
  if (!state) return kChildReadFailed;
  const bool nonRoot = state->uids == std::array<uid_t, 4>{1000, 1000, 1000, 1000} &&
                       state->gids == std::array<gid_t, 4>{1000, 1000, 1000, 1000} &&
                       state->groups == std::vector<gid_t>{50, 1000} &&
                       state->capPermitted == 0 && state->capEffective == 0 &&
                       state->capInheritable == 0 && state->capAmbient == 0 &&
                       state->capBounding == kDockerDefaultCaps && state->noNewPrivs == 1;
  return nonRoot ? 0 : kChildWrongState;
}

class Privileges : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop privileges";
  }
  ExecUser alice() const {
    ExecUser user;
    user.uid = 1000;
    user.gid = 1000;
    user.supplementaryGroups = {50, 1000};
    user.home = "/home/alice";
    return user;
  }
};

TEST_F(Privileges, DropsToAUserWithDockersBoundingSetAndNothingElse) {
  InitConfig config;
  config.seccomp = Seccomp::Unconfined;
  config.rlimits = {{"nofile", 64, 128}};
  EXPECT_EQ(inChild([&] {
              int rc = dropAndCheck(config, alice());
              rlimit lim{};
              if (rc == 0 && (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur != 64 ||
                              lim.rlim_max != 128)) {
                rc = kChildRlimitWrong;
              }
              return rc;
            }),
            0);
}

TEST_F(Privileges, LoadsDockersSeccompProfileLast) {
  InitConfig config;
  EXPECT_EQ(inChild([&] {
              int rc = dropAndCheck(config, alice());
              auto state = readProcessState();
              return rc != 0 ? rc : (state && state->seccompMode == 2 ? 0 : kChildWrongState);
            }),
            0);
}

TEST_F(Privileges, RootKeepsExactlyTheConfiguredCapabilities) {
  InitConfig config;
  config.seccomp = Seccomp::Unconfined;
  config.capabilities = (1ULL << CAP_CHOWN) | (1ULL << CAP_KILL);
  ExecUser root;
  root.supplementaryGroups = {0};
  EXPECT_EQ(inChild([&] {
              if (!dropPrivileges(config, root)) return kChildDropFailed;
              auto state = readProcessState();
              if (!state) return kChildReadFailed;
              bool ok = state->capPermitted == config.capabilities &&
                        state->capEffective == config.capabilities &&
                        state->capBounding == config.capabilities && state->uids[0] == 0;
              return ok ? 0 : kChildWrongState;
            }),
            0);
}

TEST_F(Privileges, RefusesToRaiseAHardLimitUnlessAllowed) {
  InitConfig config;
  config.seccomp = Seccomp::Unconfined;
  EXPECT_EQ(inChild([&] {
              rlimit lim{16, 32};
              if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) return kChildRlimitWrong;
              config.rlimits = {{"nofile", 16, 64}};
              auto dropped = dropPrivileges(config, alice());
              return dropped ? kChildWrongState : 0;
            }),
            0);
}

TEST_F(Privileges, ReaperKeepsOnlyCapKill) {
  EXPECT_EQ(inChild([&] {
              if (auto ok = dropReaperPrivileges(); !ok) {
                std::fprintf(stderr, "reaper: %s\n", ok.error().message.c_str());
                return kChildDropFailed;
              }
              return 0;  // _exit is allowed by the reaper's filter
            }),
            0);
}

TEST(PrivilegeChecks, NotRootRefusesUidGidOrGroupZero) {
  InitConfig config;
  config.userCheck = UserCheck::NotRoot;
  ExecUser user;
  user.uid = 1000;
  user.gid = 1000;
  user.supplementaryGroups = {1000};
  EXPECT_TRUE(checkUserAllowed(config, user));
  user.supplementaryGroups = {0, 1000};
  EXPECT_FALSE(checkUserAllowed(config, user));
  user.supplementaryGroups = {1000};
  user.gid = 0;
  EXPECT_FALSE(checkUserAllowed(config, user));
  user.gid = 1000;
  user.uid = 0;
  EXPECT_FALSE(checkUserAllowed(config, user));
  config.userCheck = UserCheck::Any;
  EXPECT_TRUE(checkUserAllowed(config, user));
}

TEST(PrivilegeChecks, ExpectedStateFollowsTheUser) {
  InitConfig config;
  ExecUser user;
  user.uid = 1000;
  user.gid = 1000;
  auto nonRoot = expectedState(config, user);
  EXPECT_EQ(nonRoot.capPermitted, 0U);
  EXPECT_EQ(nonRoot.capBounding, kDockerDefaultCaps);
  EXPECT_EQ(nonRoot.seccompMode, 2);
  EXPECT_EQ(nonRoot.noNewPrivs, 1);
  user.uid = 0;
  config.seccomp = Seccomp::Unconfined;
  auto root = expectedState(config, user);
  EXPECT_EQ(root.capEffective, kDockerDefaultCaps);
  EXPECT_EQ(root.seccompMode, 0);
}

TEST(PrivilegeChecks, EveryFieldMismatchIsFatal) {
  ProcessState want;
  want.noNewPrivs = 1;
  want.seccompMode = 2;
  EXPECT_TRUE(checkState(want, want));
  const std::vector<void (*)(ProcessState&)> changes = {
      [](ProcessState& s) { s.uids[2] = 1; },       [](ProcessState& s) { s.gids[3] = 1; },
      [](ProcessState& s) { s.groups = {0}; },      [](ProcessState& s) { s.capInheritable = 1; },
      [](ProcessState& s) { s.capPermitted = 1; },  [](ProcessState& s) { s.capEffective = 1; },
      [](ProcessState& s) { s.capBounding = 1; },   [](ProcessState& s) { s.capAmbient = 1; },
      [](ProcessState& s) { s.noNewPrivs = 0; },    [](ProcessState& s) { s.seccompMode = 0; },
  };
  for (auto change : changes) {
    ProcessState got = want;
    change(got);
    EXPECT_FALSE(checkState(got, want));
  }
}

TEST(PrivilegeChecks, LastCapabilityMatchesTheKernel) {
  int last = lastCapability();
  EXPECT_GE(last, CAP_AUDIT_READ);
  EXPECT_LT(last, 64);
}

}  // namespace
}  // namespace dockerbox::init
