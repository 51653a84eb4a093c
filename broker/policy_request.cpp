// Runs as root. Input: validated requests; the strings in them are client-chosen.
#include "broker/policy_request.hpp"

#include "broker/containers/ports.hpp"
#include "broker/minibox/image_ref.hpp"

#include <algorithm>
#include <cctype>
#include <type_traits>
#include <variant>

namespace dockerbox::broker {

namespace {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

policy::MountAccess toPolicy(MountAccess access) {
  return access == MountAccess::ReadOnly ? policy::MountAccess::ReadOnly : policy::MountAccess::ReadWrite;
}

/// Whether a volume driver is one that needs no privilege ("" means the default, local).
bool isLocalDriver(std::string_view driver) { return driver.empty() || driver == "local"; }

/// The local driver's `o` option: "bind,ro" makes the volume itself read-only.
MountAccess driverBindAccess(const KeyValues& options) {
  for (const auto& [key, value] : options) {
    if (!equalsIgnoringCase(key, "o")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      if (rest.substr(0, comma) == "ro") return MountAccess::ReadOnly;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // A volume outlives this container and may be mounted read-write by the next one, so
  // its binding is judged read-write unless the volume itself is read-only.
  return MountAccess::ReadWrite;
}

class SpecConverter {
 public:
  SpecConverter(const BindProbe& probe, std::vector<ResolvedBind>& resolved) : probe_(probe), resolved_(resolved) {}

  /// A mount that reaches a host path: resolved and access-checked by the probe.
  void hostPath(policy::BindKind kind, ResolvedBind where, const std::string& source, MountAccess access) {
    policy::Bind bind;
    bind.kind = kind;
    bind.requestedSource = source;
    bind.access = toPolicy(access);
    BindSourceFacts facts = probe_(source, access);
    bind.resolvedSource = facts.resolved;
    bind.userCanAccess = facts.resolved.has_value() && facts.access == CallerAccess::Allowed;
    if (facts.resolved) {
      where.path = *facts.resolved;
      resolved_.push_back(std::move(where));
    }
    binds_.push_back(std::move(bind));
  }

  /// A mount that names no host path (a named or anonymous volume).
  void namedVolume(const std::string& name, MountAccess access) {
    policy::Bind bind;
    bind.kind = policy::BindKind::Volume;
    bind.requestedSource = name;
    bind.access = toPolicy(access);
    binds_.push_back(std::move(bind));
  }

  /// A mount the policy cannot judge (npipe, cluster): an unresolved host path, so every
  /// rule denies it. miniboxd has neither.
  void unjudgeable(const std::string& source, MountAccess access) {
    policy::Bind bind;
    bind.kind = policy::BindKind::Bind;
    bind.requestedSource = source;
    bind.access = toPolicy(access);
    binds_.push_back(std::move(bind));
  }

  std::vector<policy::Bind> take() { return std::move(binds_); }

 private:
  const BindProbe& probe_;
  std::vector<ResolvedBind>& resolved_;
  std::vector<policy::Bind> binds_;
};

}  // namespace

Result<std::string> normaliseImage(std::string_view reference) {
  auto ref = minibox::ImageRef::parse(reference);
  if (!ref) return fail(ErrorKind::Forbidden, ref.error().message, "image reference the policy cannot judge");
  return ref->registry() + "/" + ref->path() + ":" + ref->tag();
}

Result<PolicyInput> toContainerRequest(std::string_view operation, const ContainerSpec& spec,
                                       const BindProbe& probe) {
  const HostSpec& h = spec.host;
  PolicyInput input;
  input.request.operation = std::string(operation);
  policy::ContainerSpec out;
  DOCKERBOX_TRY_ASSIGN(out.image, normaliseImage(spec.image));
  out.user = spec.user;
  out.privileged = h.privileged;
  out.capAdd = h.capAdd;
  out.devices = h.devices;
  out.deviceRequests = h.hasDeviceRequests;
  out.deviceCgroupRules = h.hasDeviceCgroupRules;
  out.securityOpt = h.securityOpt;
  out.pidMode = h.pidMode;
  out.ipcMode = h.ipcMode;
  out.utsMode = h.utsMode;
  out.usernsMode = h.usernsMode;
  out.cgroupnsMode = h.cgroupnsMode;
  // The policy asks only whether any is set (a duplicated key collapses, the set stays non-empty).
  for (const auto& [key, value] : h.sysctls) out.sysctls.emplace(key, value);
  out.cgroupParent = h.cgroupParent;
  out.runtime = h.runtime;
  out.oomKillDisable = h.oomKillDisable;
  out.groupAdd = h.groupAdd;
  out.volumesFrom = h.volumesFrom;
  // MaskedPaths and ReadonlyPaths are not in the IPC schema: the frontend cannot forward
  // them, so they stay at Docker's defaults (maskedPathsSet/readonlyPathsSet false).
  out.networkMode = h.networkMode;
  // The decoder refuses negative values; the casts cannot wrap.
  out.memory = static_cast<std::uint64_t>(std::max<std::int64_t>(h.memory, 0));
  out.nanoCpus = static_cast<std::uint64_t>(std::max<std::int64_t>(h.nanoCpus, 0));
  // The addresses and ports that will be bound (an empty HostIp is the default address);
  // every port of a host range, so that the one bound is always one judged.
  std::vector<containers::PublishSpec> ports;
  DOCKERBOX_TRY_ASSIGN(ports, containers::publishSpecsOf(h.portBindings, h.publishAllPorts, spec.exposedPorts));
  for (const auto& p : ports) {
    for (unsigned port = p.hostPortLow; port <= p.hostPortHigh; ++port) {
      out.ports.push_back({p.protocol, p.hostIp, static_cast<std::uint16_t>(port), p.containerPort});
    }
  }

  // HostConfig.VolumeDriver is the driver of every volume the container creates: a
  // third-party driver can mount anything, so it needs a privileged rule.
  std::string foreignDriver = isLocalDriver(h.volumeDriver) ? std::string() : h.volumeDriver;
  SpecConverter binds(probe, input.resolvedBinds);
  for (std::size_t i = 0; i < h.mounts.size(); ++i) {
    const MountSpec& m = h.mounts[i];
    switch (m.type) {
      case MountType::Bind:
        // Docker reads a Binds entry whose source is not absolute as a named volume. A
        // Mounts entry of type bind must be absolute: a relative one stays an unresolved
        // host path (denied).
        if (m.fromBinds && (m.source.empty() || m.source.front() != '/')) {
          binds.namedVolume(m.source, m.access);
        } else {
          binds.hostPath(policy::BindKind::Bind, {i, ResolvedField::MountSource, 0, {}}, m.source, m.access);
        }
        break;
      case MountType::Volume: {
        if (!isLocalDriver(m.volumeDriver) && foreignDriver.empty()) foreignDriver = m.volumeDriver;
        // Driver options with a device (o=bind,device=/path; type=ext4,device=/dev/sdb1)
        // mount that host path. Keys are matched without case and every duplicate counts,
        // so no spelling hides a device.
        bool bindsHost = false;
        for (std::size_t k = 0; k < m.volumeOptions.size(); ++k) {
          const auto& [key, value] = m.volumeOptions[k];
          if (!equalsIgnoringCase(key, "device")) continue;
          bindsHost = true;
          binds.hostPath(policy::BindKind::VolumeDriverBind, {i, ResolvedField::VolumeDevice, k, {}}, value,
                         driverBindAccess(m.volumeOptions));
        }
        if (!bindsHost) binds.namedVolume(m.source, m.access);
        break;
      }
      case MountType::Tmpfs:
        break;  // memory only: nothing of the host reaches the container
      case MountType::Image: {
        // The image's files, read-only: judged like the images a request names.
        std::string image;
        DOCKERBOX_TRY_ASSIGN(image, normaliseImage(m.source));
        input.request.images.push_back(std::move(image));
        break;
      }
      case MountType::Npipe:
      case MountType::Cluster:
        binds.unjudgeable(m.source, m.access);
        break;
    }
  }
  out.binds = binds.take();
  // Judged as volumes.create judges a driver: only a privileged rule allows a foreign one.
  if (!foreignDriver.empty()) input.request.volume = policy::VolumeSpec{foreignDriver, {}};
  input.request.container = std::move(out);
  return input;
}

Result<PolicyInput> toPolicyRequest(const Operation& op, const BindProbe& probe) {
  PolicyInput input;
  input.request.operation = std::string(operationName(op));
  auto image = [&](std::string_view reference) -> Result<void> {
    auto normalised = normaliseImage(reference);
    if (!normalised) return normalised.error();
    input.request.images.push_back(std::move(*normalised));
    return {};
  };
  Result<void> converted = std::visit(
      [&](const auto& o) -> Result<void> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, CreateContainerOp>) {
          auto created = toContainerRequest(input.request.operation, o.spec, probe);
          if (!created) return created.error();
          input = std::move(*created);
        } else if constexpr (std::is_same_v<T, CreateVolumeOp>) {
          // A driver other than local needs a privileged rule; local options that bind a
          // device path are judged as binds of it (and dockerbox refuses them anyway).
          input.request.volume = policy::VolumeSpec{isLocalDriver(o.driver) ? std::string() : o.driver, {}};
        } else if constexpr (std::is_same_v<T, CreateExecOp>) {
          input.request.exec = policy::ExecSpec{o.privileged, o.user};
        } else if constexpr (std::is_same_v<T, PullImageOp>) {
          // Exactly what the pull handler fetches (service_images.cpp).
          return image(o.tag.empty() ? o.ref : o.ref + ":" + o.tag);
        } else if constexpr (std::is_same_v<T, InspectImageOp> || std::is_same_v<T, RemoveImageOp>) {
          return image(o.ref);
        }
        return {};
      },
      op);
  if (!converted) return converted.error();
  return input;
}

}  // namespace dockerbox::broker
