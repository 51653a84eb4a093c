// Runs as root, in the broker. Input: validated create and exec requests (request.hpp) and
// the broker's own stored create configs.
//
// How a Docker container configuration becomes a miniboxd Run or Exec, and which parts of it
// miniboxd cannot honour (refused at create with a Docker-shaped error instead of being
// silently dropped). Pure functions, no I/O.
//
// Choices a Docker user should know about (also in the report and README):
// - miniboxd runs command[0] with a plain execve and no PATH search (protocol 7.1). A
//   relative program name (`echo`) is therefore run through the image's shell:
//   `/bin/sh -c 'exec "$0" "$@"' echo hello`, so the shell's PATH search finds it. The image
//   must contain /bin/sh for that (distroless images need absolute paths).
// - miniboxd has no working directory for Run (and v0.19 ignores Exec's): WorkingDir is
//   applied by the same shell: `mkdir -p` (Docker creates a missing WorkingDir too), `cd`,
//   then `exec`. A failing `cd` exits 127.
// - miniboxd does not use the image's Entrypoint/Cmd/Env/WorkingDir: a container created
//   without Cmd and Entrypoint runs /bin/sh (miniboxd's default), not the image's default.
// - cgroup v2 has no shares: CpuShares maps to cpu.weight like runc does
//   (1 + (shares-2)*9999/262142). NanoCpus is a hard cap in Docker, but miniboxd only takes a
//   weight, so N CPUs become the weight of N*1024 shares: a relative priority, not a cap.
#pragma once

#include "broker/containers/ports.hpp"
#include "broker/minibox/types.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"
#include "init/config.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::containers {

struct BindSpec {
  std::string hostPath;
  std::string containerPath;
  bool readOnly = false;
  /// Set by the monitor only (never read from a stored config): the source is one of
  /// dockerbox's own volume directories, opened as root without a check as the caller.
  bool dockerboxVolume = false;
};

/// A named or anonymous volume of a container (monitor/volumes.hpp).
struct VolumeMount {
  std::string name;  // empty: anonymous (see anonymousVolumeName)
  std::string containerPath;
  bool readOnly = false;
};

/// Whether a mount names a volume: type volume, or a Binds entry whose source is not an
/// absolute path (Docker reads it as a volume name).
[[nodiscard]] bool isVolumeMount(MountType type, bool fromBinds, std::string_view source);

/// The options text of a Mounts entry of type tmpfs: its TmpfsOptions (SizeBytes and Mode,
/// which the frontend sends as "size" and "mode" in the mount's option list), then "ro".
[[nodiscard]] std::string tmpfsMountOptions(const KeyValues& tmpfsOptions, bool readOnly);

/// Docker's rule for local volume names: "[a-zA-Z0-9][a-zA-Z0-9_.-]+", at most 255 bytes.
/// BadRequest with Docker's message otherwise.
[[nodiscard]] Result<void> checkVolumeName(std::string_view name);

/// The name of a container's anonymous volume at `containerPath`: 64 hex, like Docker's,
/// derived from the container's id so that the engine and the monitor agree on it without
/// anything in the sealed config.
[[nodiscard]] std::string anonymousVolumeName(std::string_view dockerId, std::string_view containerPath);

/// The parts of a create config that starting a container needs.
struct RunConfig {
  std::string image;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::vector<std::string>> entrypoint;
  std::vector<std::string> env;
  std::string workingDir;
  bool tty = false;
  bool openStdin = false;
  bool stdinOnce = false;  // the engine closes stdin when the first attached client's ends
  std::uint16_t consoleRows = 0, consoleCols = 0;  // HostConfig.ConsoleSize: a Tty's first size
  std::string networkMode;
  std::int64_t memory = 0;
  std::int64_t nanoCpus = 0;
  std::int64_t cpuShares = 0;
  bool autoRemove = false;
  std::string restartPolicy;  // "" / "no", "always", "unless-stopped", "on-failure" (checked at create)
  std::int32_t restartMaxRetries = 0;  // on-failure: restarts at most this many times; 0 = no limit
  bool privileged = false;
  std::vector<BindSpec> binds;
  std::vector<VolumeMount> volumes;
  /// tmpfs mounts the init makes: (container path, Docker's options text, e.g. "size=64m,mode=1777").
  std::vector<std::pair<std::string, std::string>> tmpfs;
  // What dockerbox-init applies (confinement.hpp). Judged by the policy at create and again
  // at start; the init, not miniboxd, enforces them.
  std::string user;      // Docker's User: "", name, uid, name:group, uid:gid
  std::string hostname;  // "" = the first 12 hex digits of the id, as Docker
  std::vector<std::string> capAdd, capDrop, securityOpt;
  bool readonlyRootfs = false;
  std::vector<UlimitSpec> ulimits;
  std::string stopSignal;        // Docker's StopSignal as written ("" = SIGTERM)
  std::int32_t stopTimeout = -1;  // seconds; -1 = unset (Docker's 10)
  std::optional<HealthcheckSpec> healthcheck;  // merged with the image's
  std::vector<PublishSpec> ports;  // -p and -P (with the image's ExposedPorts merged in)
};

