// POST /containers/create: the HostConfig part of the body, and Binds strings. Runs in: a
// frontend worker. Input: untrusted JSON from the Docker client.
#include "frontend/create_body.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;

Error invalidSpec(std::string_view bind) {
  return fail(ErrorKind::BadRequest, "invalid volume specification: '" + std::string(bind) + "'");
}


bool isPropagation(std::string_view m) {
  return m == "private" || m == "rprivate" || m == "shared" || m == "rshared" || m == "slave" ||
         m == "rslave";
}

/// One mount in the making, from Binds, Mounts or Config.Volumes.
struct MountItem {
  wire::MountType type = wire::MountType::VOLUME;
  std::string source;
  std::string target;
  bool readOnly = false;
  bool fromBinds = false;
  std::string volumeDriver;
  std::vector<std::pair<std::string, std::string>> volumeOptions;
  std::string propagation;
};

Result<wire::MountType> mountType(std::string_view type) {
  if (type == "bind") return wire::MountType::BIND;
  if (type == "volume") return wire::MountType::VOLUME;
  if (type == "tmpfs") return wire::MountType::TMPFS;
  if (type == "npipe") return wire::MountType::NPIPE;
  if (type == "cluster") return wire::MountType::CLUSTER;
  if (type == "image") return wire::MountType::IMAGE;
  return fail(ErrorKind::BadRequest,
              "invalid mount config for type \"" + std::string(type) + "\": mount type unknown");
}

Result<MountItem> mountEntry(const JsonFields& m) {
  MountItem item;
  std::string type;
  DOCKERBOX_TRY_ASSIGN(type, m.getString("Type"));
  DOCKERBOX_TRY_ASSIGN(item.type, mountType(type));
  DOCKERBOX_TRY_ASSIGN(item.source, m.getString("Source"));
  DOCKERBOX_TRY_ASSIGN(item.target, m.getString("Target"));
  DOCKERBOX_TRY_ASSIGN(item.readOnly, m.getBool("ReadOnly"));
  auto bind = m.getStruct("BindOptions");
  if (!bind) return bind.error();
  DOCKERBOX_TRY_ASSIGN(item.propagation, bind->getString("Propagation"));
  auto volume = m.getStruct("VolumeOptions");
  if (!volume) return volume.error();
  auto driver = volume->getStruct("DriverConfig");
  if (!driver) return driver.error();
  DOCKERBOX_TRY_ASSIGN(item.volumeDriver, driver->getString("Name"));
  DOCKERBOX_TRY_ASSIGN(item.volumeOptions, driver->getStringMap("Options"));
  if (item.type == wire::MountType::TMPFS) {
    // TmpfsOptions travel in the mount's option list as "size" (bytes) and "mode" (octal),
    // the names `--tmpfs` options have (run_spec.hpp, tmpfsMountOptions).
    auto tmpfs = m.getStruct("TmpfsOptions");
    if (!tmpfs) return tmpfs.error();
    std::int64_t size = 0, mode = 0;
    DOCKERBOX_TRY_ASSIGN(size, tmpfs->getInt("SizeBytes"));
    DOCKERBOX_TRY_ASSIGN(mode, tmpfs->getInt("Mode"));
    if (size < 0 || mode < 0 || mode > 07777) {
      return fail(ErrorKind::BadRequest, "invalid mount config for type \"tmpfs\": invalid size or mode");
    }
    item.volumeOptions.clear();
    if (size > 0) item.volumeOptions.emplace_back("size", std::to_string(size));
    if (mode > 0) {
      char octal[8];
      std::snprintf(octal, sizeof octal, "%llo", static_cast<unsigned long long>(mode));
      item.volumeOptions.emplace_back("mode", octal);
    }
  }
  return item;
}

