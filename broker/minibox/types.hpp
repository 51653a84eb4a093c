// Runs as root, in the broker. Plain owned values for miniboxd's requests and replies
// (minibox-protocol.md sections 4-6). Only the codec creates replies, and it checks every field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockerbox::broker::minibox {

/// Which daemon we talk to (protocol 8.10). Only a ListImages probe tells them apart.
enum class Protocol { V019, Head };

enum class NetworkMode { None, Bridge, Host, Tailnet };
enum class OutputStream { Stdout, Stderr };
/// Capitalised on the wire. Orphaned exists only at HEAD (after a daemon restart).
enum class ContainerState { Created, Running, Paused, Stopped, Failed, Orphaned };
/// Security-relevant flags are enums (style.md section 3): reviewable at the call site.
enum class MountAccess { ReadWrite, ReadOnly };
enum class Privilege { Unprivileged, Privileged };
/// Detached: miniboxd answers ContainerCreated and nothing else. Ephemeral: it streams the
/// output and ContainerStopped on the same connection, then forgets the container.
enum class RunMode { Detached, Ephemeral };

/// Every request type the broker sends (all exist in v0.19 except ListImages).
enum class RequestType {
  Run,
  Stop,
  PauseContainer,
  ResumeContainer,
  Remove,
  List,
  Pull,
  Exec,
  ContainerLogs,
  SubscribeEvents,
  ListImages,
  RemoveImage,
  SendInput,
};
std::string_view toString(RequestType type);

struct BindMount {
  std::string hostPath{};
  std::string containerPath{};  // absolute
  MountAccess access = MountAccess::ReadOnly;
};

/// A Run request. `image` and `tag` are already split (see image_ref.hpp): repository in
/// `image`, tag separately, never both in `image` (protocol 8.7).
struct RunSpec {
  std::string image{};
  std::optional<std::string> tag{};
  std::vector<std::string> command{};  // command[0] must be an absolute path (no PATH search)
  std::optional<std::uint64_t> memoryLimitBytes{};
  std::optional<std::uint64_t> cpuWeight{};  // 1-10000
  std::optional<NetworkMode> network{};      // absent means None
  std::vector<std::string> env{};            // "K=V"
  std::vector<BindMount> mounts{};           // v0.19 refuses any
  Privilege privilege = Privilege::Unprivileged;
  std::optional<std::string> name{};
  bool tty = false;  // accepted and ignored by every miniboxd version
};

struct ExecSpec {
  std::string containerId{};  // exact 16-hex id; names are not resolved for Exec
  std::vector<std::string> cmd{};
  std::vector<std::string> env{};           // the process gets only this env: pass PATH
  std::optional<std::string> workingDir{};  // ignored by v0.19
  bool tty = false;
};

/// A request encoded as one JSON line, newline included.
struct EncodedRequest {
  RequestType type = RequestType::List;
  std::string line;
};

struct ContainerInfo {
  std::string id{};
  std::optional<std::string> name{};
  std::string image{};    // "<image as sent>:<tag>"
  std::string command{};  // joined with spaces (lossy)
  ContainerState state = ContainerState::Created;
  std::int64_t createdAtUnixNanos = 0;
  std::optional<std::uint32_t> pid{};
};

enum class EventKind {
  Created,
  Started,
  Stopped,
  Paused,
  Resumed,
  OomKilled,
  ImagePulled,
  ImageRemoved,
  ImagePruned,
};

/// One ContainerEvent. Which optional members are set depends on `kind` (protocol section 4).
struct ContainerEvent {
  EventKind kind = EventKind::Created;
  std::string id{};                        // container events
  std::string image{};                     // Created, ImagePulled, ImageRemoved
  std::optional<std::uint32_t> pid{};      // Started
  std::optional<std::int32_t> exitCode{};  // Stopped (raw minibox code, see dockerExitCode)
  std::uint64_t sizeBytes = 0;             // ImagePulled
  std::uint64_t count = 0;                 // ImagePruned
  std::uint64_t freedBytes = 0;            // ImagePruned
  std::uint64_t timestampSecs = 0;         // serde SystemTime {secs_since_epoch, nanos_since_epoch}
  std::uint32_t timestampNanos = 0;        // < 1e9
};

struct SnapshotInfo {
  std::string containerId, name, createdAt, adapter, image;
  std::uint64_t sizeBytes = 0;
};

// One struct per response type. kType is the wire `type`; kTerminal follows protocol 2.1
// (v0.19 plus HEAD terminal sets).
#define DOCKERBOX_MINIBOX_REPLY(Name, terminal)    \
  static constexpr std::string_view kType = #Name; \
  static constexpr bool kTerminal = terminal

