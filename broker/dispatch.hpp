// Runs as root. Input: validated requests (after broker::decodeWorkerMessage).
//
// The one dispatch table (style.md §4.4): every member of the IPC request union has exactly
// one entry here, naming it for the audit log and the policy, and one handler. A unit test
// walks the union by schema reflection and fails if a member has no entry; std::visit
// makes a missing handler a compile error.
#pragma once

#include "broker/peer.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <boost/asio/awaitable.hpp>

#include <array>
#include <string_view>
#include <variant>

namespace dockerbox::broker {

class Handlers;

/// Whether an operation changes anything: read-only operations may not be denied in audit
/// mode differently, but every entry is still checked by policy.
enum class Effect { ReadOnly, Mutating };

struct OperationInfo {
  std::string_view wireName;   // the member's name in ipc/dockerbox.capnp (Request.op)
  std::string_view auditName;  // stable name in the audit log and the policy file
  Effect effect;
};

/// Indexed like the Operation variant.
inline constexpr std::array<OperationInfo, std::variant_size_v<Operation>> kOperations = {{
    {"version", "system.version", Effect::ReadOnly},
    {"info", "system.info", Effect::ReadOnly},
    {"listContainers", "containers.list", Effect::ReadOnly},
    {"listImages", "images.list", Effect::ReadOnly},
}};

/// Runs one validated request for `who` and fills `out` with the reply. Every path that
/// is not an explicit success fills an error reply (fail closed).
boost::asio::awaitable<void> dispatch(Handlers& handlers, const Identity& who, const ValidatedRequest& request,
                                      ipc::wire::Response::Builder out);

}  // namespace dockerbox::broker