/// A container's health check as it runs: its command and Docker's defaults filled in.
struct HealthProbe {
  std::vector<std::string> argv;  // CMD: as given; CMD-SHELL: /bin/sh -c command
  std::chrono::nanoseconds interval{30'000'000'000}, timeout{30'000'000'000}, startPeriod{0},
      startInterval{5'000'000'000};
  std::int32_t retries = 3;
};

/// The health check a container runs, if any (none, or `NONE`, or a malformed test: none).
[[nodiscard]] std::optional<HealthProbe> healthProbeOf(const RunConfig& config);

/// The environment miniboxd gives a Run (protocol 7.1); an Exec gets nothing unless we pass it.
inline constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

[[nodiscard]] RunConfig runConfigOf(const ContainerSpec& spec);

/// Refuses, at create time, what dockerbox cannot do: sctp ports, volume drivers and
/// other mount types, devices and the other HostConfig settings it has nothing for (501),
/// an invalid restart policy (400, Docker's messages), and unknown networks (404 `network
/// <x> not found`). Everything accepted here is applied at start.
[[nodiscard]] Result<void> checkCreatable(const ContainerSpec& spec);

/// "", "default", "bridge" -> Bridge; "host" -> Host; "none" -> None. Others: 404 (unknown
/// network) or 501 (`container:<x>`).
[[nodiscard]] Result<minibox::NetworkMode> networkModeOf(std::string_view dockerMode);

/// Entrypoint + Cmd as the user asked; miniboxd's default (/bin/sh) when both are absent.
[[nodiscard]] std::vector<std::string> userCommand(const RunConfig& config);

/// The argv to send to miniboxd for `argv` run in `workingDir` (see the file comment).
[[nodiscard]] std::vector<std::string> commandForMinibox(std::vector<std::string> argv, std::string_view workingDir);

/// cpu.weight (1..10000) for Docker's CpuShares or NanoCpus; nullopt when neither is set.
[[nodiscard]] std::optional<std::uint64_t> cpuWeightOf(std::int64_t cpuShares, std::int64_t nanoCpus);

/// The ephemeral Run for a container. The Docker name is never sent: miniboxd's names are
/// global across its records and dockerbox keeps its own.
[[nodiscard]] Result<minibox::RunSpec> runSpecOf(const RunConfig& config);

/// An Exec in a running container: PATH, then the container's env, then the exec's env
/// (later entries replace earlier ones with the same name), working dir defaulting to the
/// container's.
[[nodiscard]] minibox::ExecSpec execSpecOf(std::string miniboxId, const RunConfig& container, const CreateExecOp& exec);

/// Where a confined run finds dockerbox-init and its pinned bind sources.
/// Where miniboxd mounts a run's stdin and terminal FIFOs for the init (monitor/run_io.hpp).
inline constexpr std::string_view kIoPathInContainer = "/.dockerbox-io";

/// The directory of a run's stdin and terminal FIFOs (monitor/run_io.hpp).
struct IoPlacement {
  std::string hostDir;       // empty: the run has neither
  std::string containerDir;  // where miniboxd mounts it (read-only) for the init
  bool stdinFifo = false;    // holds `stdin`
  bool terminal = false;     // holds `control`; the init gives the program a terminal
  bool outputFifos = false;  // holds `stdout` and `stderr`: the program's fds 1 and 2 (no terminal)
  bool portChannel = false;  // holds `ports`, the published ports' channel (RunIo::makePortChannel)
};

struct InitPlacement {
  std::string initHostPath;                // the installed dockerbox-init, mounted read-only
  std::vector<std::string> pinnedSources;  // per bind of the RunConfig, in order (bind_pin.hpp)
  IoPlacement io;
  std::vector<std::string> pinnedVolumes;  // per volume of the RunConfig, in order
};

/// The PATH miniboxd gets for a confined exec: it looks `nsenter` up in the request's PATH
/// and runs it as host root (protocol section 11), so only root-owned directories.
inline constexpr std::string_view kExecLookupPath = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";

/// A confined Run: miniboxd starts dockerbox-init (mounted read-only at
/// init::kInitPathInContainer) with `confinement`, the command and its environment as data;
/// binds come from their pinned mounts. miniboxd's own env is irrelevant to the init.
[[nodiscard]] Result<minibox::RunSpec> confinedRunSpecOf(const RunConfig& config, init::InitConfig confinement,
                                                         const InitPlacement& placement);

/// An exec's FIFOs: a subdirectory of its container's run directory (monitor/run_io.hpp),
/// which the container's pid 1 holds open for the exec's init (init::kHeldIoDirFd).
struct ExecIoPlacement {
  std::string subdir;        // empty: none (the run has no directory, or this monitor does not hold it)
  bool stdinFifo = false;    // holds `stdin`
  bool terminal = false;     // holds `control`; the init gives the program a terminal
  bool outputFifos = false;  // holds `stdout` and `stderr` (no terminal)
};

/// A confined Exec: miniboxd runs `nsenter ... -- dockerbox-init ...` with only
/// kExecLookupPath; the caller's command, env, user and working dir reach the init as data.
/// With `io`, the init connects the program to those FIFOs (and a pty of the container's
/// for a Tty); without, miniboxd's pipes (or its own pty) are the program's stdio.
[[nodiscard]] Result<minibox::ExecSpec> confinedExecSpecOf(std::string miniboxId, const RunConfig& container,
                                                           const CreateExecOp& exec, init::InitConfig confinement,
                                                           const ExecIoPlacement& io = {});

/// Arguments joined with spaces, as Docker's `Command` column shows them.
[[nodiscard]] std::string joinCommand(const std::vector<std::string>& argv);

}  // namespace dockerbox::broker::containers
