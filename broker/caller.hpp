// Runs as root. Input: a kernel-attested identity (peer.hpp) and the visibility the policy
// granted for one request (authz.hpp).
//
// Who is asking, as every handler sees it: the kernel's identity plus what the deciding
// rule lets them see (P7). Objects the caller may not see are answered as missing (404),
// exactly as objects that do not exist, so that nothing about them leaks.
#pragma once

#include "broker/audit/record.hpp"
#include "broker/peer.hpp"
#include "policy/evaluator.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::broker {

/// What the rule that decided a request grants beyond Docker's default container. The
/// broker builds the confinement of every run and exec from these (containers/confinement.hpp);
/// a caller built without a decision has none.
struct Grants {
  policy::Privileged privileged = policy::Privileged::Denied;
  policy::RootUser rootUser = policy::RootUser::Denied;
};

/// Each grant only where both allow it.
[[nodiscard]] inline Grants narrower(const Grants& a, const Grants& b) {
  Grants g;
  if (a.privileged == policy::Privileged::Allowed && b.privileged == policy::Privileged::Allowed) {
    g.privileged = policy::Privileged::Allowed;
  }
  if (a.rootUser == policy::RootUser::Allowed && b.rootUser == policy::RootUser::Allowed) {
    g.rootUser = policy::RootUser::Allowed;
  }
  return g;
}

struct Caller : Identity {
  /// Own unless the policy said more: a caller built without a decision sees only their own.
  policy::Visibility visibility = policy::Visibility::Own;
  Grants grants;

  Caller() = default;
  Caller(Identity who, policy::Visibility v, Grants g = {}) : Identity(std::move(who)), visibility(v), grants(g) {}

  /// Whether an object created by (uid, gid) exists for this caller.
  [[nodiscard]] bool canSee(std::uint32_t ownerUid, std::uint32_t ownerGid) const {
    policy::Subject subject;
    subject.uid = uid;
    subject.gid = gid;
    subject.groups = groups;
    return policy::canSee(visibility, subject, policy::Owner{ownerUid, ownerGid});
  }

  /// The monitor's number for the client request this caller made (act_server.hpp); 0 when
  /// it was not registered.
  std::uint64_t requestId = 0;

  /// A create's or exec create's config as the policy judged it (the stored form): the
  /// only config the monitor seals for this request (containers/monitor_port.hpp).
  std::optional<std::vector<std::uint8_t>> judgedConfig;

  /// Handlers note what the request's references resolved to (the id behind "web", the id
  /// a create made); dispatch writes it into the request's outcome audit record. Mutable:
  /// it is the request's notebook, not part of who is asking.
  void noteResolved(std::string type, std::string id, std::string name) const {
    resolved.push_back({std::move(type), std::move(id), std::move(name)});
  }
  mutable std::vector<audit::ObjectRef> resolved;
};

}  // namespace dockerbox::broker
