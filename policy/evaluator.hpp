// The evaluator: (policy, kernel-attested subject, typed request) -> decision. Pure and total:
// every path that is not an explicit allow denies, and an exception inside denies.
#pragma once

#include "policy/policy.hpp"
#include "policy/request.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::policy {

enum class Effect { Allow, Deny };

struct Decision {
  Effect effect = Effect::Deny;
  bool wouldDeny = false;  // audit mode: allowed, but enforce mode would have denied
  std::string rule;        // the deciding rule; empty when no rule decided
  std::string reason;      // safe to show the client
  std::string detail;      // for administrators (audit log, explain); may name host paths
  Visibility visibility = Visibility::Own;      // for list/inspect/logs/...; see canSee()
  std::optional<std::uint64_t> injectMemory;    // set HostConfig.Memory to this (bytes)
  std::optional<std::uint64_t> injectNanoCpus;  // set HostConfig.NanoCpus to this
  /// What the deciding rule grants beyond Docker's default container (allowed decisions
  /// only): the broker builds each container's confinement from them. `privileged` also
  /// means "may run unconfined where miniboxd cannot take dockerbox-init".
  Privileged privileged = Privileged::Denied;
  RootUser rootUser = RootUser::Denied;

  [[nodiscard]] bool allowed() const { return effect == Effect::Allow; }
};

/// Decides one request. See the semantics block in policy.hpp.
[[nodiscard]] Decision evaluate(const Policy& policy, const Subject& subject,
                                const Request& request);

/// How one rule took part in a decision.
enum class RuleOutcome {
  SubjectMismatch,      // no users/groups entry matches the caller
  OperationNotAllowed,  // the caller matches, but `allow` does not cover the operation
  Decided,              // this rule decided (see Explanation::decision)
  NotReached,           // an earlier rule decided
};

struct RuleTrace {
  std::string rule;
  std::uint32_t line = 0;
  RuleOutcome outcome = RuleOutcome::NotReached;
  std::string detail;                   // which entry matched, or why none did
  std::vector<std::string> violations;  // Decided only: every constraint that failed, with detail
};

/// The decision plus, for every rule in file order, what happened to it
/// (`dockerboxctl explain`). Meant for administrators: it includes resolved host paths.
struct Explanation {
  Decision decision;
  std::vector<RuleTrace> trace;

  /// Multi-line human-readable text.
  [[nodiscard]] std::string toString() const;
};

[[nodiscard]] Explanation explain(const Policy& policy, const Subject& subject,
                                  const Request& request);

/// Whether `subject` may see an object created by `owner` (P7). Objects a caller may not see
/// are reported as missing (404), not as forbidden.
///   Own:   owner.uid == subject.uid.
///   Group: Own, or the owner's primary gid (recorded at creation) is the subject's gid or one
///          of the subject's supplementary groups: the rule Unix applies to a file's group.
///          A user who wants to share runs docker with that group as primary (`sg team -c`).
///   All:   every object.
[[nodiscard]] bool canSee(Visibility visibility, const Subject& subject, const Owner& owner);

/// As above with the decision's visibility; false for a denied decision.
[[nodiscard]] bool canSee(const Decision& decision, const Subject& subject, const Owner& owner);

/// The client's message for a denial: "denied by policy rule <rule>: <reason>", or
/// "denied by policy: <reason>" when no rule decided.
[[nodiscard]] std::string denialMessage(const Decision& decision);

[[nodiscard]] std::string_view toString(RuleOutcome outcome);

}  // namespace dockerbox::policy
