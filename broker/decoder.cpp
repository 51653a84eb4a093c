// Runs as root. Input: untrusted frames from a frontend worker.
//
// Every length, charset, enum and union tag is checked here, before anything else in the
// broker sees the request. Limits are named in broker/limits.hpp.
#include "broker/decoder.hpp"

#include "broker/decode_fields.hpp"
#include "broker/dispatch.hpp"
#include "broker/limits.hpp"
#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>
#include <exception>

namespace dockerbox::broker {
namespace {

namespace wire = ipc::wire;
using namespace decode;

Result<ListContainersOp> listContainers(wire::ListContainersRequest::Reader in) {
  std::int32_t limit = in.getLimit();
  if (limit > kMaxListLimit || limit < -1) return malformed("listContainers.limit out of range");
  ListContainersOp out;
  out.all = in.getAll();
  if (limit > 0) out.limit = static_cast<std::uint32_t>(limit);
  return out;
}

Result<StopContainerOp> stopRequest(wire::StopRequest::Reader in) {
  StopContainerOp out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  DOCKERBOX_TRY_ASSIGN(out.timeoutSeconds, timeout(in.getTimeoutSeconds()));
  auto sig = text(in.getSignal(), kMaxSignalBytes, "signal");
  if (!sig) return sig.error();
  if (!sig->empty()) {
    DOCKERBOX_TRY_ASSIGN(out.signal, signalNumber(*sig));
  }
  return out;
}

Result<KillContainerOp> killRequest(wire::KillRequest::Reader in) {
  KillContainerOp out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  auto sig = text(in.getSignal(), kMaxSignalBytes, "signal");
  if (!sig) return sig.error();
  if (!sig->empty()) {
    DOCKERBOX_TRY_ASSIGN(out.signal, signalNumber(*sig));
  }
  return out;
}

Result<WaitContainerOp> waitRequest(wire::WaitRequest::Reader in) {
  WaitContainerOp out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  switch (in.getCondition()) {
    case wire::WaitCondition::NOT_RUNNING: out.condition = WaitCondition::NotRunning; return out;
    case wire::WaitCondition::NEXT_EXIT: out.condition = WaitCondition::NextExit; return out;
    case wire::WaitCondition::REMOVED: out.condition = WaitCondition::Removed; return out;
  }
  return malformed("wait condition out of range");
}

Result<ContainerLogsOp> logsRequest(wire::LogsRequest::Reader in) {
  ContainerLogsOp out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  out.follow = in.getFollow();
  out.stdoutWanted = in.getStdout();
  out.stderrWanted = in.getStderr();
  out.timestamps = in.getTimestamps();
  out.sinceNanos = in.getSinceNanos();
  out.untilNanos = in.getUntilNanos();
  out.tail = in.getTail();
  if (out.sinceNanos < 0 || out.untilNanos < 0) return malformed("logs time out of range");
  if (out.tail < -1 || out.tail > kMaxLogTail) return malformed("logs tail out of range");
  return out;
}

Result<AttachContainerOp> attachRequest(wire::AttachRequest::Reader in) {
  AttachContainerOp out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  out.stdinWanted = in.getStdin();
  out.stdoutWanted = in.getStdout();
  out.stderrWanted = in.getStderr();
  out.logs = in.getLogs();
  out.stream = in.getStream();
  std::string keys;
  DOCKERBOX_TRY_ASSIGN(keys, text(in.getDetachKeys(), kMaxNameBytes, "detachKeys"));
  DOCKERBOX_TRY_ASSIGN(out.detachKeys, detachKeySequence(keys));
  return out;
}

Result<CreateExecOp> execConfig(wire::ExecConfig::Reader in) {
  CreateExecOp out;
  DOCKERBOX_TRY_ASSIGN(out.container, containerRef(in.getContainer()));
  DOCKERBOX_TRY_ASSIGN(out.cmd, textList(in.getCmd(), kMaxArgs, kMaxArgBytes, "exec cmd"));
  if (out.cmd.empty()) return fail(ErrorKind::BadRequest, "No exec command specified");
  DOCKERBOX_TRY_ASSIGN(out.env, envList(in.getEnv()));
  DOCKERBOX_TRY_ASSIGN(out.workingDir, text(in.getWorkingDir(), kMaxPathBytes, "exec workingDir"));
  DOCKERBOX_TRY_ASSIGN(out.user, text(in.getUser(), kMaxNameBytes, "exec user"));
  out.tty = in.getTty();
  out.attachStdin = in.getAttachStdin();
  out.attachStdout = in.getAttachStdout();
  out.attachStderr = in.getAttachStderr();
  out.privileged = in.getPrivileged();
  DOCKERBOX_TRY_ASSIGN(out.detachKeys, text(in.getDetachKeys(), kMaxNameBytes, "exec DetachKeys"));
  if (auto keys = detachKeySequence(out.detachKeys); !keys) return keys.error();
  return out;
}

template <class Op>
Result<Op> refOnly(wire::ContainerRef::Reader in) {
  Op out;
  DOCKERBOX_TRY_ASSIGN(out.ref, containerRef(in.getRef()));
  return out;
}

template <class Op>
Result<Operation> wrap(Result<Op>&& r) {
  if (!r) return r.error();
  return Operation{std::move(*r)};
}

Result<Operation> decodeOp(wire::Request::Op::Reader op) {
  using W = wire::Request::Op;
  switch (op.which()) {
    case W::VERSION: return Operation{VersionOp{}};
    case W::INFO: return Operation{InfoOp{}};
    case W::LIST_CONTAINERS: return wrap(listContainers(op.getListContainers()));
    case W::LIST_IMAGES: return Operation{ListImagesOp{op.getListImages().getAll()}};
    case W::CREATE_CONTAINER: return wrap(createContainer(op.getCreateContainer()));
    case W::INSPECT_CONTAINER: return wrap(refOnly<InspectContainerOp>(op.getInspectContainer()));
    case W::START_CONTAINER: return wrap(refOnly<StartContainerOp>(op.getStartContainer()));
    case W::STOP_CONTAINER: return wrap(stopRequest(op.getStopContainer()));
    case W::KILL_CONTAINER: return wrap(killRequest(op.getKillContainer()));
    case W::RESTART_CONTAINER: {
      auto stop = stopRequest(op.getRestartContainer());
      if (!stop) return stop.error();
      return Operation{RestartContainerOp{std::move(stop->ref), stop->timeoutSeconds}};
    }
    case W::PAUSE_CONTAINER: return wrap(refOnly<PauseContainerOp>(op.getPauseContainer()));
    case W::UNPAUSE_CONTAINER: return wrap(refOnly<UnpauseContainerOp>(op.getUnpauseContainer()));
    case W::WAIT_CONTAINER: return wrap(waitRequest(op.getWaitContainer()));
    case W::REMOVE_CONTAINER: {
      auto in = op.getRemoveContainer();
      auto ref = containerRef(in.getRef());
      if (!ref) return ref.error();
      return Operation{RemoveContainerOp{std::move(*ref), in.getForce(), in.getVolumes()}};
    }
    case W::RENAME_CONTAINER: {
      auto in = op.getRenameContainer();
      auto ref = containerRef(in.getRef());
      if (!ref) return ref.error();
      auto name = text(in.getNewName(), kMaxNameBytes, "new name");
      if (!name) return name.error();
      return Operation{RenameContainerOp{std::move(*ref), std::move(*name)}};
    }
    case W::CONTAINER_LOGS: return wrap(logsRequest(op.getContainerLogs()));
    case W::ATTACH_CONTAINER: return wrap(attachRequest(op.getAttachContainer()));
    case W::RESIZE_CONTAINER: {
      auto in = op.getResizeContainer();
      auto ref = containerRef(in.getRef());
      if (!ref) return ref.error();
      return Operation{ResizeContainerOp{std::move(*ref), in.getHeight(), in.getWidth()}};
    }
    case W::CREATE_EXEC: return wrap(execConfig(op.getCreateExec()));
    case W::START_EXEC: {
      auto in = op.getStartExec();
      auto id = hexId(in.getId(), "exec id");
      if (!id) return id.error();
      return Operation{StartExecOp{std::move(*id), in.getDetach(), in.getTty()}};
    }
    case W::INSPECT_EXEC: {
      auto id = hexId(op.getInspectExec().getId(), "exec id");
      if (!id) return id.error();
      return Operation{InspectExecOp{std::move(*id)}};
    }
    case W::RESIZE_EXEC: {
      auto in = op.getResizeExec();
      auto id = hexId(in.getRef(), "exec id");
      if (!id) return id.error();
      return Operation{ResizeExecOp{std::move(*id), in.getHeight(), in.getWidth()}};
    }
    case W::EVENTS: {
      auto in = op.getEvents();
      EventsOp out{in.getSinceNanos(), in.getUntilNanos(), {}};
      if (out.sinceNanos < 0 || out.untilNanos < 0) return malformed("events time out of range");
      auto filters = in.getFilters();
      if (filters.size() > kMaxListItems) return malformed("too many event filters");
      for (auto f : filters) {
        auto key = text(f.getKey(), kMaxNameBytes, "filter key");
        if (!key) return key.error();
        auto value = text(f.getValue(), kMaxRefBytes, "filter value");
        if (!value) return value.error();
        out.filters.emplace_back(std::move(*key), std::move(*value));
      }
      return Operation{std::move(out)};
    }
    case W::PULL_IMAGE: {
      auto in = op.getPullImage();
      auto ref = imageRef(in.getRef());
      if (!ref) return ref.error();
      auto tag = text(in.getTag(), kMaxNameBytes, "tag");
      if (!tag) return tag.error();
      auto username = text(in.getUsername(), kMaxNameBytes, "registry user name");
      if (!username) return username.error();
      auto password = text(in.getPassword(), kMaxRegistryPasswordBytes, "registry password");
      if (!password) return password.error();
      return Operation{PullImageOp{std::move(*ref), std::move(*tag), std::move(*username), std::move(*password)}};
    }
    case W::INSPECT_IMAGE: {
      auto ref = imageRef(op.getInspectImage().getRef());
      if (!ref) return ref.error();
      return Operation{InspectImageOp{std::move(*ref)}};
    }
    case W::REMOVE_IMAGE: {
      auto in = op.getRemoveImage();
      auto ref = imageRef(in.getRef());
      if (!ref) return ref.error();
      return Operation{RemoveImageOp{std::move(*ref), in.getForce()}};
    }
    case W::LIST_VOLUMES: {
      auto filters = keyValues(op.getListVolumes().getFilters(), "volume filters");
      if (!filters) return filters.error();
      return Operation{ListVolumesOp{std::move(*filters)}};
    }
    case W::CREATE_VOLUME: {
      auto in = op.getCreateVolume();
      CreateVolumeOp out;
      DOCKERBOX_TRY_ASSIGN(out.name, newVolumeName(in.getName()));
      DOCKERBOX_TRY_ASSIGN(out.driver, text(in.getDriver(), kMaxNameBytes, "volume driver"));
      DOCKERBOX_TRY_ASSIGN(out.driverOpts, keyValues(in.getDriverOpts(), "volume driver options"));
      DOCKERBOX_TRY_ASSIGN(out.labels, keyValues(in.getLabels(), "volume labels"));
      return Operation{std::move(out)};
    }
    case W::INSPECT_VOLUME: {
      // Any name is looked up (`docker inspect X` tries volumes last and needs a 404).
      auto name = text(op.getInspectVolume().getName(), kMaxNameBytes, "volume name");
      if (!name) return name.error();
      return Operation{InspectVolumeOp{std::move(*name)}};
    }
    case W::REMOVE_VOLUME: {
      auto in = op.getRemoveVolume();
      auto name = text(in.getName(), kMaxNameBytes, "volume name");
      if (!name) return name.error();
      return Operation{RemoveVolumeOp{std::move(*name), in.getForce()}};
    }
    case W::PRUNE_VOLUMES: {
      auto filters = keyValues(op.getPruneVolumes().getFilters(), "prune filters");
      if (!filters) return filters.error();
      return Operation{PruneVolumesOp{std::move(*filters)}};
    }
    case W::AUTH: {
      auto in = op.getAuth();
      auto server = text(in.getServer(), kMaxNameBytes, "registry address");
      if (!server) return server.error();
      auto username = text(in.getUsername(), kMaxNameBytes, "registry user name");
      if (!username) return username.error();
      auto password = text(in.getPassword(), kMaxRegistryPasswordBytes, "registry password");
      if (!password) return password.error();
      if (username->empty() || password->empty()) {
        return fail(ErrorKind::BadRequest, "a user name and a password are needed to log in");
      }
      return Operation{AuthOp{std::move(*server), std::move(*username), std::move(*password)}};
    }
  }
  // A tag this broker does not know (newer or forged frontend): refuse, never default.
  return malformed("unknown operation tag " + std::to_string(static_cast<unsigned>(op.which())));
}

Result<WorkerMessage> decodeChecked(wire::WorkerMessage::Reader msg) {
  switch (msg.which()) {
    case wire::WorkerMessage::REQUEST: {
      auto req = msg.getRequest();
      auto op = decodeOp(req.getOp());
      if (op) return WorkerMessage{ValidatedRequest{req.getId(), std::move(*op)}};
      if (isMalformed(op.error())) return op.error();
      return WorkerMessage{RejectedRequest{req.getId(), operationName(req.getOp().which()), op.error()}};
    }
    case wire::WorkerMessage::STREAM_INPUT: {
      auto chunk = msg.getStreamInput();
      if (chunk.getKind() != wire::StreamKind::STDIN) return malformed("stream input must be stdin");
      auto data = chunk.getData();
      if (data.size() > ipc::kMaxChunkBytes) return malformed("stream chunk too large");
      StreamInput out{chunk.getRequestId(), {}, chunk.getEnd()};
      out.data.resize(data.size());
      if (data.size() != 0) std::memcpy(out.data.data(), data.begin(), data.size());
      return WorkerMessage{std::move(out)};
    }
    case wire::WorkerMessage::CANCEL:
      return WorkerMessage{CancelRequest{msg.getCancel()}};
  }
  return malformed("unknown message tag " + std::to_string(static_cast<unsigned>(msg.which())));
}

}  // namespace

Result<WorkerMessage> decodeWorkerMessage(kj::ArrayPtr<const capnp::word> frame) {
  try {
    capnp::FlatArrayMessageReader reader(frame, ipc::readerOptions(ipc::kWorkerTraversalLimitWords));
    return decodeChecked(reader.getRoot<wire::WorkerMessage>());
  } catch (const kj::Exception& e) {
    return malformed(std::string("capnp: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return malformed(std::string("decode: ") + e.what());
  }
}

}  // namespace dockerbox::broker
