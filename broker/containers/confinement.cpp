// Runs as root, in the broker. Input: the broker's stored create configs, validated exec
// requests, kernel identities and policy grants. Pure: no I/O.
#include "broker/containers/confinement.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <limits>

namespace dockerbox::broker::containers {

namespace {

/// Linux capability names by number (linux/capability.h), without "CAP_".
constexpr std::array<std::string_view, 41> kCapabilityNames = {
    "CHOWN",           "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER",       "FSETID",     "KILL",
    "SETGID",          "SETUID",       "SETPCAP",         "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST",   "NET_ADMIN",    "NET_RAW",         "IPC_LOCK",     "IPC_OWNER",  "SYS_MODULE",
    "SYS_RAWIO",       "SYS_CHROOT",   "SYS_PTRACE",      "SYS_PACCT",    "SYS_ADMIN",  "SYS_BOOT",
    "SYS_NICE",        "SYS_RESOURCE", "SYS_TIME",        "SYS_TTY_CONFIG", "MKNOD",    "LEASE",
    "AUDIT_WRITE",     "AUDIT_CONTROL", "SETFCAP",        "MAC_OVERRIDE", "MAC_ADMIN",  "SYSLOG",
    "WAKE_ALARM",      "BLOCK_SUSPEND", "AUDIT_READ",     "PERFMON",      "BPF",        "CHECKPOINT_RESTORE",
};
constexpr std::uint64_t kAllCapabilities = (std::uint64_t{1} << kCapabilityNames.size()) - 1;

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// The capability's bit, or nullopt for an unknown name; "ALL" is handled by the caller.
std::optional<std::uint64_t> capabilityBit(std::string_view name) {
  std::string n = upper(name);
  if (n.starts_with("CAP_")) n.erase(0, 4);
  for (std::size_t i = 0; i < kCapabilityNames.size(); ++i) {
    if (kCapabilityNames[i] == n) return std::uint64_t{1} << i;
  }
  return std::nullopt;
}

bool isAll(std::string_view name) { return upper(name) == "ALL" || upper(name) == "CAP_ALL"; }

std::optional<std::uint32_t> decimal(std::string_view s) {
  std::uint32_t v = 0;
  if (s.empty() || s.size() > 10) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

/// Whether `user` names exactly the caller's uid (and, when a group is given, their gid).
bool namesCaller(std::string_view user, const Identity& who) {
  auto colon = user.find(':');
  auto uid = decimal(user.substr(0, colon));
  if (!uid || *uid != who.uid) return false;
  if (colon == std::string_view::npos) return true;
  auto gid = decimal(user.substr(colon + 1));
  return gid && *gid == who.gid;
}

/// The User a container or exec runs as (see the file comment of the header).
Result<std::string> effectiveUser(std::string_view requested, const RunConfig& container, const Caller& who) {
  if (!hasWritableBind(container) || who.grants.rootUser == policy::RootUser::Allowed) {
    return std::string(requested);
  }
  const std::string own = std::to_string(who.uid) + ":" + std::to_string(who.gid);
  if (requested.empty() || namesCaller(requested, who)) return own;
  return fail(ErrorKind::Forbidden,
              "denied by policy: a container with a writable bind mount runs as your own user (" + own +
                  "); User \"" + std::string(requested) + "\" is not allowed with writable binds");
}

/// What both a run and an exec share: capabilities, seccomp, rlimits, user checks.
Result<init::InitConfig> commonConfinement(const RunConfig& config, const std::string& user, const Caller& who) {
  init::InitConfig c;
  DOCKERBOX_TRY_ASSIGN(c.capabilities, capabilitySet(config.capAdd, config.capDrop));
  DOCKERBOX_TRY_ASSIGN(c.seccomp, seccompOf(config.securityOpt));
  if (c.seccomp == init::Seccomp::Unconfined && who.grants.privileged != policy::Privileged::Allowed) {
    // The policy already refuses it at create; a stored record never widens a caller's rights.
    return fail(ErrorKind::Forbidden, "denied by policy: seccomp=unconfined needs a rule with privileged = true");
  }
  c.user = user;
  c.userCheck = user.empty() || who.grants.rootUser == policy::RootUser::Allowed ? init::UserCheck::Any
                                                                                 : init::UserCheck::NotRoot;
  for (const auto& u : config.ulimits) {
    constexpr auto kUnlimited = std::numeric_limits<std::uint64_t>::max();
    c.rlimits.push_back({u.name, u.soft < 0 ? kUnlimited : static_cast<std::uint64_t>(u.soft),
                         u.hard < 0 ? kUnlimited : static_cast<std::uint64_t>(u.hard)});
  }
  c.rlimitRaise = who.grants.privileged == policy::Privileged::Allowed ? init::RlimitRaise::Allow
                                                                       : init::RlimitRaise::Refuse;
  return c;
}

}  // namespace

Result<std::uint64_t> capabilitySet(const std::vector<std::string>& capAdd, const std::vector<std::string>& capDrop) {
  std::uint64_t add = 0;
  std::uint64_t drop = 0;
  bool addAll = false;
  bool dropAll = false;
  for (const auto& name : capAdd) {
    if (isAll(name)) { addAll = true; continue; }
    auto bit = capabilityBit(name);
    if (!bit) return fail(ErrorKind::BadRequest, "unknown capability: \"" + name + "\"");
    add |= *bit;
  }
  for (const auto& name : capDrop) {
    if (isAll(name)) { dropAll = true; continue; }
    auto bit = capabilityBit(name);
    if (!bit) return fail(ErrorKind::BadRequest, "unknown capability: \"" + name + "\"");
    drop |= *bit;
  }
  // moby: with ALL added, start from everything and drop; with ALL dropped, start from
  // nothing and add; otherwise the default set, plus adds, minus drops.
  if (addAll) return kAllCapabilities & ~drop;
  if (dropAll) return add;
  return (init::kDockerDefaultCaps | add) & ~drop;
}

Result<init::Seccomp> seccompOf(const std::vector<std::string>& securityOpt) {
  init::Seccomp mode = init::Seccomp::Default;
  for (const auto& opt : securityOpt) {
    // Docker accepts both "key=value" and the old "key:value".
    std::string o = opt;
    if (auto colon = o.find(':'); colon != std::string::npos && o.find('=') == std::string::npos) o[colon] = '=';
    if (o == "no-new-privileges" || o == "no-new-privileges=true") continue;  // always on here
    if (o == "seccomp=unconfined") {
      mode = init::Seccomp::Unconfined;
      continue;
    }
    // No AppArmor or SELinux under miniboxd: asking to switch them off changes nothing.
    if (o == "apparmor=unconfined" || o == "label=disable") continue;
    return fail(ErrorKind::NotImplemented,
                "security option \"" + opt + "\" is not supported by dockerbox: it applies Docker's default "
                "seccomp profile (or seccomp=unconfined where the policy allows it) and no-new-privileges");
  }
  return mode;
}

Result<init::Tmpfs> tmpfsOf(const std::string& path, std::string_view options) {
  init::Tmpfs t;
  const std::filesystem::path given(path);
  const bool climbs =
      std::any_of(given.begin(), given.end(), [](const std::filesystem::path& part) { return part == ".."; });
  t.path = climbs ? std::string() : given.lexically_normal().string();
  while (t.path.size() > 1 && t.path.back() == '/') t.path.pop_back();
  if (t.path.empty() || t.path.front() != '/' || t.path == "/" || t.path.find("/..") != std::string::npos) {
    return fail(ErrorKind::BadRequest, "invalid mount config for type \"tmpfs\": invalid mount path: '" + path +
                                           "' mount path must be absolute");
  }
  auto bad = [&](std::string_view item, std::string_view why) {
    return fail(ErrorKind::BadRequest, "invalid tmpfs option " + std::string(item) + " for " + path + ": " +
                                           std::string(why));
  };
  while (!options.empty()) {
    const auto comma = options.find(',');
    const std::string_view item = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string_view name = item.substr(0, eq);
    const std::string value(eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1));
    if (item == "rw" || item == "nosuid" || item == "nodev" || item == "notmpcopyup" || item.empty()) continue;
    if (item == "ro") {
      t.readOnly = true;
    } else if (item == "exec") {
      t.exec = true;
    } else if (item == "noexec") {
      t.exec = false;
    } else if (item == "suid" || item == "dev") {
      return bad(item, "dockerbox mounts every tmpfs nosuid,nodev");
    } else if (eq != std::string_view::npos && (name == "size" || name == "mode" || name == "uid" || name == "gid" ||
                                                name == "nr_inodes")) {
      std::string* field = name == "size" ? &t.size : name == "mode" ? &t.mode : name == "uid" ? &t.uid
                         : name == "gid" ? &t.gid : &t.nrInodes;
      *field = value;
    } else {
      return bad(item, "dockerbox knows size, mode, uid, gid, nr_inodes, exec, noexec, ro and rw");
    }
  }
  // The init's parser has the last word on each value: a tmpfs record it would refuse is
  // refused here, at create.
  init::InitConfig probe;
  probe.mode = init::Mode::Run;
  probe.argv = {"sh"};
  probe.tmpfs = {t};
  auto encoded = init::encodeInitArgs(probe);
  if (!encoded) return bad(init::tmpfsOptionsText(t), "a value is not a number the kernel takes");
  return t;
}

Result<void> checkConfinable(const RunConfig& config) {
  // What the monitor mounts for the init (run_spec.cpp, monitor/run_io.hpp) must be what
  // the init finds there: no bind may cover it.
  std::vector<std::string> targets;
  for (const auto& b : config.binds) targets.push_back(b.containerPath);
  for (const auto& v : config.volumes) targets.push_back(v.containerPath);
  for (const auto& [path, options] : config.tmpfs) {
    if (auto t = tmpfsOf(path, options); !t) return t.error();
    targets.push_back(path);
  }
  for (const auto& containerPath : targets) {
    const std::string target = std::filesystem::path(containerPath).lexically_normal().string();
    for (std::string_view reserved : {std::string_view(init::kInitPathInContainer), kIoPathInContainer}) {
      if (target == "/" || target == reserved || target.starts_with(std::string(reserved) + "/")) {
        return fail(ErrorKind::BadRequest, "invalid mount config: " + containerPath +
                                               " is reserved by dockerbox and cannot be a mount destination");
      }
    }
  }
  if (auto caps = capabilitySet(config.capAdd, config.capDrop); !caps) return caps.error();
  if (auto mode = seccompOf(config.securityOpt); !mode) return mode.error();
  for (const auto& u : config.ulimits) {
    if (init::rlimitResource(u.name) < 0) return fail(ErrorKind::BadRequest, "invalid ulimit type: " + u.name);
  }
  return {};
}

bool hasWritableBind(const RunConfig& config) {
  return std::any_of(config.binds.begin(), config.binds.end(), [](const BindSpec& b) { return !b.readOnly; });
}

Result<init::InitConfig> runConfinement(const RunConfig& config, const Caller& who, std::string_view dockerId) {
  std::string user;
  DOCKERBOX_TRY_ASSIGN(user, effectiveUser(config.user, config, who));
  init::InitConfig c;
  DOCKERBOX_TRY_ASSIGN(c, commonConfinement(config, user, who));
  c.mode = init::Mode::Run;
  c.workingDir = config.workingDir;
  c.hostname = config.hostname.empty() ? std::string(dockerId.substr(0, 12)) : config.hostname;
  c.rootfs = config.readonlyRootfs ? init::RootFs::ReadOnly : init::RootFs::ReadWrite;
  for (const auto& b : config.binds) {
    c.binds.push_back({b.readOnly ? init::BindAccess::ReadOnly : init::BindAccess::ReadWrite, b.containerPath});
  }
  // Volumes are mounts like binds to the init (nosuid,nodev; read-only where asked), but
  // they are dockerbox's own directories, no host user's: they do not make the container
  // run as its caller (hasWritableBind).
  for (const auto& v : config.volumes) {
    c.binds.push_back({v.readOnly ? init::BindAccess::ReadOnly : init::BindAccess::ReadWrite, v.containerPath});
    // Docker fills an empty volume from the image (the init does, inside the container).
    const bool clean = std::filesystem::path(v.containerPath).lexically_normal().string() == v.containerPath &&
                       v.containerPath.size() > 1 && v.containerPath.back() != '/';
    if (!v.readOnly && clean) c.fillPaths.push_back(v.containerPath);
  }
  for (const auto& [path, options] : config.tmpfs) {
    auto t = tmpfsOf(path, options);
    if (!t) return t.error();
    c.tmpfs.push_back(std::move(*t));
  }
  return c;
}

Result<init::InitConfig> execConfinement(const RunConfig& container, const CreateExecOp& exec, const Caller& who) {
  std::string user;
  DOCKERBOX_TRY_ASSIGN(user, effectiveUser(exec.user.empty() ? container.user : exec.user, container, who));
  init::InitConfig c;
  DOCKERBOX_TRY_ASSIGN(c, commonConfinement(container, user, who));
  c.mode = init::Mode::Exec;
  c.workingDir = exec.workingDir.empty() ? container.workingDir : exec.workingDir;
  return c;
}

}  // namespace dockerbox::broker::containers