Result<std::vector<MountItem>> collectMounts(const JsonFields& host,
                                             const std::vector<std::string>& anonymousVolumes) {
  std::vector<MountItem> mounts;
  std::string volumeDriver;
  DOCKERBOX_TRY_ASSIGN(volumeDriver, host.getString("VolumeDriver"));
  std::optional<std::vector<std::string>> binds;
  DOCKERBOX_TRY_ASSIGN(binds, host.getStringList("Binds"));
  for (const auto& bind : binds.value_or(std::vector<std::string>{})) {
    auto spec = parseBind(bind);
    if (!spec) return spec.error();
    MountItem item{spec->type, spec->source, spec->target, spec->readOnly, true, {}, {}, spec->propagation};
    if (item.type == wire::MountType::VOLUME) item.volumeDriver = volumeDriver;
    mounts.push_back(std::move(item));
  }
  std::vector<JsonFields> entries;
  DOCKERBOX_TRY_ASSIGN(entries, host.getStructList("Mounts"));
  for (const auto& entry : entries) {
    auto item = mountEntry(entry);
    if (!item) return item.error();
    mounts.push_back(std::move(*item));
  }
  // Config.Volumes: anonymous volumes, unless a bind or mount already covers the path
  // (compose sends both "Volumes":{"/data":{}} and "Binds":["proj_data:/data:rw"]).
  for (const auto& path : anonymousVolumes) {
    bool covered = std::any_of(mounts.begin(), mounts.end(), [&](const MountItem& m) { return m.target == path; });
    if (!covered) mounts.push_back(MountItem{wire::MountType::VOLUME, "", path, false, true, volumeDriver, {}, ""});
  }
  return mounts;
}

void writeMounts(const std::vector<MountItem>& mounts, wire::HostConfig::Builder out) {
  auto list = out.initMounts(static_cast<unsigned>(mounts.size()));
  for (unsigned i = 0; i < mounts.size(); ++i) {
    const MountItem& m = mounts[i];
    list[i].setType(m.type);
    list[i].setSource(m.source);
    list[i].setTarget(m.target);
    list[i].setReadOnly(m.readOnly);
    list[i].setFromBinds(m.fromBinds);
    list[i].setVolumeDriver(m.volumeDriver);
    list[i].setPropagation(m.propagation);
    auto options = list[i].initVolumeOptions(static_cast<unsigned>(m.volumeOptions.size()));
    for (unsigned j = 0; j < m.volumeOptions.size(); ++j) {
      options[j].setKey(m.volumeOptions[j].first);
      options[j].setValue(m.volumeOptions[j].second);
    }
  }
}

Result<void> writePortBindings(const JsonFields& host, wire::HostConfig::Builder out) {
  std::vector<std::array<std::string, 3>> bindings;
  if (const json::value* v = host.find("PortBindings")) {
    if (!v->is_object()) return host.typeError("PortBindings", *v, "nat.PortMap");
    for (const auto& entry : v->get_object()) {
      std::string port;
      DOCKERBOX_TRY_ASSIGN(port, normalizePort(entry.key()));
      if (entry.value().is_null()) continue;
      if (!entry.value().is_array()) return host.typeError("PortBindings", entry.value(), "[]nat.PortBinding");
      for (const auto& item : entry.value().get_array()) {
        auto binding = JsonFields::of(item, "PortBinding");
        if (!binding) return binding.error();
        std::string hostIp;
        std::string hostPort;
        DOCKERBOX_TRY_ASSIGN(hostIp, binding->getString("HostIp"));
        DOCKERBOX_TRY_ASSIGN(hostPort, binding->getString("HostPort"));
        bindings.push_back({port, hostIp, hostPort});
      }
    }
  }
  auto list = out.initPortBindings(static_cast<unsigned>(bindings.size()));
  for (unsigned i = 0; i < bindings.size(); ++i) {
    list[i].setContainerPort(bindings[i][0]);
    list[i].setHostIp(bindings[i][1]);
    list[i].setHostPort(bindings[i][2]);
  }
  return {};
}

Result<void> writeTextList(const JsonFields& host, std::string_view field, bool strSlice,
                           capnp::List<capnp::Text>::Builder (wire::HostConfig::Builder::*init)(unsigned),
                           wire::HostConfig::Builder out) {
  std::optional<std::vector<std::string>> items;
  if (strSlice) {
    DOCKERBOX_TRY_ASSIGN(items, host.getStrSlice(field));
  } else {
    DOCKERBOX_TRY_ASSIGN(items, host.getStringList(field));
  }
  if (!items) return {};
  auto list = (out.*init)(static_cast<unsigned>(items->size()));
  for (unsigned i = 0; i < items->size(); ++i) list.set(i, (*items)[i]);
  return {};
}

