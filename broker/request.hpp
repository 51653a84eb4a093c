// Owned, validated requests: what the broker works with after broker::decodeWorkerMessage
// has checked a worker's frame. Nothing here holds a Cap'n Proto reader or an unchecked
// string: every text field below was length- and charset-checked by the decoder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace dockerbox::broker {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

/// A container as the client named it (id, id prefix, or name). 1..256 printable bytes.
struct ContainerRef {
  std::string text;
};

enum class MountType { Bind, Volume, Tmpfs, Npipe, Cluster, Image };
enum class MountAccess { ReadWrite, ReadOnly };

struct MountSpec {
  MountType type = MountType::Bind;
  std::string source;  // host path, volume name, or empty
  std::string target;  // absolute path in the container
  MountAccess access = MountAccess::ReadWrite;
  bool fromBinds = false;
  std::string volumeDriver;
  KeyValues volumeOptions;
};

struct PortSpec {
  std::string containerPort, hostIp, hostPort;
};

/// One HostConfig.Ulimits entry: `name` is one of Docker's names (ipc::wire::ULIMIT_NAMES),
/// each limit is -1 (unlimited) or non-negative, and soft <= hard unless hard is -1.
struct UlimitSpec {
  std::string name;
  std::int64_t soft = 0, hard = 0;
};

/// HostConfig fields the broker acts on or the policy checks.
struct HostSpec {
  std::vector<MountSpec> mounts;
  std::string networkMode;
  bool privileged = false;
  std::vector<std::string> capAdd, capDrop, devices, securityOpt, groupAdd;
  std::string pidMode, ipcMode, utsMode, usernsMode, cgroupnsMode;
  KeyValues sysctls;
  std::string cgroupParent, runtime;
  std::int64_t memory = 0;    // bytes; 0 = unset
  std::int64_t nanoCpus = 0;  // 0 = unset
  std::int64_t cpuShares = 0;
  bool autoRemove = false;
  std::string restartPolicy;
  std::int32_t restartMaxRetries = 0;  // on-failure's limit; 0 = none
  bool readonlyRootfs = false;
  bool oomKillDisable = false;
  bool hasDeviceRequests = false;
  bool hasDeviceCgroupRules = false;
  std::vector<PortSpec> portBindings;
  bool publishAllPorts = false;
  KeyValues tmpfs;
  std::string volumeDriver;
  std::vector<std::string> volumesFrom;
  std::vector<std::string> extraHosts, dns;
  std::int64_t pidsLimit = 0;  // 0 or -1: unlimited
  std::int64_t shmSize = 0;    // 0: miniboxd's default
  std::vector<UlimitSpec> ulimits;  // at most ipc::wire::MAX_ULIMITS, names unique
  std::optional<bool> init;         // nullopt: not given. Shown by inspect, changes nothing
};

/// Config.Healthcheck as the decoder accepted it. Durations in nanoseconds; 0: the image's
/// or Docker's default.
struct HealthcheckSpec {
  std::vector<std::string> test;  // [] (the image's), ["NONE"], ["CMD", argv...], ["CMD-SHELL", command]
  std::int64_t interval = 0, timeout = 0, startPeriod = 0, startInterval = 0;
  std::int32_t retries = 0;
};

struct ContainerSpec {
  std::string name;  // empty: generated
  std::string image;
  std::optional<std::vector<std::string>> cmd;         // nullopt: image default
  std::optional<std::vector<std::string>> entrypoint;  // nullopt: image default
  std::vector<std::string> env;                        // "K=V"; never logged
  KeyValues labels;
  std::string workingDir, user, hostname;
  bool tty = false, openStdin = false, stdinOnce = false;
  std::vector<std::string> exposedPorts;  // "80/tcp"; -P publishes them
  HostSpec host;
  std::optional<HealthcheckSpec> healthcheck;  // nullopt: none given (the image's applies)
};

