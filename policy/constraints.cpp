#include "policy/constraints.hpp"

#include "policy/values.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace dockerbox::policy {

namespace {

// Client text in a message is cut short: a SecurityOpt may hold a whole seccomp profile.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMaxShown = 80;
  std::string out = "'";
  out.append(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out.append("...");
  out.push_back('\'');
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <std::size_t N>
bool oneOf(std::string_view value, const std::array<std::string_view, N>& allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

class Checker {
 public:
  Checker(const Rule& rule, const Subject& subject) : rule_(rule), subject_(subject) {}

  void deny(std::string reason, std::string detail = {}) {
    result_.violations.push_back({std::move(reason), std::move(detail)});
  }

  // Fields that raise privilege; all allowed at once by `privileged = true`.
  void privilegedFields(const ContainerSpec& spec) {
    if (rule_.privileged == Privileged::Allowed) return;
    auto needs = [&](bool requested, const std::string& what) {
      if (requested) deny(what + " requires a rule with privileged = true");
    };
    needs(spec.privileged, "privileged mode");
    for (const auto& cap : spec.capAdd) {
      auto name = normaliseCapability(cap);
      if (!contains(rule_.capabilities, name) && !contains(rule_.capabilities, "ALL")) {
        deny("capability " + quoted(cap) + " is not allowed");
      }
    }
    for (const auto& device : spec.devices) {
      if (!contains(rule_.devices, device)) deny("device " + quoted(device) + " is not allowed");
    }
    needs(spec.deviceRequests, "DeviceRequests");
    needs(spec.deviceCgroupRules, "DeviceCgroupRules");
    for (const auto& option : spec.securityOpt) {
      if (!isSafeSecurityOpt(option))
        deny("security option " + quoted(option) + " requires privileged = true");
    }
    namespaceMode("PidMode", spec.pidMode, std::array<std::string_view, 1>{""});
    namespaceMode("IpcMode", spec.ipcMode,
                  std::array<std::string_view, 4>{"", "private", "shareable", "none"});
    namespaceMode("UTSMode", spec.utsMode, std::array<std::string_view, 1>{""});
    namespaceMode("UsernsMode", spec.usernsMode, std::array<std::string_view, 1>{""});
    namespaceMode("CgroupnsMode", spec.cgroupnsMode,
                  std::array<std::string_view, 2>{"", "private"});
    needs(!spec.sysctls.empty(), "Sysctls");
    needs(!spec.cgroupParent.empty(), "CgroupParent");
    needs(!spec.runtime.empty(), "Runtime");
    needs(spec.oomKillDisable, "OomKillDisable");
    needs(!spec.groupAdd.empty(), "GroupAdd");
    needs(!spec.volumesFrom.empty(), "VolumesFrom");
    needs(spec.maskedPathsSet, "MaskedPaths");
    needs(spec.readonlyPathsSet, "ReadonlyPaths");
  }

  template <std::size_t N>
  void namespaceMode(std::string_view field, std::string_view value,
                     const std::array<std::string_view, N>& safe) {
    // "host" and "container:<x>" join another namespace; unknown values fail closed too.
    if (!oneOf(value, safe))
      deny(std::string(field) + " " + quoted(value) + " requires privileged = true");
  }

  void user(std::string_view user) {
    if (rule_.rootUser == RootUser::Allowed) return;
    switch (classifyUser(user)) {
      case ContainerUser::Unspecified:
      case ContainerUser::NonRoot:
        return;
      case ContainerUser::Root:
        deny("User " + quoted(user) + " runs as root; the rule does not allow root_user");
        return;
      case ContainerUser::Invalid:
        deny("User " + quoted(user) + " is not a user spelling the policy can judge");
        return;
    }
  }

  void network(const std::string& mode) {
    std::string kind = mode.empty() ? "default" : mode;
    if (kind.starts_with("container:")) kind = "container";
    if (contains(rule_.networkModes, "*") || contains(rule_.networkModes, kind)) return;
    deny("network mode " + quoted(mode.empty() ? "default" : mode) + " is not allowed");
  }

  void image(const std::string& reference) {
    if (!rule_.images) return;
    for (const auto& pattern : *rule_.images) {
      if (pattern.matches(reference)) return;
    }
    deny("image " + quoted(reference) + " is not allowed");
  }

  void resources(const ContainerSpec& spec) {
    if (spec.memory == 0) {
      result_.injectMemory = rule_.defaultMemory;
    } else if (rule_.maxMemory && spec.memory > *rule_.maxMemory) {
      deny("memory limit " + std::to_string(spec.memory) + " bytes exceeds the maximum of " +
           std::to_string(*rule_.maxMemory));
    }
    if (spec.nanoCpus == 0) {
      result_.injectNanoCpus = rule_.defaultNanoCpus;
    } else if (rule_.maxNanoCpus && spec.nanoCpus > *rule_.maxNanoCpus) {
      deny("CPU limit " + std::to_string(spec.nanoCpus) + " NanoCpus exceeds the maximum of " +
           std::to_string(*rule_.maxNanoCpus));
    }
  }

  void bind(const Bind& bind) {
    if (bind.kind == BindKind::Volume) {
      if (rule_.volumes == NamedVolumes::Denied)
        deny("named volume " + quoted(bind.requestedSource) + " is not allowed");
      return;
    }
    // Checked first because it says nothing about the host's filesystem.
    if (rule_.bindAccess == BindAccess::ReadOnlyRequired && bind.access != MountAccess::ReadOnly) {
      deny("bind source " + quoted(bind.requestedSource) + " must be mounted read-only");
      return;
    }
    // One client-facing reason for every other refusal, so that the answers do not tell the
    // client whether a path it cannot read exists or where a symlink points.
    std::string reason = "bind source " + quoted(bind.requestedSource) + " is not allowed";
    if (!bind.resolvedSource) return deny(reason, "could not be resolved (missing or unreadable)");
    const std::string& resolved = *bind.resolvedSource;
    if (!isNormalisedAbsolutePath(resolved))
      return deny(reason, "resolved to a path that is not normalised");
    if (!bind.userCanAccess)
      return deny(reason, "the caller cannot access " + quoted(resolved) + " themselves");
    Placeholders values{subject_.userName, subject_.home, subject_.uid};
    std::string notes;
    for (const auto& pattern : rule_.bindSources) {
      std::string whyNot;
      if (pattern.matches(resolved, values, &whyNot)) return;
      if (!whyNot.empty()) notes += "; " + whyNot;
    }
    deny(reason, "resolved " + quoted(resolved) + " matches no bind_sources pattern" + notes);
  }

  // A host socket the broker would bind for the container. The address and the port are
  // judged separately, and both refusals are reported. `privileged` grants neither.
  void port(const PortPublish& publish) {
    // A host range (-p 8000-9000:80) reaches the policy as one binding per port: the
    // client's message and the audit record name the first few refusals and count the rest.
    auto refuse = [this](std::string reason) {
      if (++portRefusals_ <= kMaxPortRefusalsShown) deny(std::move(reason));
    };
    const bool knownProtocol = publish.protocol == "tcp" || publish.protocol == "udp";
    const auto address = normaliseIpAddress(publish.hostIp);
    const std::string host = !address          ? quoted(publish.hostIp)
                             : isIpv6(*address) ? "[" + *address + "]"
                                                : *address;
    const std::string what =
        "publishing port " + std::to_string(publish.containerPort) + "/" +
        (knownProtocol ? publish.protocol : quoted(publish.protocol)) + " on " + host + ":" +
        std::to_string(publish.hostPort) + " is not allowed";
    // Fail closed on what the policy cannot judge: the lists say nothing about other
    // protocols, and a text that is not an address cannot be compared with them.
    if (!knownProtocol) refuse(what + " (only tcp and udp can be published)");
    if (!address) {
      refuse(what + " (the host address is not an IP address)");
    } else if (!contains(rule_.publishAddresses, "*") &&
               !contains(rule_.publishAddresses, *address)) {
      refuse(what + " (publish_addresses)");
    }
    if (publish.hostPort == 0) {
      // The kernel picks a random port from its ephemeral range (32768-60999 by default,
      // never a port below 1024 unless an administrator lowered net.ipv4.ip_local_port_range),
      // so any rule that allows publishing at all allows it.
      if (rule_.publishPorts.empty())
        refuse("host port 0 (random) is not allowed (publish_ports: none)");
      return;
    }
    for (const auto& range : rule_.publishPorts) {
      if (range.contains(publish.hostPort)) return;
    }
    std::string ranges;
    for (const auto& range : rule_.publishPorts)
      ranges += (ranges.empty() ? "" : ", ") + range.toString();
    refuse("host port " + std::to_string(publish.hostPort) + " is not allowed (publish_ports: " +
           (ranges.empty() ? "none" : ranges) + ")");
  }

  // After every port(): says how many refusals were not spelled out.
  void portsDone() {
    if (portRefusals_ <= kMaxPortRefusalsShown) return;
    const std::size_t more = portRefusals_ - kMaxPortRefusalsShown;
    deny("and " + std::to_string(more) + " more published port " +
         (more == 1 ? "refusal" : "refusals"));
  }

  ConstraintResult take() { return std::move(result_); }

 private:
  static constexpr std::size_t kMaxPortRefusalsShown = 8;
  std::size_t portRefusals_ = 0;
  const Rule& rule_;
  const Subject& subject_;
  ConstraintResult result_;
};

}  // namespace

bool isSafeSecurityOpt(std::string_view option) {
  // Only the spellings Docker accepts for "turn no_new_privs on"; everything else
  // (seccomp=..., apparmor=..., label=..., systempaths=unconfined) can loosen confinement.
  constexpr std::array<std::string_view, 3> kSafe = {"no-new-privileges", "no-new-privileges:true",
                                                     "no-new-privileges=true"};
  return oneOf(option, kSafe);
}

ConstraintResult checkConstraints(const Rule& rule, const Subject& subject,
                                  const Request& request) {
  Checker check(rule, subject);
  if (request.container) {
    const ContainerSpec& spec = *request.container;
    check.privilegedFields(spec);
    check.user(spec.user);
    check.network(spec.networkMode);
    check.image(spec.image);
    check.resources(spec);
    for (const auto& bind : spec.binds) check.bind(bind);
    for (const auto& publish : spec.ports) check.port(publish);
    check.portsDone();
  }
  if (request.exec) {
    if (request.exec->privileged && rule.privileged != Privileged::Allowed) {
      check.deny("privileged exec requires a rule with privileged = true");
    }
    check.user(request.exec->user);
  }
  if (request.volume) {
    const auto& driver = request.volume->driver;
    if (!driver.empty() && driver != "local" && rule.privileged != Privileged::Allowed) {
      check.deny("volume driver " + quoted(driver) + " requires privileged = true");
    }
    for (const auto& bind : request.volume->binds) check.bind(bind);
  }
  for (const auto& image : request.images) check.image(image);
  return check.take();
}

}  // namespace dockerbox::policy