Result<void> writeKeyValues(const JsonFields& host, std::string_view field,
                            capnp::List<wire::KeyValue>::Builder (wire::HostConfig::Builder::*init)(unsigned),
                            wire::HostConfig::Builder out) {
  std::vector<std::pair<std::string, std::string>> items;
  DOCKERBOX_TRY_ASSIGN(items, host.getStringMap(field));
  auto list = (out.*init)(static_cast<unsigned>(items.size()));
  for (unsigned i = 0; i < items.size(); ++i) {
    list[i].setKey(items[i].first);
    list[i].setValue(items[i].second);
  }
  return {};
}

Result<void> writeDevices(const JsonFields& host, wire::HostConfig::Builder out) {
  std::vector<JsonFields> devices;
  DOCKERBOX_TRY_ASSIGN(devices, host.getStructList("Devices"));
  auto list = out.initDevices(static_cast<unsigned>(devices.size()));
  for (unsigned i = 0; i < devices.size(); ++i) {
    std::string path;
    DOCKERBOX_TRY_ASSIGN(path, devices[i].getString("PathOnHost"));
    list.set(i, path);
  }
  return {};
}

Result<void> writeConsoleSize(const JsonFields& host, wire::HostConfig::Builder out) {
  const json::value* v = host.find("ConsoleSize");
  if (v == nullptr) return {};
  if (!v->is_array()) return host.typeError("ConsoleSize", *v, "[2]uint");
  const json::array& size = v->get_array();
  std::array<std::uint16_t, 2> hw{0, 0};
  for (std::size_t i = 0; i < std::min<std::size_t>(2, size.size()); ++i) {
    if (!size[i].is_int64() && !size[i].is_uint64()) return host.typeError("ConsoleSize", size[i], "uint");
    auto n = size[i].is_int64() ? size[i].get_int64() : static_cast<std::int64_t>(std::min<std::uint64_t>(size[i].get_uint64(), 1u << 20));
    if (n < 0 || n > std::numeric_limits<std::uint16_t>::max()) {
      return fail(ErrorKind::BadRequest, "invalid ConsoleSize: " + std::to_string(n));
    }
    hw[i] = static_cast<std::uint16_t>(n);
  }
  out.setConsoleHeight(hw[0]);
  out.setConsoleWidth(hw[1]);
  return {};
}

bool isUlimitName(std::string_view name) {
  for (auto known : wire::ULIMIT_NAMES.get()) {
    if (std::string_view(known.cStr(), known.size()) == name) return true;
  }
  return false;
}

std::string limitText(std::int64_t limit) { return limit == -1 ? "unlimited" : std::to_string(limit); }

/// HostConfig.Ulimits ([]*units.Ulimit). dockerd stores any entry and fails only at start;
/// the CLI (go-units ParseUlimit) refuses unknown names and soft > hard with the wording used
/// here. A repeated name is refused too: the CLI keeps the last, but dockerd would hand both
/// to the runtime, and the policy must judge the one value that applies. The broker checks
/// all of this again.
Result<void> writeUlimits(const JsonFields& host, wire::HostConfig::Builder out) {
  std::vector<JsonFields> entries;
  DOCKERBOX_TRY_ASSIGN(entries, host.getStructList("Ulimits"));
  if (entries.size() > wire::MAX_ULIMITS) {
    return fail(ErrorKind::BadRequest, "too many ulimits: at most " + std::to_string(wire::MAX_ULIMITS));
  }
  struct Item {
    std::string name;
    std::int64_t soft = 0;
    std::int64_t hard = 0;
  };
  std::vector<Item> items;
  for (const auto& entry : entries) {
    Item u;
    DOCKERBOX_TRY_ASSIGN(u.name, entry.getString("Name"));
    DOCKERBOX_TRY_ASSIGN(u.soft, entry.getInt("Soft"));
    DOCKERBOX_TRY_ASSIGN(u.hard, entry.getInt("Hard"));
    if (!isUlimitName(u.name)) return fail(ErrorKind::BadRequest, "invalid ulimit type: " + u.name);
    if (u.soft < -1 || u.hard < -1) {
      return fail(ErrorKind::BadRequest, "invalid ulimit " + u.name + ": a limit must be -1 (unlimited) or at least 0");
    }
    if (u.hard != -1 && (u.soft == -1 || u.soft > u.hard)) {
      return fail(ErrorKind::BadRequest, "ulimit soft limit must be less than or equal to hard limit: " +
                                             limitText(u.soft) + " > " + limitText(u.hard));
    }
    if (std::any_of(items.begin(), items.end(), [&](const Item& seen) { return seen.name == u.name; })) {
      return fail(ErrorKind::BadRequest, "ulimit " + u.name + " is given more than once");
    }
    items.push_back(std::move(u));
  }
  auto list = out.initUlimits(static_cast<unsigned>(items.size()));
  for (unsigned i = 0; i < items.size(); ++i) {
    list[i].setName(items[i].name);
    list[i].setSoft(items[i].soft);
    list[i].setHard(items[i].hard);
  }
  return {};
}

