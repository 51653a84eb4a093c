// Runs as root. Input: fields of untrusted frames from a frontend worker.
#include "broker/decode_fields.hpp"

#include "broker/limits.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <string_view>

namespace dockerbox::broker::decode {

namespace wire = ipc::wire;

Error malformed(const std::string& what) {
  return Error::make(ErrorKind::BadRequest, "malformed request from the frontend", kMalformedTag + what);
}

Error invalid(const std::string& message) { return Error::make(ErrorKind::BadRequest, message); }

bool isMalformed(const Error& e) { return e.context.rfind(kMalformedTag, 0) == 0; }

Result<std::string> text(capnp::Text::Reader in, std::size_t maxBytes, const char* what) {
  if (in.size() > maxBytes) return malformed(std::string(what) + " too long");
  std::string out(in.cStr(), in.size());
  if (out.find('\0') != std::string::npos) return malformed(std::string(what) + " contains NUL");
  return out;
}

Result<std::vector<std::string>> textList(capnp::List<capnp::Text>::Reader in, std::size_t maxItems,
                                          std::size_t maxBytes, const char* what) {
  if (in.size() > maxItems) return malformed(std::string(what) + ": too many items");
  std::vector<std::string> out;
  out.reserve(in.size());
  for (auto item : in) {
    auto t = text(item, maxBytes, what);
    if (!t) return t.error();
    out.push_back(std::move(*t));
  }
  return out;
}

Result<std::vector<std::string>> envList(capnp::List<capnp::Text>::Reader in) {
  auto env = textList(in, kMaxListItems, kMaxArgBytes, "env");
  if (!env) return env.error();
  for (const auto& e : *env) {
    if (e.empty() || e.front() == '=') return invalid("invalid environment variable: empty name");
  }
  return env;
}

Result<KeyValues> keyValues(capnp::List<wire::KeyValue>::Reader in, const char* what) {
  if (in.size() > kMaxListItems) return malformed(std::string(what) + ": too many items");
  KeyValues out;
  for (auto kv : in) {
    auto key = text(kv.getKey(), kMaxNameBytes, what);
    if (!key) return key.error();
    auto value = text(kv.getValue(), kMaxArgBytes, what);
    if (!value) return value.error();
    out.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

Result<ContainerRef> containerRef(capnp::Text::Reader in) {
  auto t = text(in, kMaxRefBytes, "container reference");
  if (!t) return t.error();
  if (t->empty()) return invalid("no container name or ID given");
  for (unsigned char c : *t) {
    if (c < 0x21 || c == 0x7f) return invalid("invalid container name or ID");
  }
  return ContainerRef{std::move(*t)};
}

Result<void> checkVolumeName(std::string_view name) {
  auto allowed = [](char ch, bool first) {
    const bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    return alnum || (!first && (ch == '_' || ch == '.' || ch == '-'));
  };
  bool ok = name.size() >= 2 && name.size() <= 255;
  for (std::size_t i = 0; ok && i < name.size(); ++i) ok = allowed(name[i], i == 0);
  if (ok) return {};
  // Docker's words; the name is shown only when it is printable.
  std::string shown;
  for (char ch : name.substr(0, 255)) shown.push_back(ch >= 0x20 && ch < 0x7f ? ch : '?');
  return fail(ErrorKind::BadRequest, "create " + shown + ": \"" + shown +
                                         "\" includes invalid characters for a local volume name, only "
                                         "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                                         "directory, use absolute path");
}

Result<std::string> newVolumeName(capnp::Text::Reader in) {
  auto t = text(in, kMaxNameBytes, "volume name");
  if (!t) return t.error();
  if (t->empty()) return t;
  if (auto valid = checkVolumeName(*t); !valid) return valid.error();
  return t;
}

Result<std::string> imageRef(capnp::Text::Reader in) {
  auto t = text(in, kMaxRefBytes, "image reference");
  if (!t) return t.error();
  if (t->empty()) return invalid("no image name given");
  for (unsigned char c : *t) {
    if (c < 0x21 || c == 0x7f) return invalid("invalid reference format");
  }
  return t;
}

Result<std::string> hexId(capnp::Text::Reader in, const char* what) {
  auto t = text(in, 64, what);
  if (!t) return t.error();
  if (t->size() != 64 || !std::all_of(t->begin(), t->end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
      })) {
    return fail(ErrorKind::NotFound, std::string("No such ") + what + ": " + *t);
  }
  return t;
}

Result<std::optional<std::int32_t>> timeout(std::int32_t seconds) {
  if (seconds == -1) return std::optional<std::int32_t>{};
  if (seconds < 0 || seconds > kMaxTimeoutSeconds) return invalid("timeout out of range");
  return std::optional<std::int32_t>(seconds);
}

Result<std::string> detachKeySequence(std::string_view keys) {
  constexpr std::size_t kMaxDetachKeys = 16;
  if (keys.empty()) return std::string("\x10\x11");
  const std::string bad = "Invalid detach keys (" + std::string(keys.substr(0, 64)) + ") provided";
  std::string out;
  for (;;) {
    const auto comma = keys.find(',');
    std::string_view key = keys.substr(0, comma);
    if (key.size() == 1) {
      out.push_back(key.front());
    } else if (key.size() == 6 && key.starts_with("ctrl-")) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(key.back())));
      constexpr std::string_view kSymbols = "@[\\]^_";  // 0, 27..31
      if (c >= 'a' && c <= 'z') {
        out.push_back(static_cast<char>(c - 'a' + 1));
      } else if (auto at = kSymbols.find(c); at != std::string_view::npos) {
        out.push_back(static_cast<char>(at == 0 ? 0 : 26 + at));
      } else {
        return invalid(bad);
      }
    } else {
      return invalid(bad);
    }
    if (out.size() > kMaxDetachKeys) return invalid(bad);
    if (comma == std::string_view::npos) return out;
    keys.remove_prefix(comma + 1);
  }
}

