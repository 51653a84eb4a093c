#include "frontend/inspect_parts.hpp"

#include "frontend/render_helpers.hpp"

#include <boost/json/value.hpp>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;

std::string_view mountTypeName(wire::MountType type) {
  switch (type) {
    case wire::MountType::BIND: return "bind";
    case wire::MountType::VOLUME: return "volume";
    case wire::MountType::TMPFS: return "tmpfs";
    case wire::MountType::NPIPE: return "npipe";
    case wire::MountType::CLUSTER: return "cluster";
    case wire::MountType::IMAGE: return "image";
  }
  return "";  // out of range: capnp does not check enums; shown as an unknown type
}

/// The Binds string a typed mount came from: "src:dst[:ro][,propagation]".
std::string bindString(wire::Mount::Reader mount) {
  std::string out = wireText(mount.getSource());
  out += (out.empty() ? "" : ":") + wireText(mount.getTarget());
  std::string mode = mount.getReadOnly() ? "ro" : "";
  if (mount.getPropagation().size() != 0) mode += (mode.empty() ? "" : ",") + wireText(mount.getPropagation());
  if (!mode.empty()) out += ":" + mode;
  return out;
}

json::object renderMount(wire::Mount::Reader mount) {
  json::object out{{"Type", mountTypeName(mount.getType())},
                   {"Source", wireText(mount.getSource())},
                   {"Target", wireText(mount.getTarget())}};
  if (mount.getReadOnly()) out["ReadOnly"] = true;
  if (mount.getPropagation().size() != 0) {
    out["BindOptions"] = json::object{{"Propagation", wireText(mount.getPropagation())}};
  }
  if (mount.getVolumeDriver().size() != 0 || mount.getVolumeOptions().size() != 0) {
    json::object driver{{"Name", wireText(mount.getVolumeDriver())}};
    if (mount.getVolumeOptions().size() != 0) driver["Options"] = keyValueObject(mount.getVolumeOptions());
    out["VolumeOptions"] = json::object{{"DriverConfig", std::move(driver)}};
  }
  return out;
}

json::object portBindings(capnp::List<wire::PortBinding>::Reader bindings) {
  json::object out;
  for (auto binding : bindings) {
    std::string port = wireText(binding.getContainerPort());
    if (!out.contains(port)) out[port] = json::array{};
    out[port].as_array().push_back(json::object{{"HostIp", wireText(binding.getHostIp())},
                                                {"HostPort", wireText(binding.getHostPort())}});
  }
  return out;
}

/// HostConfig.Ulimits as dockerd shows it with no daemon default ulimits: the client's list.
/// The docker CLI sends [] when it has none, so that is what an empty list renders as (like
/// Dns); only clients that send null would see null from dockerd.
json::array ulimits(capnp::List<wire::Ulimit>::Reader list) {
  json::array out;
  for (auto u : list) {
    out.push_back(json::object{{"Name", wireText(u.getName())}, {"Soft", u.getSoft()}, {"Hard", u.getHard()}});
  }
  return out;
}

}  // namespace

std::string networkName(std::string_view networkMode) {
  if (networkMode.empty() || networkMode == "default") return "bridge";
  if (networkMode.starts_with("container:")) return {};
  return std::string(networkMode);
}

