// Runs as host root with every capability (what miniboxd gives a container, protocol §11)
// and ends as the container's user. Input: the broker's config; the user came from the
// container's /etc/passwd through passwd.cpp.
#include "init/privileges.hpp"

#include "init/seccomp_profile.hpp"
#include "init/sys_error.hpp"

#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <string>

namespace dockerbox::init {
namespace {

std::uint64_t allCapabilitiesMask() {
  int last = lastCapability();
  return last >= 63 ? ~0ULL : (1ULL << (last + 1)) - 1;
}

Error mismatch(std::string_view what) {
  return fail(ErrorKind::Internal, "privilege check: " + std::string(what) +
                                       " in /proc/self/status differs from what was set");
}

/// Docker's ulimits. With RlimitRaise::Refuse a hard limit may only be lowered, so the
/// policy cannot be bypassed by asking for more than miniboxd itself was given.
Result<void> applyRlimits(const InitConfig& config) {
  for (const auto& limit : config.rlimits) {
    int resource = rlimitResource(limit.name);
    std::string what = "setrlimit " + limit.name;
    if (resource < 0) return fail(ErrorKind::Internal, what + ": unknown limit");
    rlimit current{};
    if (auto ok = sysCheck(::getrlimit(resource, &current), what); !ok) return ok;
    if (config.rlimitRaise == RlimitRaise::Refuse && limit.hard > current.rlim_max) {
      return fail(ErrorKind::BadRequest,
                  what + ": hard limit above the inherited one (" +
                      std::to_string(current.rlim_max) + ")");
    }
    rlimit wanted{limit.soft, limit.hard};
    if (auto ok = sysCheck(::setrlimit(resource, &wanted), what); !ok) return ok;
  }
  return {};
}

/// Removes every capability not in `keep` from the bounding set, so that no later execve
/// (of a setuid or file-capability binary, or as uid 0) can regain it.
Result<void> limitBoundingSet(std::uint64_t keep) {
  int last = lastCapability();
  for (int cap = 0; cap <= last; ++cap) {
    if ((keep >> cap) & 1U) continue;
    auto ok = sysCheck(::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0),
                       "drop capability " + std::to_string(cap) + " from the bounding set");
    if (!ok) return ok;
  }
  return {};
}

/// Sets permitted and effective to `caps` and inheritable to nothing.
Result<void> setCapabilities(std::uint64_t caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int half = 0; half < _LINUX_CAPABILITY_U32S_3; ++half) {
    auto bits = static_cast<std::uint32_t>(caps >> (32 * half));
    data[half].permitted = bits;
    data[half].effective = bits;
    data[half].inheritable = 0;
  }
  return sysCheck(::syscall(SYS_capset, &header, data), "capset");
}

Result<void> setIds(uid_t uid, gid_t gid, const std::vector<gid_t>& groups) {
  if (auto ok = sysCheck(::setgroups(groups.size(), groups.data()), "setgroups"); !ok) return ok;
  if (auto ok = sysCheck(::setresgid(gid, gid, gid), "setresgid"); !ok) return ok;
  return sysCheck(::setresuid(uid, uid, uid), "setresuid");
}

Result<void> clearAmbientAndSetNoNewPrivs() {
  auto ok = sysCheck(::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
                     "clear ambient capabilities");
  if (!ok) return ok;
  return sysCheck(::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "set no_new_privs");
}

Result<void> verifyState(const ProcessState& expected) {
  ProcessState actual;
  DOCKERBOX_TRY_ASSIGN(actual, readProcessState());
  return checkState(actual, expected);
}

}  // namespace

int lastCapability() {
  int cap = 0;
  while (cap < 64 && ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0) ++cap;
  return cap - 1;
}

Result<void> checkUserAllowed(const InitConfig& config, const ExecUser& user) {
  if (config.userCheck == UserCheck::Any) return {};
  bool rootGroup = std::find(user.supplementaryGroups.begin(), user.supplementaryGroups.end(),
                             gid_t{0}) != user.supplementaryGroups.end();
  if (user.uid == 0 || user.gid == 0 || rootGroup) {
    return fail(ErrorKind::BadRequest,
                "user \"" + config.user + "\" resolves to root (uid, gid or group 0), " +
                    "which the policy does not allow here");
  }
  return {};
}

