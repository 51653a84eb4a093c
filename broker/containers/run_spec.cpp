// Runs as root, in the broker. Input: validated create and exec requests.
#include "broker/containers/run_spec.hpp"

#include "broker/containers/confinement.hpp"
#include "broker/decode_fields.hpp"
#include "broker/ids.hpp"
#include "broker/minibox/image_ref.hpp"

#include <algorithm>
#include <map>

namespace dockerbox::broker::containers {

namespace {

constexpr std::ptrdiff_t kMaxVolumesPerContainer = 128;

Error unsupported(std::string what) {
  return fail(ErrorKind::NotImplemented, "dockerbox cannot " + what);
}

/// The user-visible name of the first unsupported HostConfig setting, or empty.
std::string unsupportedHostSetting(const ContainerSpec& spec) {
  const HostSpec& h = spec.host;
  auto namespaceMode = [](const std::string& m) { return !m.empty() && m != "private" && m != "default"; };
  if (!h.devices.empty() || h.hasDeviceRequests || h.hasDeviceCgroupRules) {
    return "give a container devices (--device, --gpus): miniboxd has no device settings";
  }
  if (!h.groupAdd.empty()) return "add groups (--group-add): miniboxd has no user settings";
  if (!h.sysctls.empty()) return "set sysctls (--sysctl): miniboxd has no sysctl settings";
  if (namespaceMode(h.pidMode) || namespaceMode(h.ipcMode) || namespaceMode(h.utsMode) ||
      namespaceMode(h.usernsMode) || namespaceMode(h.cgroupnsMode)) {
    return "share host namespaces (--pid/--ipc/--uts/--userns/--cgroupns): miniboxd has no such settings";
  }
  if (!h.cgroupParent.empty()) return "set a cgroup parent: miniboxd places containers itself";
  if (!h.runtime.empty() && h.runtime != "runc") return "use runtime " + h.runtime + ": miniboxd has only its own";
  if (h.oomKillDisable) return "disable the OOM killer: miniboxd has no such setting";
  if (!h.volumesFrom.empty()) return "share another container's volumes (--volumes-from) yet";
  if (!h.extraHosts.empty()) return "add host entries (--add-host): miniboxd has no /etc/hosts settings";
  if (!h.dns.empty()) return "set DNS servers (--dns): miniboxd has no DNS settings";
  if (h.pidsLimit > 0) return "limit processes (--pids-limit): miniboxd has no pids limit";
  if (h.shmSize > 0) return "size /dev/shm (--shm-size): miniboxd has no such setting";
  if (h.privileged) {
    // A privileged container runs as miniboxd runs it, without dockerbox-init, so nothing
    // the init applies can be honoured for it.
    constexpr std::string_view kRaw = ": --privileged containers run without dockerbox-init";
    if (!spec.user.empty() && spec.user != "root" && spec.user != "0" && spec.user != "0:0") {
      return "run a privileged container as user \"" + spec.user + "\"" + std::string(kRaw);
    }
    if (!spec.hostname.empty()) return "set the hostname of a privileged container" + std::string(kRaw);
    if (h.readonlyRootfs) return "make a privileged container's root read-only" + std::string(kRaw);
    if (!h.ulimits.empty()) return "set ulimits of a privileged container" + std::string(kRaw);
    const bool tmpfsMount = std::any_of(h.mounts.begin(), h.mounts.end(), [](const MountSpec& m) {
      return m.type == MountType::Tmpfs;
    });
    if (!h.tmpfs.empty() || tmpfsMount) return "mount a tmpfs in a privileged container" + std::string(kRaw);
  }
  return {};
}

/// Environment entries in first-seen order, later ones replacing earlier ones of the same name.
class EnvBuilder {
 public:
  void add(const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (auto it = index_.find(name); it != index_.end()) {
      env_[it->second] = entry;
    } else {
      index_.emplace(name, env_.size());
      env_.push_back(entry);
    }
  }
  void add(const std::vector<std::string>& entries) {
    for (const auto& e : entries) add(e);
  }
  std::vector<std::string> take() { return std::move(env_); }

