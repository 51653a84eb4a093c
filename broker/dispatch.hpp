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
#include <span>
#include <string_view>
#include <variant>

namespace dockerbox::broker {

class Handlers;
class StreamSink;
class Gate;

/// Whether an operation changes anything: read-only operations may not be denied in audit
/// mode differently, but every entry is still checked by policy.
enum class Effect { ReadOnly, Mutating };

using OpTag = ipc::wire::Request::Op::Which;

struct OperationInfo {
  OpTag tag;                   // the member of Request.op in ipc/dockerbox.capnp
  std::string_view wireName;   // its name in the schema
  std::string_view auditName;  // stable name in the audit log and the policy file
  Effect effect;
};

/// Indexed like the Operation variant (request.hpp); a test checks both orders agree.
inline constexpr std::array<OperationInfo, std::variant_size_v<Operation>> kOperations = {{
    {OpTag::VERSION, "version", "system.version", Effect::ReadOnly},
    {OpTag::INFO, "info", "system.info", Effect::ReadOnly},
    {OpTag::LIST_CONTAINERS, "listContainers", "containers.list", Effect::ReadOnly},
    {OpTag::LIST_IMAGES, "listImages", "images.list", Effect::ReadOnly},
    {OpTag::CREATE_CONTAINER, "createContainer", "containers.create", Effect::Mutating},
    {OpTag::INSPECT_CONTAINER, "inspectContainer", "containers.inspect", Effect::ReadOnly},
    {OpTag::START_CONTAINER, "startContainer", "containers.start", Effect::Mutating},
    {OpTag::STOP_CONTAINER, "stopContainer", "containers.stop", Effect::Mutating},
    {OpTag::KILL_CONTAINER, "killContainer", "containers.kill", Effect::Mutating},
    {OpTag::RESTART_CONTAINER, "restartContainer", "containers.restart", Effect::Mutating},
    {OpTag::PAUSE_CONTAINER, "pauseContainer", "containers.pause", Effect::Mutating},
    {OpTag::UNPAUSE_CONTAINER, "unpauseContainer", "containers.unpause", Effect::Mutating},
    {OpTag::WAIT_CONTAINER, "waitContainer", "containers.wait", Effect::ReadOnly},
    {OpTag::REMOVE_CONTAINER, "removeContainer", "containers.remove", Effect::Mutating},
    {OpTag::RENAME_CONTAINER, "renameContainer", "containers.rename", Effect::Mutating},
    {OpTag::CONTAINER_LOGS, "containerLogs", "containers.logs", Effect::ReadOnly},
    {OpTag::ATTACH_CONTAINER, "attachContainer", "containers.attach", Effect::Mutating},
    {OpTag::RESIZE_CONTAINER, "resizeContainer", "containers.resize", Effect::Mutating},
    {OpTag::CREATE_EXEC, "createExec", "exec.create", Effect::Mutating},
    {OpTag::START_EXEC, "startExec", "exec.start", Effect::Mutating},
    {OpTag::INSPECT_EXEC, "inspectExec", "exec.inspect", Effect::ReadOnly},
    {OpTag::RESIZE_EXEC, "resizeExec", "exec.resize", Effect::Mutating},
    {OpTag::EVENTS, "events", "system.events", Effect::ReadOnly},
    {OpTag::PULL_IMAGE, "pullImage", "images.pull", Effect::Mutating},
    {OpTag::INSPECT_IMAGE, "inspectImage", "images.inspect", Effect::ReadOnly},
    {OpTag::REMOVE_IMAGE, "removeImage", "images.remove", Effect::Mutating},
    {OpTag::AUTH, "auth", "system.auth", Effect::ReadOnly},
    {OpTag::LIST_VOLUMES, "listVolumes", "volumes.list", Effect::ReadOnly},
    {OpTag::CREATE_VOLUME, "createVolume", "volumes.create", Effect::Mutating},
    {OpTag::INSPECT_VOLUME, "inspectVolume", "volumes.inspect", Effect::ReadOnly},
    {OpTag::REMOVE_VOLUME, "removeVolume", "volumes.remove", Effect::Mutating},
    {OpTag::PRUNE_VOLUMES, "pruneVolumes", "volumes.prune", Effect::Mutating},
}};

/// The audit name of a wire tag, or "unknown" for a tag not in the table.
[[nodiscard]] std::string_view operationName(OpTag tag);

/// Judges one validated request for `who`, audits it, has the engine serve it (`frame` is
/// the worker's frame it was decoded from) and fills `reply` with the response (its id is
/// the request's). Every path that is not an explicit success fills an error reply (fail
/// closed).
boost::asio::awaitable<void> dispatch(Handlers& handlers, Gate& gate, const Identity& who,
                                      const ValidatedRequest& request, std::span<const capnp::word> frame,
                                      ipc::wire::BrokerMessage::Builder reply, StreamSink& sink);

}  // namespace dockerbox::broker