// The order, and why (runc's finalizeNamespace, OpenSSH's privsep_child_demote):
//  1. rlimits first: raising one (RlimitRaise::Allow) needs CAP_SYS_RESOURCE.
//  2. the bounding set while still uid 0: PR_CAPBSET_DROP needs CAP_SETPCAP.
//  3. groups, then gid, then uid: each needs CAP_SETGID/CAP_SETUID, which setresuid to a
//     non-zero uid clears. PR_SET_KEEPCAPS stays off (it is reset by every execve), so a
//     non-root user loses permitted and effective here; step 4 states the result anyway.
//  4. capset: for uid 0 permitted = effective = the config's set; for others nothing;
//     inheritable nothing. Only lowering, so it works after step 3.
//  5. ambient cleared and no_new_privs: no execve can add a privilege from here on.
//  6. seccomp last: the filter may block prctl, capset and setresuid used above.
// Then the kernel's view is read back; any difference is fatal.
Result<void> dropPrivileges(const InitConfig& config, const ExecUser& user) {
  const std::uint64_t caps = config.capabilities & allCapabilitiesMask();
  if (auto ok = applyRlimits(config); !ok) return ok;
  if (auto ok = limitBoundingSet(caps); !ok) return ok;
  if (auto ok = sysCheck(::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), "clear keepcaps"); !ok) return ok;
  if (auto ok = setIds(user.uid, user.gid, user.supplementaryGroups); !ok) return ok;
  if (auto ok = setCapabilities(user.uid == 0 ? caps : 0); !ok) return ok;
  if (auto ok = clearAmbientAndSetNoNewPrivs(); !ok) return ok;
  if (config.seccomp == Seccomp::Default) {
    if (auto ok = loadDockerDefaultSeccomp(config.capabilities); !ok) return ok;
  }
  return verifyState(expectedState(config, user));
}

ProcessState expectedState(const InitConfig& config, const ExecUser& user) {
  const std::uint64_t caps = config.capabilities & allCapabilitiesMask();
  ProcessState s;
  s.uids.fill(user.uid);
  s.gids.fill(user.gid);
  s.groups = user.supplementaryGroups;
  std::sort(s.groups.begin(), s.groups.end());
  s.capBounding = caps;
  s.capPermitted = user.uid == 0 ? caps : 0;
  s.capEffective = s.capPermitted;
  s.noNewPrivs = 1;
  s.seccompMode = config.seccomp == Seccomp::Default ? 2 : 0;
  return s;
}

Result<void> checkState(const ProcessState& actual, const ProcessState& expected) {
  if (actual.uids != expected.uids) return mismatch("Uid");
  if (actual.gids != expected.gids) return mismatch("Gid");
  if (actual.groups != expected.groups) return mismatch("Groups");
  if (actual.capInheritable != expected.capInheritable) return mismatch("CapInh");
  if (actual.capPermitted != expected.capPermitted) return mismatch("CapPrm");
  if (actual.capEffective != expected.capEffective) return mismatch("CapEff");
  if (actual.capBounding != expected.capBounding) return mismatch("CapBnd");
  if (actual.capAmbient != expected.capAmbient) return mismatch("CapAmb");
  if (actual.noNewPrivs != expected.noNewPrivs) return mismatch("NoNewPrivs");
  if (actual.seccompMode != expected.seccompMode) return mismatch("Seccomp");
  return {};
}

// The reaper stays uid 0 (it must outlive and signal a child of any uid) but keeps only
// CAP_KILL. Same order as dropPrivileges, for the same reasons; its own state is checked
// before the seccomp filter, which may not allow reading /proc.
Result<void> dropReaperPrivileges(const ReaperFds& fds) {
  constexpr std::uint64_t kKill = 1ULL << CAP_KILL;
  if (auto ok = limitBoundingSet(kKill); !ok) return ok;
  if (auto ok = setIds(0, 0, {}); !ok) return ok;
  if (auto ok = setCapabilities(kKill); !ok) return ok;
  if (auto ok = clearAmbientAndSetNoNewPrivs(); !ok) return ok;
  ProcessState expected;
  expected.capBounding = kKill;
  expected.capPermitted = kKill;
  expected.capEffective = kKill;
  expected.noNewPrivs = 1;
  expected.seccompMode = 0;
  if (auto ok = verifyState(expected); !ok) return ok;
  return loadReaperSeccomp(fds);
}

}  // namespace dockerbox::init