json::object renderHostConfig(wire::HostConfig::Reader host) {
  json::array binds;
  json::array mounts;
  for (auto mount : host.getMounts()) {
    if (mount.getFromBinds()) {
      // An anonymous volume from Config.Volumes has no source and no Binds entry.
      if (mount.getSource().size() != 0) binds.emplace_back(bindString(mount));
    } else {
      mounts.push_back(renderMount(mount));
    }
  }
  json::array devices;
  for (auto path : host.getDevices()) {
    devices.push_back(json::object{{"PathOnHost", wireText(path)},
                                   {"PathInContainer", wireText(path)},
                                   {"CgroupPermissions", "rwm"}});
  }
  json::object out{
      {"Binds", binds.empty() ? json::value(nullptr) : json::value(std::move(binds))},
      {"ContainerIDFile", ""},
      {"LogConfig", json::object{{"Type", "json-file"}, {"Config", json::object{}}}},
      {"NetworkMode", host.getNetworkMode().size() == 0 ? "default" : wireText(host.getNetworkMode())},
      {"PortBindings", portBindings(host.getPortBindings())},
      {"RestartPolicy", json::object{{"Name", host.getRestartPolicy().size() == 0 ? "no" : wireText(host.getRestartPolicy())},
                                     {"MaximumRetryCount", host.getRestartMaxRetries()}}},
      {"AutoRemove", host.getAutoRemove()},
      {"VolumeDriver", wireText(host.getVolumeDriver())},
      {"VolumesFrom", textArrayOrNull(host.getVolumesFrom())},
      {"ConsoleSize", json::array{host.getConsoleHeight(), host.getConsoleWidth()}},
      {"CapAdd", textArrayOrNull(host.getCapAdd())},
      {"CapDrop", textArrayOrNull(host.getCapDrop())},
      // dockerd stores its default when none was given (private with cgroup v2, which /info
      // reports); the schema has no "" here, and dockerbox refuses "host".
      // "" and "default" mean dockerd's default on a cgroup v2 host; "host" is refused at create.
      {"CgroupnsMode", wireText(host.getCgroupnsMode()) == "host" ? "host" : "private"},
      {"Dns", textArray(host.getDns())},
      {"DnsOptions", json::array{}},
      {"DnsSearch", json::array{}},
      {"ExtraHosts", textArrayOrNull(host.getExtraHosts())},
      {"GroupAdd", textArrayOrNull(host.getGroupAdd())},
      {"IpcMode", wireText(host.getIpcMode())},
      {"Cgroup", ""},
      {"Links", nullptr},
      {"OomScoreAdj", 0},
      {"PidMode", wireText(host.getPidMode())},
      {"Privileged", host.getPrivileged()},
      {"PublishAllPorts", host.getPublishAllPorts()},
      {"ReadonlyRootfs", host.getReadonlyRootfs()},
      {"SecurityOpt", textArrayOrNull(host.getSecurityOpt())},
      {"UTSMode", wireText(host.getUtsMode())},
      {"UsernsMode", wireText(host.getUsernsMode())},
      {"ShmSize", host.getShmSize()},
      {"Runtime", host.getRuntime().size() == 0 ? "minibox" : wireText(host.getRuntime())},
      {"Isolation", ""},
      // Resources: the three miniboxd applies, the rest at the values create insists on.
      {"CpuShares", host.getCpuShares()},
      {"Memory", host.getMemory()},
      {"NanoCpus", host.getNanoCpus()},
      {"CgroupParent", wireText(host.getCgroupParent())},
      {"BlkioWeight", 0},
      {"BlkioWeightDevice", json::array{}},
      {"BlkioDeviceReadBps", json::array{}},
      {"BlkioDeviceWriteBps", json::array{}},
      {"BlkioDeviceReadIOps", json::array{}},
      {"BlkioDeviceWriteIOps", json::array{}},
      {"CpuPeriod", 0},
      {"CpuQuota", 0},
      {"CpuRealtimePeriod", 0},
      {"CpuRealtimeRuntime", 0},
      {"CpusetCpus", ""},
      {"CpusetMems", ""},
      {"Devices", std::move(devices)},
      {"DeviceCgroupRules", nullptr},
      {"DeviceRequests", nullptr},
      {"MemoryReservation", 0},
      {"MemorySwap", 0},
      {"MemorySwappiness", nullptr},
      {"OomKillDisable", host.getOomKillDisable()},
      {"PidsLimit", host.getPidsLimit() == 0 ? json::value(nullptr) : json::value(host.getPidsLimit())},
      {"Ulimits", ulimits(host.getUlimits())},
      {"CpuCount", 0},
      {"CpuPercent", 0},
      {"IOMaximumIOps", 0},
      {"IOMaximumBandwidth", 0},
      {"MaskedPaths", nullptr},
      {"ReadonlyPaths", nullptr},
  };
  if (!mounts.empty()) out["Mounts"] = std::move(mounts);
  if (host.getTmpfs().size() != 0) out["Tmpfs"] = keyValueObject(host.getTmpfs());
  if (host.getSysctls().size() != 0) out["Sysctls"] = keyValueObject(host.getSysctls());
  // Init is *bool with omitempty: left out when not given, true or false when it was.
  if (host.getHasInit()) out["Init"] = host.getInit();
  return out;
}