struct ContainerCreated {
  DOCKERBOX_MINIBOX_REPLY(ContainerCreated, false);
  std::string id;
};
struct Success {
  DOCKERBOX_MINIBOX_REPLY(Success, true);
  std::string message;
};
/// Named ErrorReply so it cannot be confused with dockerbox::Error.
struct ErrorReply {
  static constexpr std::string_view kType = "Error";
  static constexpr bool kTerminal = true;
  std::string message;
};
struct ContainerPaused {
  DOCKERBOX_MINIBOX_REPLY(ContainerPaused, true);
  std::string id;
};
struct ContainerResumed {
  DOCKERBOX_MINIBOX_REPLY(ContainerResumed, true);
  std::string id;
};
struct ContainerList {
  DOCKERBOX_MINIBOX_REPLY(ContainerList, true);
  std::vector<ContainerInfo> containers;
};
struct ImageLoaded {
  DOCKERBOX_MINIBOX_REPLY(ImageLoaded, true);
  std::string image;
};
struct ContainerOutput {
  DOCKERBOX_MINIBOX_REPLY(ContainerOutput, false);
  OutputStream stream = OutputStream::Stdout;
  std::vector<std::uint8_t> data;
};  // base64-decoded
struct ContainerStopped {
  DOCKERBOX_MINIBOX_REPLY(ContainerStopped, true);
  std::int32_t exitCode = 0;
};
struct ExecStarted {
  DOCKERBOX_MINIBOX_REPLY(ExecStarted, false);
  std::string execId;
};
struct PushProgress {
  DOCKERBOX_MINIBOX_REPLY(PushProgress, false);
  std::string layerDigest;
  std::uint64_t bytesUploaded = 0, totalBytes = 0;
};
struct BuildOutput {
  DOCKERBOX_MINIBOX_REPLY(BuildOutput, false);
  std::uint32_t step = 0, totalSteps = 0;
  std::string message;
};
struct BuildComplete {
  DOCKERBOX_MINIBOX_REPLY(BuildComplete, true);
  std::string imageId, tag;
};
struct EventReply {
  static constexpr std::string_view kType = "Event";
  static constexpr bool kTerminal = false;
  ContainerEvent event;
};
struct Pruned {
  DOCKERBOX_MINIBOX_REPLY(Pruned, true);
  std::vector<std::string> removed;
  std::uint64_t freedBytes = 0;
  bool dryRun = false;
};
struct LogLine {
  DOCKERBOX_MINIBOX_REPLY(LogLine, false);
  OutputStream stream = OutputStream::Stdout;
  std::string line;
};
/// `trace` is free-form JSON, kept as compact text.
struct PipelineComplete {
  DOCKERBOX_MINIBOX_REPLY(PipelineComplete, true);
  std::string trace;
  std::string containerId;
  std::int32_t exitCode = 0;
};
struct ImageList {
  DOCKERBOX_MINIBOX_REPLY(ImageList, true);
  std::vector<std::string> images;
};
struct SnapshotSaved {
  DOCKERBOX_MINIBOX_REPLY(SnapshotSaved, true);
  SnapshotInfo info;
};
struct SnapshotRestored {
  DOCKERBOX_MINIBOX_REPLY(SnapshotRestored, true);
  std::string id, name;
};
struct SnapshotList {
  DOCKERBOX_MINIBOX_REPLY(SnapshotList, true);
  std::string id;
  std::vector<SnapshotInfo> snapshots;
};
struct UpdateProgress {
  DOCKERBOX_MINIBOX_REPLY(UpdateProgress, false);
  std::string image, status;
};
/// `manifest` is free-form JSON, kept as compact text.
struct Manifest {
  DOCKERBOX_MINIBOX_REPLY(Manifest, true);
  std::string manifest;
};
struct VerifyResult {
  DOCKERBOX_MINIBOX_REPLY(VerifyResult, true);
  bool allowed = false;
  std::string reason;
};
/// HEAD marks this terminal although its own doc calls it non-terminal (protocol 2.1).
/// The workflow replies' fields are not used by the broker and are not decoded.
struct WorkflowStepComplete {
  DOCKERBOX_MINIBOX_REPLY(WorkflowStepComplete, true);
};
struct WorkflowComplete {
  DOCKERBOX_MINIBOX_REPLY(WorkflowComplete, true);
};

#undef DOCKERBOX_MINIBOX_REPLY

using Reply =
    std::variant<ContainerCreated, Success, ErrorReply, ContainerPaused, ContainerResumed,
                 ContainerList, ImageLoaded, ContainerOutput, ContainerStopped, ExecStarted,
                 PushProgress, BuildOutput, BuildComplete, EventReply, Pruned, LogLine,
                 PipelineComplete, ImageList, SnapshotSaved, SnapshotRestored, SnapshotList,
                 UpdateProgress, Manifest, VerifyResult, WorkflowStepComplete, WorkflowComplete>;

}  // namespace dockerbox::broker::minibox
