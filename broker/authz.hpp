// Runs as root. Input: validated requests (after broker::decodeWorkerMessage), kernel-attested
// identities (peer.hpp), the account database, and the root-owned policy file.
//
// The broker side of policy (issue 4, design P2 and P7): hold the current policy (reloaded
// on SIGHUP, fail closed), look up the caller's account, turn the request into the
// policy's request (policy_request.hpp) and produce the gate's decision. Every path that is
// not an explicit allow by a loaded policy is a denial: no policy, an account lookup that
// failed, a request the policy cannot judge, an exception.
#pragma once

#include "broker/audit/record.hpp"
#include "broker/gate.hpp"
#include "broker/peer.hpp"
#include "broker/policy_request.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"
#include "policy/evaluator.hpp"
#include "policy/policy.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker {

/// Operations the shipped policy (deploy/policy.toml: "volumes.*", "networks.list",
/// "networks.inspect") grants but the request union does not have yet. The parser is told
/// they exist so that the shipped file loads. No request can name them (the decoder has no
/// union member for them), so knowing them allows nothing. Remove a name when its
/// operation joins kOperations; a test fails while a name is in both lists.
inline constexpr std::array<std::string_view, 3> kReservedOperationNames = {
    "images.tag",
    "networks.list",
    "networks.inspect",
};

/// kOperations' audit names, then kReservedOperationNames: the operations the policy knows.
[[nodiscard]] std::vector<std::string_view> policyOperationNames();

/// The current policy. Starts with the file at `path` (DOCKERBOX_POLICY); when that file is
/// missing or invalid it holds the empty policy, which denies every request (P2), and the
/// broker still starts so that clients get clear denials. Thread-safe: requests read it
/// while SIGHUP replaces it.
class PolicyHolder {
 public:
  /// Loads `path` and logs the result (critical when nothing valid is loaded).
  explicit PolicyHolder(std::string path, policy::FileTrust trust = policy::FileTrust::RequireRootOwned);

  /// Re-reads the file. Swaps the new policy in only when it is valid; otherwise keeps the
  /// current one and returns why (Error::message: every diagnostic, file:line:column). The
  /// caller logs it and writes reloadEvent() to the audit log.
  [[nodiscard]] Result<void> reload();

  /// The policy to decide with; never null. A decision keeps its snapshot across a reload.
  [[nodiscard]] std::shared_ptr<const policy::Policy> current() const;
  /// False until a file has loaded: every request is then denied.
  [[nodiscard]] bool hasValidPolicy() const;
  [[nodiscard]] const std::string& path() const { return path_; }
  /// How the load at construction went, for the start-up audit record.
  [[nodiscard]] const Result<void>& startupResult() const { return startup_; }

  /// What `dockerboxctl status` reports of the policy in force (status_file.hpp).
  struct LoadRecord {
    std::int64_t loadedAt = 0;  // unix seconds; 0 when nothing has loaded
    std::string sha256;         // of the file as read right after the load
    std::string lastError;      // of the last load or reload; empty when it succeeded
  };
  [[nodiscard]] LoadRecord loadRecord() const;

 private:
  Result<void> load();

  std::string path_;
  policy::FileTrust trust_;
  mutable std::mutex mutex_;  // guards policy_ and valid_
  std::shared_ptr<const policy::Policy> policy_;
  bool valid_ = false;
  LoadRecord record_;  // guarded by mutex_
  Result<void> startup_;
};

/// The audit record of a load attempt (start-up or SIGHUP).
[[nodiscard]] audit::PolicyReloadEvent reloadEvent(const PolicyHolder& holder, const Result<void>& result);

/// The caller as the policy sees them: the kernel's ids, plus names and home from the
/// account database (getpwuid_r/getgrgid_r). An id without an entry keeps no name (numeric
/// policy entries still match it); a lookup that itself fails (NSS error) is an error, so
/// the request is denied rather than judged on a guess.
[[nodiscard]] Result<policy::Subject> subjectFor(const Identity& who);

/// What the dispatcher needs from the policy for one request.
struct Authorization {
  GateDecision gate;  // for Gate::open; a denial reads "denied by policy rule <rule>: <reason>"
  policy::Visibility visibility = policy::Visibility::Own;  // for canSee() in list/inspect/...
  std::optional<std::uint64_t> injectMemory;    // containers.create: set Memory when unset
  std::optional<std::uint64_t> injectNanoCpus;  // containers.create: set NanoCpus when unset
  std::vector<ResolvedBind> resolvedBinds;      // allowed create: mount these paths
  /// The deciding rule's grants (allowed requests only), for the confinement of a run or exec.
  policy::Privileged privileged = policy::Privileged::Denied;
  policy::RootUser rootUser = policy::RootUser::Denied;
  std::string detail;  // for the broker's log only: may name resolved host paths
};

/// Decides one request with the caller's own bind-source checks (checkBindSource), made in
/// the mount namespace of the miniboxd behind `miniboxSocket` (the broker's own when it
/// cannot be reached: the start pins in miniboxd's anyway).
[[nodiscard]] Authorization authorize(const PolicyHolder& holder, const Identity& who, const Operation& op,
                                      const std::string& miniboxSocket);
/// The same with another probe (tests, explain).
[[nodiscard]] Authorization authorize(const PolicyHolder& holder, const Identity& who, const Operation& op,
                                      const BindProbe& probe);

/// Whether the caller may see an object created by `owner` (P7): objects they may not see
/// are answered as missing (404). False for a denied request.
[[nodiscard]] bool canSee(const Authorization& authz, const Identity& who, const policy::Owner& owner);

/// The groups a login of account `name` gets (getgrouplist: `gid` and every group listing
/// the name), at most the kernel's NGROUPS_MAX.
[[nodiscard]] std::vector<gid_t> loginGroups(const char* name, gid_t gid);

/// `uid` as a login would be now: `gid` and the groups of its account in the password and
/// group databases (only `gid` when it has no account); an error when the lookup failed.
[[nodiscard]] Result<Identity> loginIdentity(uid_t uid, gid_t gid);

/// Applies an allowed create's facts to the spec the handler runs: the resolved host path
/// replaces each bind source (and volume device), and the rule's default Memory/NanoCpus
/// fill limits the client left unset.
void applyAuthorization(const Authorization& authz, ContainerSpec& spec);

/// The same for the whole operation: the spec, and the canonical ContainerConfig words the
/// container service stores and later starts from (so what runs is what was judged). An
/// error (a config that does not match the spec) must fail the request.
[[nodiscard]] Result<void> applyAuthorization(const Authorization& authz, CreateContainerOp& op);

}  // namespace dockerbox::broker