 private:
  std::vector<std::string> env_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

/// [init path, records..., "--", argv...]
Result<std::vector<std::string>> initCommand(const init::InitConfig& confinement) {
  auto records = init::encodeInitArgs(confinement);
  if (!records) return records.error();
  std::vector<std::string> command{std::string(init::kInitPathInContainer)};
  command.insert(command.end(), records->begin(), records->end());
  return command;
}

}  // namespace

std::string tmpfsMountOptions(const KeyValues& tmpfsOptions, bool readOnly) {
  std::string out;
  for (const auto& [key, value] : tmpfsOptions) out += (out.empty() ? "" : ",") + key + "=" + value;
  if (readOnly) out += out.empty() ? "ro" : ",ro";
  return out;
}

bool isVolumeMount(MountType type, bool fromBinds, std::string_view source) {
  // Docker reads a Binds entry whose source is not an absolute path as a volume name (the
  // policy judges it so too: policy_request.cpp).
  return type == MountType::Volume || (type == MountType::Bind && fromBinds && !source.starts_with('/'));
}

Result<void> checkVolumeName(std::string_view name) { return decode::checkVolumeName(name); }

std::string anonymousVolumeName(std::string_view dockerId, std::string_view containerPath) {
  std::string input = "dockerbox-anonymous-volume";
  input.push_back('\0');
  input.append(dockerId);
  input.push_back('\0');
  input.append(containerPath);
  return sha256Hex(input);
}

namespace {

/// Docker's rules for HostConfig.RestartPolicy (and its messages).
Result<void> checkRestartPolicy(const HostSpec& h) {
  const std::string& name = h.restartPolicy;
  const bool none = name.empty() || name == "no";
  if (!none && name != "always" && name != "unless-stopped" && name != "on-failure") {
    return fail(ErrorKind::BadRequest, "invalid restart policy: unknown policy '" + name +
                                           "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  }
  if (h.restartMaxRetries < 0) {
    return fail(ErrorKind::BadRequest, "invalid restart policy: maximum retry count cannot be negative");
  }
  if (h.restartMaxRetries != 0 && name != "on-failure") {
    return fail(ErrorKind::BadRequest, "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (!none && h.autoRemove) return fail(ErrorKind::BadRequest, "can't create 'AutoRemove' container with restart policy");
  return {};
}

}  // namespace

std::optional<HealthProbe> healthProbeOf(const RunConfig& config) {
  if (!config.healthcheck) return std::nullopt;
  const HealthcheckSpec& h = *config.healthcheck;
  HealthProbe probe;
  if (h.test.size() >= 2 && h.test.front() == "CMD") {
    probe.argv.assign(h.test.begin() + 1, h.test.end());
  } else if (h.test.size() == 2 && h.test.front() == "CMD-SHELL") {
    probe.argv = {"/bin/sh", "-c", h.test[1]};
  } else {
    return std::nullopt;
  }
  // Below Docker's 1ms minimum (an image's config is not checked by the decoder): the default.
  constexpr std::int64_t kMinimum = 1'000'000;
  if (h.interval >= kMinimum) probe.interval = std::chrono::nanoseconds(h.interval);
  if (h.timeout >= kMinimum) probe.timeout = std::chrono::nanoseconds(h.timeout);
  if (h.startPeriod >= kMinimum) probe.startPeriod = std::chrono::nanoseconds(h.startPeriod);
  if (h.startInterval >= kMinimum) probe.startInterval = std::chrono::nanoseconds(h.startInterval);
  if (h.retries > 0) probe.retries = h.retries;
  return probe;
}

RunConfig runConfigOf(const ContainerSpec& spec) {
  RunConfig c;
  c.image = spec.image;
  c.cmd = spec.cmd;
  c.entrypoint = spec.entrypoint;
  c.env = spec.env;
  c.workingDir = spec.workingDir;
  c.tty = spec.tty;
  c.openStdin = spec.openStdin;
  c.stdinOnce = spec.stdinOnce;
  c.networkMode = spec.host.networkMode;
  c.memory = spec.host.memory;
  c.nanoCpus = spec.host.nanoCpus;
  c.cpuShares = spec.host.cpuShares;
  c.autoRemove = spec.host.autoRemove;
  c.restartPolicy = spec.host.restartPolicy == "no" ? "" : spec.host.restartPolicy;
  c.restartMaxRetries = spec.host.restartMaxRetries;
  c.healthcheck = spec.healthcheck;
  c.privileged = spec.host.privileged;
  for (const auto& m : spec.host.mounts) {
    const bool readOnly = m.access == MountAccess::ReadOnly;
    if (isVolumeMount(m.type, m.fromBinds, m.source)) {
      c.volumes.push_back({m.source, m.target, readOnly});
    } else if (m.type == MountType::Bind) {
      c.binds.push_back({m.source, m.target, readOnly});
    } else if (m.type == MountType::Tmpfs) {
      c.tmpfs.emplace_back(m.target, tmpfsMountOptions(m.volumeOptions, readOnly));
    }
  }
  c.tmpfs.insert(c.tmpfs.end(), spec.host.tmpfs.begin(), spec.host.tmpfs.end());
  c.user = spec.user;
  c.hostname = spec.hostname;
  c.capAdd = spec.host.capAdd;
  c.capDrop = spec.host.capDrop;
  c.securityOpt = spec.host.securityOpt;
  c.readonlyRootfs = spec.host.readonlyRootfs;
  c.ulimits = spec.host.ulimits;
  // checkCreatable has refused bindings that do not parse.
  if (auto ports = publishSpecsOf(spec.host.portBindings, spec.host.publishAllPorts, spec.exposedPorts)) {
    c.ports = std::move(*ports);
  }
  return c;
}

Result<minibox::NetworkMode> networkModeOf(std::string_view mode) {
  if (mode.empty() || mode == "default" || mode == "bridge") return minibox::NetworkMode::Bridge;
  if (mode == "host") return minibox::NetworkMode::Host;
  if (mode == "none") return minibox::NetworkMode::None;
  if (mode.starts_with("container:")) {
    return unsupported("join another container's network (--network container:...): miniboxd cannot");
  }
  return fail(ErrorKind::NotFound, "network " + std::string(mode) + " not found");
}

Result<void> checkCreatable(const ContainerSpec& spec) {
  if (auto valid = checkRestartPolicy(spec.host); !valid) return valid;
  if (auto ports = publishSpecsOf(spec.host.portBindings, spec.host.publishAllPorts, spec.exposedPorts); !ports) {
    return ports.error();
  }
  // Each volume is a directory the monitor makes, each tmpfs a mount the init makes: a
  // bound on both, far above what any real container uses.
  const auto volumeCount = std::count_if(spec.host.mounts.begin(), spec.host.mounts.end(), [](const MountSpec& m) {
    return isVolumeMount(m.type, m.fromBinds, m.source) || m.type == MountType::Tmpfs;
  });
  if (volumeCount + static_cast<std::ptrdiff_t>(spec.host.tmpfs.size()) > kMaxVolumesPerContainer) {
    return fail(ErrorKind::BadRequest, "a container may have at most " + std::to_string(kMaxVolumesPerContainer) +
                                           " volumes and tmpfs mounts");
  }
  for (const auto& m : spec.host.mounts) {
    if (isVolumeMount(m.type, m.fromBinds, m.source)) {
      if (!m.volumeDriver.empty() && m.volumeDriver != "local") {
        return unsupported("use volume driver \"" + m.volumeDriver + "\": dockerbox has only its local volumes");
      }
      if (!m.volumeOptions.empty()) {
        return unsupported("create volume \"" + m.source + "\" with driver options: dockerbox volumes take none");
      }
      if (!m.source.empty()) {
        if (auto valid = checkVolumeName(m.source); !valid) return valid.error();
      }
      continue;
    }
    switch (m.type) {
      case MountType::Bind: break;
      case MountType::Tmpfs: break;  // made by dockerbox-init (checkConfinable checks the options)
      default: return unsupported("use this mount type at " + m.target + ": dockerbox has bind mounts and volumes");
    }
  }
  if (auto what = unsupportedHostSetting(spec); !what.empty()) return unsupported(what);
  if (auto confinable = checkConfinable(runConfigOf(spec)); !confinable) return confinable.error();
  if (auto network = networkModeOf(spec.host.networkMode); !network) return network.error();
  auto image = minibox::ImageRef::parse(spec.image);
  if (!image) return image.error();
  return {};
}

std::vector<std::string> userCommand(const RunConfig& config) {
  std::vector<std::string> argv;
  if (config.entrypoint) argv = *config.entrypoint;
  if (config.cmd) argv.insert(argv.end(), config.cmd->begin(), config.cmd->end());
  if (argv.empty()) argv.emplace_back("/bin/sh");  // what miniboxd runs for an empty command
  return argv;
}

std::vector<std::string> commandForMinibox(std::vector<std::string> argv, std::string_view workingDir) {
  if (argv.empty()) argv.emplace_back("/bin/sh");
  // The arguments travel as positional parameters, never inside the script text, so no
  // quoting of user input is involved.
  if (!workingDir.empty()) {
    std::vector<std::string> wrapped = {"/bin/sh", "-c",
                                        "mkdir -p -- \"$1\" 2>/dev/null; cd -- \"$1\" || exit 127; shift; exec \"$@\"",
                                        "sh", std::string(workingDir)};
    wrapped.insert(wrapped.end(), argv.begin(), argv.end());
    return wrapped;
  }
  if (argv.front().find('/') != std::string::npos) return argv;
  std::vector<std::string> wrapped = {"/bin/sh", "-c", "exec \"$0\" \"$@\""};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

std::optional<std::uint64_t> cpuWeightOf(std::int64_t cpuShares, std::int64_t nanoCpus) {
  std::int64_t shares = cpuShares;
  if (shares <= 0 && nanoCpus > 0) {
    // nanoCpus * 1024 / 1e9 without the product: a client's NanoCpus may be any int64.
    constexpr std::int64_t kNanos = 1'000'000'000;
    shares = std::max<std::int64_t>(2, nanoCpus / kNanos * 1024 + nanoCpus % kNanos * 1024 / kNanos);
  }
  if (shares <= 0) return std::nullopt;
  shares = std::clamp<std::int64_t>(shares, 2, 262144);
  return static_cast<std::uint64_t>(1 + ((shares - 2) * 9999) / 262142);
}

Result<minibox::RunSpec> runSpecOf(const RunConfig& config) {
  auto image = minibox::ImageRef::parse(config.image);
  if (!image) return image.error();
  auto network = networkModeOf(config.networkMode);
  if (!network) return network.error();
  minibox::RunSpec spec;
  spec.image = image->wireRepository();
  spec.tag = image->tag();
  spec.command = commandForMinibox(userCommand(config), config.workingDir);
  if (config.memory > 0) spec.memoryLimitBytes = static_cast<std::uint64_t>(config.memory);
  spec.cpuWeight = cpuWeightOf(config.cpuShares, config.nanoCpus);
  spec.network = *network;
  spec.env = config.env;
  for (const auto& b : config.binds) {
    spec.mounts.push_back({b.hostPath, b.containerPath,
                           b.readOnly ? minibox::MountAccess::ReadOnly : minibox::MountAccess::ReadWrite});
  }
  spec.privilege = config.privileged ? minibox::Privilege::Privileged : minibox::Privilege::Unprivileged;
  spec.tty = config.tty;
  return spec;
}

minibox::ExecSpec execSpecOf(std::string miniboxId, const RunConfig& container, const CreateExecOp& exec) {
  EnvBuilder env;
  env.add(std::string(kDefaultPath));
  if (exec.tty) env.add("TERM=xterm");
  env.add(container.env);
  env.add(exec.env);
  minibox::ExecSpec spec;
  spec.containerId = std::move(miniboxId);
  spec.cmd = commandForMinibox(exec.cmd, exec.workingDir.empty() ? container.workingDir : exec.workingDir);
  spec.env = env.take();
  spec.tty = exec.tty;
  return spec;
}

namespace {

/// The init's records for the FIFOs in `dir` (monitor/run_io.hpp names them).
void placeFifos(init::InitConfig& confinement, const std::string& dir, bool stdinFifo, bool outputFifos,
                bool terminal) {
  if (stdinFifo) confinement.stdinPath = dir + "/stdin";
  if (outputFifos) {
    confinement.stdoutPath = dir + "/stdout";
    confinement.stderrPath = dir + "/stderr";
  }
  if (terminal) {
    confinement.tty = init::Tty::Yes;
    confinement.controlPath = dir + "/control";
  }
}

}  // namespace

Result<minibox::RunSpec> confinedRunSpecOf(const RunConfig& config, init::InitConfig confinement,
                                           const InitPlacement& placement) {
  if (placement.pinnedSources.size() != config.binds.size() || placement.pinnedVolumes.size() != config.volumes.size()) {
    return fail(ErrorKind::Internal, "internal error", "pinned binds do not match the container's binds");
  }
  RunConfig raw = config;
  raw.binds.clear();  // mounted below from their pinned sources
  raw.cmd.reset();
  raw.entrypoint.reset();
  auto spec = runSpecOf(raw);
  if (!spec) return spec.error();
  EnvBuilder env;
  env.add(std::string(kDefaultPath));
  env.add("HOSTNAME=" + confinement.hostname);
  if (config.tty) env.add("TERM=xterm");
  env.add(config.env);
  confinement.env = env.take();
  confinement.argv = userCommand(config);
  spec->env.clear();  // miniboxd adds PATH and TERM; the init uses only its records
  spec->mounts.push_back({placement.initHostPath, std::string(init::kInitPathInContainer), minibox::MountAccess::ReadOnly});
  // miniboxd gives a Run no stdin and no terminal (protocol 7.10): the init does both.
  spec->tty = false;
  if (const IoPlacement& io = placement.io; !io.hostDir.empty()) {
    spec->mounts.push_back({io.hostDir, io.containerDir, minibox::MountAccess::ReadOnly});
    confinement.unmountPath = io.containerDir;
    placeFifos(confinement, io.containerDir, io.stdinFifo, io.outputFifos, io.terminal);
    if (io.portChannel) confinement.portsPath = io.containerDir + "/ports";
  }
  DOCKERBOX_TRY_ASSIGN(spec->command, initCommand(confinement));
  for (std::size_t i = 0; i < config.binds.size(); ++i) {
    const auto& b = config.binds[i];
    spec->mounts.push_back({placement.pinnedSources[i], b.containerPath,
                            b.readOnly ? minibox::MountAccess::ReadOnly : minibox::MountAccess::ReadWrite});
  }
  for (std::size_t i = 0; i < config.volumes.size(); ++i) {
    const auto& v = config.volumes[i];
    spec->mounts.push_back({placement.pinnedVolumes[i], v.containerPath,
                            v.readOnly ? minibox::MountAccess::ReadOnly : minibox::MountAccess::ReadWrite});
  }
  spec->privilege = minibox::Privilege::Unprivileged;
  return spec;
}

Result<minibox::ExecSpec> confinedExecSpecOf(std::string miniboxId, const RunConfig& container,
                                             const CreateExecOp& exec, init::InitConfig confinement,
                                             const ExecIoPlacement& io) {
  EnvBuilder env;
  env.add(std::string(kDefaultPath));
  if (exec.tty) env.add("TERM=xterm");
  env.add(container.env);
  env.add(exec.env);
  confinement.env = env.take();
  confinement.argv = exec.cmd;
  minibox::ExecSpec spec;
  spec.containerId = std::move(miniboxId);
  spec.tty = exec.tty;
  if (!io.subdir.empty()) {
    // Paths beneath the directory pid 1 holds: the exec's init finds them there.
    placeFifos(confinement, io.subdir, io.stdinFifo, io.outputFifos, io.terminal);
    spec.tty = false;  // the terminal is the init's, in the container; miniboxd's pipe carries it
  }
  DOCKERBOX_TRY_ASSIGN(spec.cmd, initCommand(confinement));
  spec.env = {std::string(kExecLookupPath)};
  return spec;
}

std::string joinCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace dockerbox::broker::containers
