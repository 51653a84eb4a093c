// POST /containers/create: the Config part of the body. Runs in: a frontend worker.
// Input: untrusted JSON from the Docker client.
#include "frontend/create_body.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <cctype>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
namespace wire = ipc::wire;

Error notSupported(std::string_view field, std::string_view why) {
  return fail(ErrorKind::NotImplemented,
              std::string(field) + " is not supported by dockerbox: " + std::string(why));
}

void setTextList(capnp::List<capnp::Text>::Builder list, const std::vector<std::string>& items) {
  for (unsigned i = 0; i < items.size(); ++i) list.set(i, items[i]);
}

/// Config fields miniboxd cannot honour: refused unless they hold Go's zero value.
Result<void> refuseUnsupportedConfig(const JsonFields& config) {
  struct Unsupported {
    std::string_view field;
    std::string_view why;
  };
  static constexpr std::array kFields{
      Unsupported{"MacAddress", "miniboxd assigns no MAC addresses"},
      Unsupported{"Shell", "there is no image build here"},
  };
  for (const auto& [field, why] : kFields) {
    const json::value* v = config.find(field);
    bool isDefault = v == nullptr || (v->is_string() && v->get_string().empty()) ||
                     (v->is_array() && v->get_array().empty()) ||
                     (v->is_object() && v->get_object().empty());
    if (!isDefault) return notSupported("Config." + std::string(field), why);
  }
  return {};
}

/// HostConfig fields miniboxd cannot honour: refused unless they hold the default.
Result<void> refuseUnsupportedHost(const JsonFields& host) {
  struct Unsupported {
    std::string_view field;
    std::string_view why;
  };
  static constexpr std::string_view kLimits = "miniboxd applies only Memory, NanoCpus and CpuShares";
  static constexpr std::array kFields{
      Unsupported{"Links", "there are no legacy links"},
      Unsupported{"CpuQuota", kLimits},          Unsupported{"CpuPeriod", kLimits},
      Unsupported{"CpusetCpus", kLimits},        Unsupported{"CpusetMems", kLimits},
      Unsupported{"CpuRealtimePeriod", kLimits}, Unsupported{"CpuRealtimeRuntime", kLimits},
      Unsupported{"MemoryReservation", kLimits}, Unsupported{"MemorySwap", kLimits},
      Unsupported{"KernelMemory", kLimits},      Unsupported{"KernelMemoryTCP", kLimits},
      Unsupported{"BlkioWeight", kLimits},       Unsupported{"BlkioWeightDevice", kLimits},
      Unsupported{"BlkioDeviceReadBps", kLimits}, Unsupported{"BlkioDeviceWriteBps", kLimits},
      Unsupported{"BlkioDeviceReadIOps", kLimits}, Unsupported{"BlkioDeviceWriteIOps", kLimits},
      Unsupported{"OomScoreAdj", kLimits},
      Unsupported{"CpuCount", kLimits},          Unsupported{"CpuPercent", kLimits},
      Unsupported{"IOMaximumIOps", kLimits},     Unsupported{"IOMaximumBandwidth", kLimits},
      Unsupported{"StorageOpt", "miniboxd has no storage options"},
      Unsupported{"DnsOptions", "miniboxd manages resolv.conf itself"},
      Unsupported{"DnsSearch", "miniboxd manages resolv.conf itself"},
      Unsupported{"Annotations", "miniboxd takes no OCI annotations"},
      Unsupported{"Cgroup", "miniboxd places containers in its own cgroups"},
  };
  for (const auto& [field, why] : kFields) {
    const json::value* v = host.find(field);
    bool isDefault = v == nullptr || (v->is_bool() && !v->get_bool()) ||
                     (v->is_int64() && v->get_int64() == 0) || (v->is_uint64() && v->get_uint64() == 0) ||
                     (v->is_string() && v->get_string().empty()) ||
                     (v->is_array() && v->get_array().empty()) ||
                     (v->is_object() && v->get_object().empty());
    if (!isDefault) return notSupported("HostConfig." + std::string(field), why);
  }
  // MemorySwappiness: -1 (the CLI's default) or absent. Isolation: "" or "default".
  if (const json::value* v = host.find("MemorySwappiness"); v && !(v->is_int64() && v->get_int64() == -1)) {
    return notSupported("HostConfig.MemorySwappiness", kLimits);
  }
  if (const json::value* v = host.find("Isolation");
      v && !(v->is_string() && (v->get_string().empty() || v->get_string() == "default"))) {
    return notSupported("HostConfig.Isolation", "Linux containers have no isolation modes");
  }
  // An explicit list, even an empty one, changes what dockerd masks; miniboxd masks its own.
  for (std::string_view field : {"MaskedPaths", "ReadonlyPaths"}) {
    if (host.find(field) != nullptr) return notSupported("HostConfig." + std::string(field), "miniboxd decides which paths are masked");
  }
  return {};
}

}  // namespace