json::array renderMountPoints(wire::HostConfig::Reader host) {
  json::array out;
  for (auto mount : host.getMounts()) {
    auto type = mount.getType();
    if (type != wire::MountType::BIND && type != wire::MountType::VOLUME && type != wire::MountType::TMPFS) continue;
    bool volume = type == wire::MountType::VOLUME;
    std::string driver = wireText(mount.getVolumeDriver());
    std::string propagation = wireText(mount.getPropagation());
    if (type == wire::MountType::BIND && propagation.empty()) propagation = "rprivate";
    out.push_back(json::object{
        {"Type", mountTypeName(type)},
        {"Name", volume ? wireText(mount.getSource()) : ""},
        // A volume's place on the host (root's alone) is not shown here; `docker volume
        // inspect` has it.
        {"Source", volume ? "" : wireText(mount.getSource())},
        {"Destination", wireText(mount.getTarget())},
        {"Driver", volume ? (driver.empty() ? "local" : driver) : ""},
        {"Mode", mount.getReadOnly() ? "ro" : ""},
        {"RW", !mount.getReadOnly()},
        {"Propagation", propagation},
    });
  }
  return out;
}

json::object renderNetworkSettings(wire::ContainerConfig::Reader config, capnp::List<wire::BoundPort>::Reader bound,
                                   bool running) {
  auto host = config.getHost();
  json::object ports;
  if (running) {
    // As dockerd: every exposed port, null unless published; published ones as bound.
    for (auto port : config.getExposedPorts()) ports[wireText(port)] = nullptr;
    for (auto port : bound) {
      std::string key = std::to_string(port.getContainerPort()) + "/" + wireText(port.getProtocol());
      if (!ports[key].is_array()) ports[key] = json::array{};
      ports[key].as_array().push_back(
          json::object{{"HostIp", wireText(port.getHostIp())}, {"HostPort", std::to_string(port.getHostPort())}});
    }
  }
  json::object networks;
  std::string name = networkName(std::string_view(host.getNetworkMode().cStr(), host.getNetworkMode().size()));
  if (!name.empty()) {
    networks[name] = json::object{
        {"IPAMConfig", nullptr}, {"Links", nullptr},       {"Aliases", nullptr},
        {"MacAddress", ""},      {"DriverOpts", nullptr},  {"GwPriority", 0},
        {"NetworkID", ""},       {"EndpointID", ""},       {"Gateway", ""},
        {"IPAddress", ""},       {"IPPrefixLen", 0},       {"IPv6Gateway", ""},
        {"GlobalIPv6Address", ""}, {"GlobalIPv6PrefixLen", 0}, {"DNSNames", nullptr},
    };
  }
  return json::object{
      {"Bridge", ""},          {"SandboxID", ""},        {"SandboxKey", ""},
      {"Ports", std::move(ports)},
      {"HairpinMode", false},  {"LinkLocalIPv6Address", ""}, {"LinkLocalIPv6PrefixLen", 0},
      {"SecondaryIPAddresses", nullptr}, {"SecondaryIPv6Addresses", nullptr},
      {"EndpointID", ""},      {"Gateway", ""},          {"GlobalIPv6Address", ""},
      {"GlobalIPv6PrefixLen", 0}, {"IPAddress", ""},     {"IPPrefixLen", 0},
      {"IPv6Gateway", ""},     {"MacAddress", ""},
      {"Networks", std::move(networks)},
  };
}

}  // namespace dockerbox::frontend