struct VersionOp {};
struct InfoOp {};
struct ListContainersOp {
  bool all = false;
  std::optional<std::uint32_t> limit;  // newest first; absent = no limit
};
struct ListImagesOp {
  bool all = false;
};
struct CreateContainerOp {
  ContainerSpec spec;
  std::vector<std::uint64_t> canonicalConfig;  // the validated ContainerConfig, re-serialized by us
};
struct InspectContainerOp { ContainerRef ref; };
struct StartContainerOp { ContainerRef ref; };
struct StopContainerOp {
  ContainerRef ref;
  std::optional<std::int32_t> timeoutSeconds;
  std::optional<int> signal;  // parsed signal number
};
struct KillContainerOp {
  ContainerRef ref;
  int signal = 9;
};
struct RestartContainerOp {
  ContainerRef ref;
  std::optional<std::int32_t> timeoutSeconds;
};
struct PauseContainerOp { ContainerRef ref; };
struct UnpauseContainerOp { ContainerRef ref; };
enum class WaitCondition { NotRunning, NextExit, Removed };
struct WaitContainerOp {
  ContainerRef ref;
  WaitCondition condition = WaitCondition::NotRunning;
};
struct RemoveContainerOp {
  ContainerRef ref;
  bool force = false;
  bool volumes = false;
};
struct RenameContainerOp {
  ContainerRef ref;
  std::string newName;
};
struct ContainerLogsOp {
  ContainerRef ref;
  bool follow = false, stdoutWanted = true, stderrWanted = true, timestamps = false;
  std::int64_t sinceNanos = 0, untilNanos = 0;
  std::int64_t tail = -1;
};
struct AttachContainerOp {
  ContainerRef ref;
  bool stdinWanted = false, stdoutWanted = false, stderrWanted = false, logs = false, stream = false;
  std::string detachKeys = "\x10\x11";  // the bytes in the client's stdin that end the attach
};
struct ResizeContainerOp { ContainerRef ref; std::uint16_t height = 0, width = 0; };
struct CreateExecOp {
  ContainerRef container;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string workingDir, user;
  bool tty = false, attachStdin = false, attachStdout = false, attachStderr = false, privileged = false;
  std::string detachKeys;  // Docker's text ("" = ctrl-p,ctrl-q), checked by decode::detachKeySequence
};
struct StartExecOp {
  std::string id;  // 64 lowercase hex
  bool detach = false, tty = false;
};
struct InspectExecOp { std::string id; };
struct ResizeExecOp { std::string id; std::uint16_t height = 0, width = 0; };
struct EventsOp {
  std::int64_t sinceNanos = 0, untilNanos = 0;
  KeyValues filters;
};
/// `username`/`password`: the client's registry credentials (X-Registry-Auth), for the
/// registry client only; never logged, audited or stored.
struct PullImageOp { std::string ref; std::string tag; std::string username; std::string password; };
struct InspectImageOp { std::string ref; };
struct RemoveImageOp { std::string ref; bool force = false; };
/// docker login: `username`/`password` go to the registry client only; never logged,
/// audited or stored.
struct AuthOp { std::string server; std::string username; std::string password; };
/// Volumes (issue 11): `name` passed checkVolumeName (an empty create name: the engine picks one).
struct ListVolumesOp { KeyValues filters; };
struct CreateVolumeOp {
  std::string name, driver;
  KeyValues driverOpts, labels;
};
struct InspectVolumeOp { std::string name; };
struct RemoveVolumeOp { std::string name; bool force = false; };
struct PruneVolumesOp { KeyValues filters; };

/// Indexed like Request.op in ipc/dockerbox.capnp and kOperations in dispatch.hpp.
using Operation =
    std::variant<VersionOp, InfoOp, ListContainersOp, ListImagesOp, CreateContainerOp, InspectContainerOp,
                 StartContainerOp, StopContainerOp, KillContainerOp, RestartContainerOp, PauseContainerOp,
                 UnpauseContainerOp, WaitContainerOp, RemoveContainerOp, RenameContainerOp, ContainerLogsOp,
                 AttachContainerOp, ResizeContainerOp, CreateExecOp, StartExecOp, InspectExecOp, ResizeExecOp,
                 EventsOp, PullImageOp, InspectImageOp, RemoveImageOp, AuthOp, ListVolumesOp, CreateVolumeOp,
                 InspectVolumeOp, RemoveVolumeOp, PruneVolumesOp>;

struct ValidatedRequest {
  std::uint64_t id = 0;  // the worker's request id, used only to route the reply
  Operation op;
};

/// The operation's name as it appears in the audit log and the policy ("containers.list").
[[nodiscard]] std::string_view operationName(const Operation& op);

}  // namespace dockerbox::broker