Result<int> signalNumber(const std::string& name) {
  static constexpr std::array<std::pair<std::string_view, int>, 31> kSignals = {{
      {"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},    {"TRAP", 5},   {"ABRT", 6},  {"BUS", 7},
      {"FPE", 8},   {"KILL", 9},  {"USR1", 10}, {"SEGV", 11},  {"USR2", 12},  {"PIPE", 13}, {"ALRM", 14},
      {"TERM", 15}, {"STKFLT", 16}, {"CHLD", 17}, {"CONT", 18}, {"STOP", 19}, {"TSTP", 20}, {"TTIN", 21},
      {"TTOU", 22}, {"URG", 23},  {"XCPU", 24}, {"XFSZ", 25},  {"VTALRM", 26}, {"PROF", 27}, {"WINCH", 28},
      {"IO", 29},   {"PWR", 30},  {"SYS", 31},
  }};
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (name.size() <= 2) {
      int n = std::stoi(name);
      if (n >= 1 && n <= 64) return n;
    }
    return invalid("Invalid signal: " + name);
  }
  std::string upper;
  for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  std::string_view bare = upper;
  if (bare.rfind("SIG", 0) == 0) bare.remove_prefix(3);
  for (const auto& [n, number] : kSignals) {
    if (n == bare) return number;
  }
  return invalid("Invalid signal: " + name);
}

