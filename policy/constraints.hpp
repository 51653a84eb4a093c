// The constraints of the rule that decides a request (see the semantics in policy.hpp):
// privilege-raising fields, root user, network, images, resources, mounts and published
// ports.
#pragma once

#include "policy/policy.hpp"
#include "policy/request.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::policy {

/// One refused field. `reason` may be shown to the client: it repeats only what the client
/// sent. `detail` is for administrators (explain, audit): it may name resolved host paths,
/// which the client must not learn (a symlink's target, whether a path exists).
struct Violation {
  std::string reason;
  std::string detail;
};

struct ConstraintResult {
  std::vector<Violation> violations;  // empty: every constraint holds
  std::optional<std::uint64_t> injectMemory;
  std::optional<std::uint64_t> injectNanoCpus;
};

/// Checks every part of `request` that the rule constrains. Never throws on any input
/// except allocation failure.
[[nodiscard]] ConstraintResult checkConstraints(const Rule& rule, const Subject& subject,
                                                const Request& request);

/// The SecurityOpt entries allowed without `privileged`: they only take privileges away.
[[nodiscard]] bool isSafeSecurityOpt(std::string_view option);

}  // namespace dockerbox::policy