Result<std::string> normalizePort(std::string_view port) {
  std::string_view number = port.substr(0, port.find('/'));
  std::string_view proto = port.find('/') == std::string_view::npos ? std::string_view("tcp")
                                                                     : port.substr(port.find('/') + 1);
  auto digitsOrRange = [](std::string_view s) {
    auto dash = s.find('-');
    auto digits = [](std::string_view d) {
      return !d.empty() && d.size() <= 5 &&
             std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    return dash == std::string_view::npos ? digits(s) : digits(s.substr(0, dash)) && digits(s.substr(dash + 1));
  };
  if (!digitsOrRange(number) || (proto != "tcp" && proto != "udp" && proto != "sctp")) {
    return fail(ErrorKind::BadRequest, "invalid port specification: \"" + std::string(port) + "\"");
  }
  return std::string(number) + "/" + std::string(proto);
}

Result<void> parseCreateBody(std::string_view body, wire::ContainerConfig::Builder out) {
  auto root = parseStrictJson(body);
  if (!root) return root.error();
  // container.CreateRequest embeds Config, so its fields sit at the top level next to
  // HostConfig and NetworkingConfig (ignored: the network comes from HostConfig.NetworkMode).
  auto config = JsonFields::of(*root, "CreateRequest");
  if (!config) return config.error();
  if (root->is_null()) {
    return fail(ErrorKind::BadRequest, "config cannot be empty in order to create a container");
  }
  if (auto ok = refuseUnsupportedConfig(*config); !ok) return ok.error();

  std::string image;
  DOCKERBOX_TRY_ASSIGN(image, config->getString("Image"));
  out.setImage(image);
  std::optional<std::vector<std::string>> cmd;
  DOCKERBOX_TRY_ASSIGN(cmd, config->getStrSlice("Cmd"));
  out.setHasCmd(cmd.has_value());
  if (cmd) setTextList(out.initCmd(static_cast<unsigned>(cmd->size())), *cmd);
  std::optional<std::vector<std::string>> entrypoint;
  DOCKERBOX_TRY_ASSIGN(entrypoint, config->getStrSlice("Entrypoint"));
  out.setHasEntrypoint(entrypoint.has_value());
  if (entrypoint) setTextList(out.initEntrypoint(static_cast<unsigned>(entrypoint->size())), *entrypoint);
  std::optional<std::vector<std::string>> env;
  DOCKERBOX_TRY_ASSIGN(env, config->getStringList("Env"));
  if (env) setTextList(out.initEnv(static_cast<unsigned>(env->size())), *env);

  std::vector<std::pair<std::string, std::string>> labels;
  DOCKERBOX_TRY_ASSIGN(labels, config->getStringMap("Labels"));
  auto labelList = out.initLabels(static_cast<unsigned>(labels.size()));
  for (unsigned i = 0; i < labels.size(); ++i) {
    labelList[i].setKey(labels[i].first);
    labelList[i].setValue(labels[i].second);
  }

  std::string text;
  DOCKERBOX_TRY_ASSIGN(text, config->getString("WorkingDir"));
  out.setWorkingDir(text);
  DOCKERBOX_TRY_ASSIGN(text, config->getString("User"));
  out.setUser(text);
  DOCKERBOX_TRY_ASSIGN(text, config->getString("Hostname"));
  out.setHostname(text);
  DOCKERBOX_TRY_ASSIGN(text, config->getString("Domainname"));
  out.setDomainname(text);
  DOCKERBOX_TRY_ASSIGN(text, config->getString("StopSignal"));
  out.setStopSignal(text);
  bool flag = false;
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("Tty"));
  out.setTty(flag);
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("OpenStdin"));
  out.setOpenStdin(flag);
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("StdinOnce"));
  out.setStdinOnce(flag);
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("AttachStdin"));
  out.setAttachStdin(flag);
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("AttachStdout"));
  out.setAttachStdout(flag);
  DOCKERBOX_TRY_ASSIGN(flag, config->getBool("AttachStderr"));
  out.setAttachStderr(flag);
  bool networkDisabled = false;
  DOCKERBOX_TRY_ASSIGN(networkDisabled, config->getBool("NetworkDisabled"));

  // StopTimeout is *int: absent or null is "unset" (-1 on the wire).
  std::int64_t stopTimeout = -1;
  DOCKERBOX_TRY_ASSIGN(stopTimeout, config->getInt("StopTimeout", -1));
  if (stopTimeout < -1 || stopTimeout > 86400) {
    return fail(ErrorKind::BadRequest, "invalid StopTimeout: " + std::to_string(stopTimeout));
  }
  out.setStopTimeout(static_cast<std::int32_t>(stopTimeout));

  // Healthcheck is *HealthConfig: null or absent, the image's.
  if (const json::value* health = config->find("Healthcheck"); health != nullptr && !health->is_null()) {
    auto fields = config->getStruct("Healthcheck");
    if (!fields) return fields.error();
    auto h = out.initHealthcheck();
    out.setHasHealthcheck(true);
    std::optional<std::vector<std::string>> test;
    DOCKERBOX_TRY_ASSIGN(test, fields->getStringList("Test"));
    if (test) setTextList(h.initTest(static_cast<unsigned>(test->size())), *test);
    std::int64_t value = 0;
    DOCKERBOX_TRY_ASSIGN(value, fields->getInt("Interval"));
    h.setInterval(value);
    DOCKERBOX_TRY_ASSIGN(value, fields->getInt("Timeout"));
    h.setTimeout(value);
    DOCKERBOX_TRY_ASSIGN(value, fields->getInt("StartPeriod"));
    h.setStartPeriod(value);
    DOCKERBOX_TRY_ASSIGN(value, fields->getInt("StartInterval"));
    h.setStartInterval(value);
    DOCKERBOX_TRY_ASSIGN(value, fields->getInt("Retries"));
    if (value < std::numeric_limits<std::int32_t>::min() || value > std::numeric_limits<std::int32_t>::max()) {
      return fail(ErrorKind::BadRequest, "invalid Healthcheck.Retries: " + std::to_string(value));
    }
    h.setRetries(static_cast<std::int32_t>(value));
  }

  std::vector<std::string> exposed;
  DOCKERBOX_TRY_ASSIGN(exposed, config->getKeySet("ExposedPorts"));
  auto exposedList = out.initExposedPorts(static_cast<unsigned>(exposed.size()));
  for (unsigned i = 0; i < exposed.size(); ++i) {
    std::string port;
    DOCKERBOX_TRY_ASSIGN(port, normalizePort(exposed[i]));
    exposedList.set(i, port);
  }

  std::vector<std::string> volumes;
  DOCKERBOX_TRY_ASSIGN(volumes, config->getKeySet("Volumes"));
  auto host = config->getStruct("HostConfig");
  if (!host) return host.error();
  if (auto ok = refuseUnsupportedHost(*host); !ok) return ok.error();
  auto hostOut = out.initHost();
  if (auto ok = parseHostConfig(*host, volumes, hostOut); !ok) return ok.error();
  // NetworkDisabled asks for no network at all: the same as NetworkMode "none".
  if (networkDisabled) {
    std::string_view mode(hostOut.getNetworkMode().cStr(), hostOut.getNetworkMode().size());
    if (!mode.empty() && mode != "default" && mode != "none") {
      return fail(ErrorKind::BadRequest, "conflicting options: NetworkDisabled and NetworkMode " + std::string(mode));
    }
    hostOut.setNetworkMode("none");
  }
  return {};
}

}  // namespace dockerbox::frontend