namespace {

Result<MountSpec> mount(wire::Mount::Reader in) {
  MountSpec out;
  switch (in.getType()) {
    case wire::MountType::BIND: out.type = MountType::Bind; break;
    case wire::MountType::VOLUME: out.type = MountType::Volume; break;
    case wire::MountType::TMPFS: out.type = MountType::Tmpfs; break;
    case wire::MountType::NPIPE: out.type = MountType::Npipe; break;
    case wire::MountType::CLUSTER: out.type = MountType::Cluster; break;
    case wire::MountType::IMAGE: out.type = MountType::Image; break;
    default: return malformed("mount type out of range");
  }
  DOCKERBOX_TRY_ASSIGN(out.source, text(in.getSource(), kMaxPathBytes, "mount source"));
  DOCKERBOX_TRY_ASSIGN(out.target, text(in.getTarget(), kMaxPathBytes, "mount target"));
  if (out.target.empty() || out.target.front() != '/') {
    return invalid("invalid mount config: mount path must be absolute: " + out.target);
  }
  out.access = in.getReadOnly() ? MountAccess::ReadOnly : MountAccess::ReadWrite;
  out.fromBinds = in.getFromBinds();
  DOCKERBOX_TRY_ASSIGN(out.volumeDriver, text(in.getVolumeDriver(), kMaxNameBytes, "volume driver"));
  DOCKERBOX_TRY_ASSIGN(out.volumeOptions, keyValues(in.getVolumeOptions(), "volume options"));
  return out;
}

bool isUlimitName(std::string_view name) {
  for (auto known : wire::ULIMIT_NAMES.get()) {
    if (std::string_view(known.cStr(), known.size()) == name) return true;
  }
  return false;
}

std::string limitText(std::int64_t limit) { return limit == -1 ? "unlimited" : std::to_string(limit); }

/// HostConfig.Ulimits. The worker checks the same rules, but these limits are applied as root
/// by dockerbox-init, so nothing here relies on that: every name and bound is checked again.
/// Messages are dockerd's (go-units ParseUlimit) where it has one.
Result<std::vector<UlimitSpec>> ulimits(capnp::List<wire::Ulimit>::Reader in) {
  // No real client sends more than the 15 names Docker knows; a longer list is forged.
  if (in.size() > wire::MAX_ULIMITS) return malformed("too many ulimits");
  std::vector<UlimitSpec> out;
  out.reserve(in.size());
  for (auto item : in) {
    UlimitSpec u;
    DOCKERBOX_TRY_ASSIGN(u.name, text(item.getName(), kMaxNameBytes, "ulimit name"));
    if (!isUlimitName(u.name)) return invalid("invalid ulimit type: " + u.name);
    u.soft = item.getSoft();
    u.hard = item.getHard();
    // setrlimit takes unsigned limits: anything below -1 would wrap to a huge finite one.
    if (u.soft < -1 || u.hard < -1) {
      return invalid("invalid ulimit " + u.name + ": a limit must be -1 (unlimited) or at least 0");
    }
    // An unlimited soft limit under a finite hard one is refused by setrlimit (EINVAL).
    if (u.hard != -1 && (u.soft == -1 || u.soft > u.hard)) {
      return invalid("ulimit soft limit must be less than or equal to hard limit: " + limitText(u.soft) + " > " +
                     limitText(u.hard));
    }
    // One value per name, so the policy and the init in the container see the same limit.
    if (std::any_of(out.begin(), out.end(), [&](const UlimitSpec& seen) { return seen.name == u.name; })) {
      return invalid("ulimit " + u.name + " is given more than once");
    }
    out.push_back(std::move(u));
  }
  return out;
}

Result<HostSpec> hostConfig(wire::HostConfig::Reader in) {
  HostSpec h;
  if (in.getMounts().size() > kMaxListItems) return malformed("too many mounts");
  for (auto m : in.getMounts()) {
    auto spec = mount(m);
    if (!spec) return spec.error();
    h.mounts.push_back(std::move(*spec));
  }
  auto list = [](capnp::List<capnp::Text>::Reader l, const char* what) {
    return textList(l, kMaxListItems, kMaxPathBytes, what);
  };
  auto name = [](capnp::Text::Reader t, const char* what) { return text(t, kMaxRefBytes, what); };
  DOCKERBOX_TRY_ASSIGN(h.networkMode, name(in.getNetworkMode(), "network mode"));
  h.privileged = in.getPrivileged();
  DOCKERBOX_TRY_ASSIGN(h.capAdd, list(in.getCapAdd(), "CapAdd"));
  DOCKERBOX_TRY_ASSIGN(h.capDrop, list(in.getCapDrop(), "CapDrop"));
  DOCKERBOX_TRY_ASSIGN(h.devices, list(in.getDevices(), "Devices"));
  DOCKERBOX_TRY_ASSIGN(h.securityOpt, list(in.getSecurityOpt(), "SecurityOpt"));
  DOCKERBOX_TRY_ASSIGN(h.groupAdd, list(in.getGroupAdd(), "GroupAdd"));
  DOCKERBOX_TRY_ASSIGN(h.pidMode, name(in.getPidMode(), "PidMode"));
  DOCKERBOX_TRY_ASSIGN(h.ipcMode, name(in.getIpcMode(), "IpcMode"));
  DOCKERBOX_TRY_ASSIGN(h.utsMode, name(in.getUtsMode(), "UTSMode"));
  DOCKERBOX_TRY_ASSIGN(h.usernsMode, name(in.getUsernsMode(), "UsernsMode"));
  DOCKERBOX_TRY_ASSIGN(h.cgroupnsMode, name(in.getCgroupnsMode(), "CgroupnsMode"));
  DOCKERBOX_TRY_ASSIGN(h.sysctls, keyValues(in.getSysctls(), "Sysctls"));
  DOCKERBOX_TRY_ASSIGN(h.cgroupParent, text(in.getCgroupParent(), kMaxPathBytes, "CgroupParent"));
  DOCKERBOX_TRY_ASSIGN(h.runtime, name(in.getRuntime(), "Runtime"));
  h.memory = in.getMemory();
  h.nanoCpus = in.getNanoCpus();
  h.cpuShares = in.getCpuShares();
  if (h.memory < 0 || h.nanoCpus < 0 || h.cpuShares < 0) return invalid("resource limits must not be negative");
  h.autoRemove = in.getAutoRemove();
  DOCKERBOX_TRY_ASSIGN(h.restartPolicy, name(in.getRestartPolicy(), "RestartPolicy"));
  h.restartMaxRetries = in.getRestartMaxRetries();
  h.readonlyRootfs = in.getReadonlyRootfs();
  h.oomKillDisable = in.getOomKillDisable();
  h.hasDeviceRequests = in.getHasDeviceRequests();
  h.hasDeviceCgroupRules = in.getHasDeviceCgroupRules();
  if (in.getPortBindings().size() > kMaxListItems) return malformed("too many port bindings");
  for (auto p : in.getPortBindings()) {
    PortSpec port;
    DOCKERBOX_TRY_ASSIGN(port.containerPort, name(p.getContainerPort(), "port"));
    DOCKERBOX_TRY_ASSIGN(port.hostIp, name(p.getHostIp(), "host ip"));
    DOCKERBOX_TRY_ASSIGN(port.hostPort, name(p.getHostPort(), "host port"));
    h.portBindings.push_back(std::move(port));
  }
  h.publishAllPorts = in.getPublishAllPorts();
  DOCKERBOX_TRY_ASSIGN(h.tmpfs, keyValues(in.getTmpfs(), "Tmpfs"));
  DOCKERBOX_TRY_ASSIGN(h.volumeDriver, name(in.getVolumeDriver(), "VolumeDriver"));
  DOCKERBOX_TRY_ASSIGN(h.volumesFrom, list(in.getVolumesFrom(), "VolumesFrom"));
  DOCKERBOX_TRY_ASSIGN(h.extraHosts, list(in.getExtraHosts(), "ExtraHosts"));
  DOCKERBOX_TRY_ASSIGN(h.dns, list(in.getDns(), "Dns"));
  h.pidsLimit = in.getPidsLimit();
  h.shmSize = in.getShmSize();
  if (h.pidsLimit < -1 || h.shmSize < 0) return invalid("resource limits must not be negative");
  DOCKERBOX_TRY_ASSIGN(h.ulimits, ulimits(in.getUlimits()));
  if (in.getHasInit()) {
    h.init = in.getInit();
  } else if (in.getInit()) {
    // Only a forged frame sets a value it says is absent; the canonical copy must not hold one.
    return malformed("init set without hasInit");
  }
  // ConsoleSize is only the first size of a TTY; miniboxd has no terminal sizes (no resize).
  return h;
}

/// Docker's checks of Config.Healthcheck (validateHealthCheck), and the test's form.
Result<HealthcheckSpec> healthcheck(wire::Healthcheck::Reader in) {
  HealthcheckSpec h;
  DOCKERBOX_TRY_ASSIGN(h.test, textList(in.getTest(), kMaxArgs, kMaxArgBytes, "Healthcheck.Test"));
  if (!h.test.empty()) {
    const std::string& kind = h.test.front();
    const bool wellFormed = (kind == "NONE" && h.test.size() == 1) || (kind == "CMD" && h.test.size() >= 2) ||
                            (kind == "CMD-SHELL" && h.test.size() == 2);
    if (!wellFormed) {
      return invalid("invalid Healthcheck.Test: it must be [\"NONE\"], [\"CMD\", args...] or "
                     "[\"CMD-SHELL\", command]");
    }
  }
  constexpr std::int64_t kMinimum = 1'000'000;  // 1ms, Docker's MinimumDuration
  const std::pair<std::int64_t, const char*> durations[] = {{in.getInterval(), "Interval"},
                                                            {in.getTimeout(), "Timeout"},
                                                            {in.getStartPeriod(), "StartPeriod"},
                                                            {in.getStartInterval(), "StartInterval"}};
  for (const auto& [value, field] : durations) {
    if (value != 0 && value < kMinimum) {
      return invalid(std::string(field) + " in Healthcheck cannot be less than 1ms");
    }
  }
  if (in.getRetries() < 0) return invalid("Retries in Healthcheck cannot be negative");
  return HealthcheckSpec{std::move(h.test), in.getInterval(), in.getTimeout(), in.getStartPeriod(),
                         in.getStartInterval(), in.getRetries()};
}

}  // namespace

