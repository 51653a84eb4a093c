// Runs as root, in the broker. Input: validated create and exec requests.
#include "broker/containers/run_spec.hpp"

#include "broker/minibox/image_ref.hpp"

#include <algorithm>
#include <map>

namespace dockerbox::broker::containers {

namespace {

Error unsupported(std::string what) {
  return fail(ErrorKind::NotImplemented, "dockerbox cannot " + what);
}

/// The user-visible name of the first unsupported HostConfig setting, or empty.
std::string unsupportedHostSetting(const ContainerSpec& spec) {
  const HostSpec& h = spec.host;
  auto namespaceMode = [](const std::string& m) { return !m.empty() && m != "private" && m != "default"; };
  if (!h.capAdd.empty()) return "add capabilities (--cap-add): miniboxd has no capability settings";
  if (!h.capDrop.empty()) return "drop capabilities (--cap-drop): miniboxd has no capability settings";
  if (!h.securityOpt.empty()) return "apply security options (--security-opt): miniboxd has none";
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
  if (h.readonlyRootfs) return "make the root filesystem read-only (--read-only): miniboxd has no such setting";
  if (h.oomKillDisable) return "disable the OOM killer: miniboxd has no such setting";
  if (!h.restartPolicy.empty() && h.restartPolicy != "no") {
    return "apply restart policy \"" + h.restartPolicy + "\": restart policies are not implemented";
  }
  if (!h.volumesFrom.empty()) return "share volumes (--volumes-from): miniboxd has no volumes";
  if (!h.tmpfs.empty()) return "mount a tmpfs (--tmpfs): miniboxd has no tmpfs mounts";
  if (!h.extraHosts.empty()) return "add host entries (--add-host): miniboxd has no /etc/hosts settings";
  if (!h.dns.empty()) return "set DNS servers (--dns): miniboxd has no DNS settings";
  if (h.pidsLimit > 0) return "limit processes (--pids-limit): miniboxd has no pids limit";
  if (h.shmSize > 0) return "size /dev/shm (--shm-size): miniboxd has no such setting";
  if (!spec.hostname.empty()) return "set the hostname (--hostname): miniboxd names the host itself";
  if (!spec.user.empty() && spec.user != "root" && spec.user != "0" && spec.user != "0:0") {
    return "run as user \"" + spec.user + "\": miniboxd cannot switch users";
  }
  return {};
}

}  // namespace

RunConfig runConfigOf(const ContainerSpec& spec) {
  RunConfig c;
  c.image = spec.image;
  c.cmd = spec.cmd;
  c.entrypoint = spec.entrypoint;
  c.env = spec.env;
  c.workingDir = spec.workingDir;
  c.tty = spec.tty;
  c.openStdin = spec.openStdin;
  c.networkMode = spec.host.networkMode;
  c.memory = spec.host.memory;
  c.nanoCpus = spec.host.nanoCpus;
  c.cpuShares = spec.host.cpuShares;
  c.autoRemove = spec.host.autoRemove;
  c.privileged = spec.host.privileged;
  for (const auto& m : spec.host.mounts) {
    if (m.type == MountType::Bind) c.binds.push_back({m.source, m.target, m.access == MountAccess::ReadOnly});
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
  if (!spec.host.portBindings.empty() || spec.host.publishAllPorts) {
    return unsupported("publish ports (-p/-P): miniboxd has no port publishing");
  }
  for (const auto& m : spec.host.mounts) {
    switch (m.type) {
      case MountType::Bind: break;
      case MountType::Volume: return unsupported("mount volume \"" + m.source + "\": miniboxd has no named volumes (use a bind mount)");
      case MountType::Tmpfs: return unsupported("mount a tmpfs at " + m.target + ": miniboxd has no tmpfs mounts");
      default: return unsupported("use this mount type at " + m.target + ": miniboxd has only bind mounts");
    }
  }
  if (auto what = unsupportedHostSetting(spec); !what.empty()) return unsupported(what);
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
  if (shares <= 0 && nanoCpus > 0) shares = std::max<std::int64_t>(2, nanoCpus * 1024 / 1'000'000'000);
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
  // Later entries replace earlier ones of the same name, keeping first-seen order.
  std::vector<std::string> env;
  std::map<std::string, std::size_t, std::less<>> index;
  auto add = [&](const std::string& entry) {
    std::string name = entry.substr(0, entry.find('='));
    if (auto it = index.find(name); it != index.end()) {
      env[it->second] = entry;
    } else {
      index.emplace(name, env.size());
      env.push_back(entry);
    }
  };
  add(std::string(kDefaultPath));
  if (exec.tty) add("TERM=xterm");
  for (const auto& e : container.env) add(e);
  for (const auto& e : exec.env) add(e);
  minibox::ExecSpec spec;
  spec.containerId = std::move(miniboxId);
  spec.cmd = commandForMinibox(exec.cmd, exec.workingDir.empty() ? container.workingDir : exec.workingDir);
  spec.env = std::move(env);
  spec.tty = exec.tty;
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