/// HostConfig.Init (*bool): null and absent stay "not given", which inspect keeps apart
/// from false.
Result<void> writeInit(const JsonFields& host, wire::HostConfig::Builder out) {
  const json::value* v = host.find("Init");
  if (v == nullptr) return {};
  if (!v->is_bool()) return host.typeError("Init", *v, "bool");
  out.setHasInit(true);
  out.setInit(v->get_bool());
  return {};
}

}  // namespace

Result<BindSpec> parseBind(std::string_view bind) {
  // Docker's linuxParser.ParseMountRaw: at most three ':'-separated parts.
  std::vector<std::string_view> parts;
  for (std::string_view rest = bind;;) {
    auto colon = rest.find(':');
    parts.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest = rest.substr(colon + 1);
  }
  if (parts.empty() || parts[0].empty() || parts.size() > 3) return invalidSpec(bind);
  BindSpec spec;
  std::string_view mode;
  if (parts.size() == 1) {
    spec.target = parts[0];
  } else {
    spec.source = parts[0];
    spec.target = parts[1];
    if (parts.size() == 3) mode = parts[2];
  }
  if (spec.target.empty()) return invalidSpec(bind);
  // The mode: a comma list with at most one of each kind.
  int access = 0, label = 0, propagation = 0, copy = 0, consistency = 0;
  for (std::string_view rest = mode; !mode.empty();) {
    auto comma = rest.find(',');
    std::string_view m = rest.substr(0, comma);
    if (m == "rw" || m == "ro") {
      ++access;
      spec.readOnly = m == "ro";
    } else if (m == "z" || m == "Z") {
      ++label;
    } else if (isPropagation(m)) {
      ++propagation;
      spec.propagation = m;
    } else if (m == "nocopy") {
      ++copy;
    } else if (m == "consistent" || m == "cached" || m == "delegated") {
      ++consistency;
    } else {
      return fail(ErrorKind::BadRequest, "invalid mode: " + std::string(mode));
    }
    if (access > 1 || label > 1 || propagation > 1 || copy > 1 || consistency > 1) {
      return fail(ErrorKind::BadRequest, "invalid mode: " + std::string(mode));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  // "/foo:rw" is a destination with a mode, which a volume cannot have.
  if (parts.size() == 2 && (spec.target == "rw" || spec.target == "ro")) return invalidSpec(bind);
  spec.type = !spec.source.empty() && spec.source.front() == '/' ? wire::MountType::BIND
                                                                 : wire::MountType::VOLUME;
  return spec;
}

Result<void> parseHostConfig(const JsonFields& host, const std::vector<std::string>& anonymousVolumes,
                             wire::HostConfig::Builder out) {
  using B = wire::HostConfig::Builder;
  auto mounts = collectMounts(host, anonymousVolumes);
  if (!mounts) return mounts.error();
  writeMounts(*mounts, out);

  struct TextField {
    std::string_view name;
    void (B::*set)(capnp::Text::Reader);
  };
  static const std::array kTexts{
      TextField{"NetworkMode", &B::setNetworkMode}, TextField{"PidMode", &B::setPidMode},
      TextField{"IpcMode", &B::setIpcMode},         TextField{"UTSMode", &B::setUtsMode},
      TextField{"UsernsMode", &B::setUsernsMode},   TextField{"CgroupnsMode", &B::setCgroupnsMode},
      TextField{"CgroupParent", &B::setCgroupParent}, TextField{"Runtime", &B::setRuntime},
      TextField{"VolumeDriver", &B::setVolumeDriver},
  };
  for (const auto& field : kTexts) {
    std::string value;
    DOCKERBOX_TRY_ASSIGN(value, host.getString(field.name));
    (out.*field.set)(value);
  }
  struct BoolField {
    std::string_view name;
    void (B::*set)(bool);
  };
  static const std::array kBools{
      BoolField{"Privileged", &B::setPrivileged},         BoolField{"AutoRemove", &B::setAutoRemove},
      BoolField{"ReadonlyRootfs", &B::setReadonlyRootfs}, BoolField{"OomKillDisable", &B::setOomKillDisable},
      BoolField{"PublishAllPorts", &B::setPublishAllPorts},
  };
  for (const auto& field : kBools) {
    bool value = false;
    DOCKERBOX_TRY_ASSIGN(value, host.getBool(field.name));
    (out.*field.set)(value);
  }
  struct IntField {
    std::string_view name;
    void (B::*set)(std::int64_t);
  };
  static const std::array kInts{
      IntField{"Memory", &B::setMemory},       IntField{"NanoCpus", &B::setNanoCpus},
      IntField{"CpuShares", &B::setCpuShares}, IntField{"PidsLimit", &B::setPidsLimit},
      IntField{"ShmSize", &B::setShmSize},
  };
  for (const auto& field : kInts) {
    std::int64_t value = 0;
    DOCKERBOX_TRY_ASSIGN(value, host.getInt(field.name));
    (out.*field.set)(value);
  }

  if (auto ok = writeTextList(host, "CapAdd", true, &B::initCapAdd, out); !ok) return ok;
  if (auto ok = writeTextList(host, "CapDrop", true, &B::initCapDrop, out); !ok) return ok;
  if (auto ok = writeTextList(host, "SecurityOpt", false, &B::initSecurityOpt, out); !ok) return ok;
  if (auto ok = writeTextList(host, "GroupAdd", false, &B::initGroupAdd, out); !ok) return ok;
  if (auto ok = writeTextList(host, "VolumesFrom", false, &B::initVolumesFrom, out); !ok) return ok;
  if (auto ok = writeTextList(host, "ExtraHosts", false, &B::initExtraHosts, out); !ok) return ok;
  if (auto ok = writeTextList(host, "Dns", false, &B::initDns, out); !ok) return ok;
  if (auto ok = writeKeyValues(host, "Sysctls", &B::initSysctls, out); !ok) return ok;
  if (auto ok = writeKeyValues(host, "Tmpfs", &B::initTmpfs, out); !ok) return ok;
  if (auto ok = writeDevices(host, out); !ok) return ok;
  if (auto ok = writePortBindings(host, out); !ok) return ok;
  if (auto ok = writeConsoleSize(host, out); !ok) return ok;
  if (auto ok = writeUlimits(host, out); !ok) return ok;
  if (auto ok = writeInit(host, out); !ok) return ok;

  auto restart = host.getStruct("RestartPolicy");
  if (!restart) return restart.error();
  std::string restartName;
  DOCKERBOX_TRY_ASSIGN(restartName, restart->getString("Name"));
  std::int64_t retries = 0;
  DOCKERBOX_TRY_ASSIGN(retries, restart->getInt("MaximumRetryCount"));
  if (retries < 0 || retries > std::numeric_limits<std::int32_t>::max()) {
    return fail(ErrorKind::BadRequest, "invalid restart policy: maximum retry count must be a positive integer");
  }
  out.setRestartPolicy(restartName);
  out.setRestartMaxRetries(static_cast<std::int32_t>(retries));

  // Device requests (GPUs) and cgroup rules are carried as "asked for" so policy can refuse.
  const json::value* requests = host.find("DeviceRequests");
  out.setHasDeviceRequests(requests != nullptr && !(requests->is_array() && requests->get_array().empty()));
  const json::value* rules = host.find("DeviceCgroupRules");
  out.setHasDeviceCgroupRules(rules != nullptr && !(rules->is_array() && rules->get_array().empty()));
  return {};
}

}  // namespace dockerbox::frontend