Result<CreateContainerOp> createContainer(wire::ContainerConfig::Reader in) {
  CreateContainerOp op;
  ContainerSpec& s = op.spec;
  DOCKERBOX_TRY_ASSIGN(s.name, text(in.getName(), kMaxNameBytes, "name"));
  DOCKERBOX_TRY_ASSIGN(s.image, text(in.getImage(), kMaxRefBytes, "image"));
  if (s.image.empty()) return invalid("config cannot be empty in order to create a container");
  if (in.getHasCmd()) {
    DOCKERBOX_TRY_ASSIGN(s.cmd, textList(in.getCmd(), kMaxArgs, kMaxArgBytes, "Cmd"));
  }
  if (in.getHasEntrypoint()) {
    DOCKERBOX_TRY_ASSIGN(s.entrypoint, textList(in.getEntrypoint(), kMaxArgs, kMaxArgBytes, "Entrypoint"));
  }
  DOCKERBOX_TRY_ASSIGN(s.env, envList(in.getEnv()));
  DOCKERBOX_TRY_ASSIGN(s.labels, keyValues(in.getLabels(), "Labels"));
  DOCKERBOX_TRY_ASSIGN(s.workingDir, text(in.getWorkingDir(), kMaxPathBytes, "WorkingDir"));
  DOCKERBOX_TRY_ASSIGN(s.user, text(in.getUser(), kMaxNameBytes, "User"));
  DOCKERBOX_TRY_ASSIGN(s.hostname, text(in.getHostname(), kMaxNameBytes, "Hostname"));
  s.tty = in.getTty();
  s.openStdin = in.getOpenStdin();
  s.stdinOnce = in.getStdinOnce();
  DOCKERBOX_TRY_ASSIGN(s.exposedPorts, textList(in.getExposedPorts(), kMaxListItems, kMaxRefBytes, "ExposedPorts"));
  DOCKERBOX_TRY_ASSIGN(s.host, hostConfig(in.getHost()));
  if (in.getHasHealthcheck()) DOCKERBOX_TRY_ASSIGN(s.healthcheck, healthcheck(in.getHealthcheck()));
  // Keep a canonical copy of exactly what was validated, written by us: it is what
  // inspect shows and what restart re-runs, never the worker's original bytes.
  capnp::MallocMessageBuilder copy;
  copy.setRoot(in);
  auto words = capnp::messageToFlatArray(copy);
  op.canonicalConfig.resize(words.size());
  std::memcpy(op.canonicalConfig.data(), words.begin(), words.asBytes().size());
  return op;
}

}  // namespace dockerbox::broker::decode
