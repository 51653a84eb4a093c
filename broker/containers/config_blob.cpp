// Runs as root, in the broker. Input: the broker's own stored configs (see the header).
#include "broker/containers/config_blob.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>

namespace dockerbox::broker::containers {

namespace wire = ipc::wire;

namespace {

// A stored config is at most a few hundred KiB (the decoder's own limits bound it); the
// traversal limit is a multiple of its size so that nothing inside can amplify.
constexpr std::uint64_t kTraversalFactor = 8;
constexpr int kNestingLimit = 16;
/// An image's Volumes that become anonymous volumes of one container, at most.
constexpr std::size_t kMaxImageVolumes = 64;

/// A mount target as a path to compare: "/data/" and "/data/." are "/data".
std::string normalTarget(const std::string& path) {
  std::string normal = std::filesystem::path(path).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

/// Opens `blob` as a message and runs `use(root)`, turning any failure into an Error.
template <class Root, class F>
auto withRoot(const state::Blob& blob, F&& use) -> decltype(use(std::declval<typename Root::Reader>())) {
  try {
    if (blob.empty() || blob.size() % sizeof(capnp::word) != 0) {
      return fail(ErrorKind::Internal, "internal error", "stored config has a bad size");
    }
    auto words = kj::heapArray<capnp::word>(blob.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), blob.data(), blob.size());
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words.size() * kTraversalFactor + 64;
    options.nestingLimit = kNestingLimit;
    capnp::FlatArrayMessageReader reader(words, options);
    return use(reader.getRoot<Root>());
  } catch (const kj::Exception& e) {
    return fail(ErrorKind::Internal, "internal error", std::string("stored config: ") + e.getDescription().cStr());
  } catch (const std::exception& e) {
    return fail(ErrorKind::Internal, "internal error", std::string("stored config: ") + e.what());
  }
}

std::vector<std::string> strings(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto item : list) out.emplace_back(item.cStr(), item.size());
  return out;
}

std::string str(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

state::Blob toBlob(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return state::Blob(bytes.begin(), bytes.end());
}

}  // namespace

Result<CreateContainerOp> readStoredCreate(
    const state::Blob& blob, const std::function<Result<CreateContainerOp>(wire::ContainerConfig::Reader)>& decode) {
  return withRoot<wire::ContainerConfig>(blob, [&](wire::ContainerConfig::Reader root) { return decode(root); });
}

state::Blob blobFromWords(const std::vector<std::uint64_t>& words) {
  state::Blob blob(words.size() * sizeof(std::uint64_t));
  if (!words.empty()) std::memcpy(blob.data(), words.data(), blob.size());
  return blob;
}

Result<RunConfig> readRunConfig(const state::Blob& blob) {
  return withRoot<wire::ContainerConfig>(blob, [](wire::ContainerConfig::Reader in) -> Result<RunConfig> {
    RunConfig c;
    c.image = str(in.getImage());
    if (in.getHasCmd()) c.cmd = strings(in.getCmd());
    if (in.getHasEntrypoint()) c.entrypoint = strings(in.getEntrypoint());
    c.env = strings(in.getEnv());
    c.workingDir = str(in.getWorkingDir());
    c.tty = in.getTty();
    c.openStdin = in.getOpenStdin();
    c.stdinOnce = in.getStdinOnce();
    auto host = in.getHost();
    c.networkMode = str(host.getNetworkMode());
    c.memory = host.getMemory();
    c.consoleRows = host.getConsoleHeight();
    c.consoleCols = host.getConsoleWidth();
    c.nanoCpus = host.getNanoCpus();
    c.cpuShares = host.getCpuShares();
    c.autoRemove = host.getAutoRemove();
    c.restartPolicy = str(host.getRestartPolicy());
    if (c.restartPolicy == "no") c.restartPolicy.clear();
    c.restartMaxRetries = host.getRestartMaxRetries();
    c.privileged = host.getPrivileged();
    for (auto m : host.getMounts()) {
      const auto type = m.getType();
      std::string source = str(m.getSource());
      if (isVolumeMount(type == wire::MountType::VOLUME ? MountType::Volume : MountType::Bind, m.getFromBinds(), source)) {
        if (type == wire::MountType::VOLUME || type == wire::MountType::BIND) {
          c.volumes.push_back({std::move(source), str(m.getTarget()), m.getReadOnly()});
        }
      } else if (type == wire::MountType::BIND) {
        c.binds.push_back({std::move(source), str(m.getTarget()), m.getReadOnly()});
      } else if (type == wire::MountType::TMPFS) {
        KeyValues options;
        for (auto kv : m.getVolumeOptions()) options.emplace_back(str(kv.getKey()), str(kv.getValue()));
        c.tmpfs.emplace_back(str(m.getTarget()), tmpfsMountOptions(options, m.getReadOnly()));
      }
    }
    for (auto kv : host.getTmpfs()) c.tmpfs.emplace_back(str(kv.getKey()), str(kv.getValue()));
    // What dockerbox-init applies. The blob holds what the decoder accepted (ulimit names
    // and bounds were checked there); a config stored before Ulimits existed has none.
    c.user = str(in.getUser());
    c.hostname = str(in.getHostname());
    c.capAdd = strings(host.getCapAdd());
    c.capDrop = strings(host.getCapDrop());
    c.securityOpt = strings(host.getSecurityOpt());
    c.readonlyRootfs = host.getReadonlyRootfs();
    for (auto u : host.getUlimits()) c.ulimits.push_back({str(u.getName()), u.getSoft(), u.getHard()});
    c.stopSignal = str(in.getStopSignal());
    c.stopTimeout = in.getStopTimeout();
    if (in.getHasHealthcheck()) c.healthcheck = readHealthcheck(in.getHealthcheck());
    std::vector<PortSpec> bindings;
    for (auto p : host.getPortBindings()) {
      bindings.push_back({str(p.getContainerPort()), str(p.getHostIp()), str(p.getHostPort())});
    }
    DOCKERBOX_TRY_ASSIGN(c.ports, publishSpecsOf(bindings, host.getPublishAllPorts(), strings(in.getExposedPorts())));
    return c;
  });
}

Result<void> fillInspectConfig(const state::Blob& blob, wire::ContainerInspectReply::Builder out) {
  return withRoot<wire::ContainerConfig>(blob, [&](wire::ContainerConfig::Reader in) -> Result<void> {
    out.setConfig(in);
    return {};
  });
}

namespace {

std::string_view envName(std::string_view entry) { return entry.substr(0, entry.find('=')); }

template <class Init>
void fillTexts(Init init, const std::vector<std::string>& values) {
  auto list = init(static_cast<unsigned>(values.size()));
  for (unsigned i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

}  // namespace

HealthcheckSpec readHealthcheck(wire::Healthcheck::Reader in) {
  HealthcheckSpec h;
  h.test = strings(in.getTest());
  h.interval = in.getInterval();
  h.timeout = in.getTimeout();
  h.startPeriod = in.getStartPeriod();
  h.startInterval = in.getStartInterval();
  h.retries = in.getRetries();
  return h;
}

void writeHealthcheck(const HealthcheckSpec& h, wire::Healthcheck::Builder out) {
  fillTexts([&](unsigned n) { return out.initTest(n); }, h.test);
  out.setInterval(h.interval);
  out.setTimeout(h.timeout);
  out.setStartPeriod(h.startPeriod);
  out.setStartInterval(h.startInterval);
  out.setRetries(h.retries);
}

Result<state::Blob> mergeImageDefaults(const state::Blob& judged, const ImageDefaults& image) {
  return withRoot<wire::ContainerConfig>(judged, [&](wire::ContainerConfig::Reader in) -> Result<state::Blob> {
    capnp::MallocMessageBuilder message;
    message.setRoot(in);
    auto out = message.getRoot<wire::ContainerConfig>();
    const auto entrypoint = in.getHasEntrypoint() ? strings(in.getEntrypoint()) : std::vector<std::string>();
    const bool resetEntrypoint = in.getHasEntrypoint() && entrypoint.size() == 1 && entrypoint.front().empty();
    if (resetEntrypoint) {
      out.setHasEntrypoint(false);
      out.initEntrypoint(0);
    } else if (entrypoint.empty()) {
      if ((!in.getHasCmd() || in.getCmd().size() == 0) && image.cmd) {
        fillTexts([&](unsigned n) { return out.initCmd(n); }, *image.cmd);
        out.setHasCmd(true);
      }
      if (!in.getHasEntrypoint() && image.entrypoint) {
        fillTexts([&](unsigned n) { return out.initEntrypoint(n); }, *image.entrypoint);
        out.setHasEntrypoint(true);
      }
    }
    auto env = strings(in.getEnv());
    const std::size_t given = env.size();
    for (const auto& entry : image.env) {
      const bool set = std::any_of(env.begin(), env.begin() + static_cast<std::ptrdiff_t>(given),
                                   [&](const std::string& e) { return envName(e) == envName(entry); });
      if (!set) env.push_back(entry);
    }
    if (env.size() != given) fillTexts([&](unsigned n) { return out.initEnv(n); }, env);
    std::vector<std::pair<std::string, std::string>> labels;
    for (auto kv : in.getLabels()) labels.emplace_back(str(kv.getKey()), str(kv.getValue()));
    const std::size_t givenLabels = labels.size();
    for (const auto& kv : image.labels) {
      if (std::none_of(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(givenLabels),
                       [&](const auto& l) { return l.first == kv.first; })) {
        labels.push_back(kv);
      }
    }
    if (labels.size() != givenLabels) {
      auto list = out.initLabels(static_cast<unsigned>(labels.size()));
      for (unsigned i = 0; i < labels.size(); ++i) {
        list[i].setKey(labels[i].first);
        list[i].setValue(labels[i].second);
      }
    }
    auto ports = strings(in.getExposedPorts());
    const std::size_t givenPorts = ports.size();
    for (const auto& port : image.exposedPorts) {
      if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
    }
    if (ports.size() != givenPorts) fillTexts([&](unsigned n) { return out.initExposedPorts(n); }, ports);
    // The image's Volumes: an anonymous volume at each path no mount covers (absolute,
    // normalised paths only: the config is the image author's text).
    auto mounted = in.getHost().getMounts();
    std::vector<std::string> anonymous;
    for (const auto& path : image.volumes) {
      if (anonymous.size() >= kMaxImageVolumes) break;
      if (path.empty() || path.front() != '/') continue;
      const std::string target = normalTarget(path);
      bool covered = false;
      for (auto m : mounted) covered = covered || normalTarget(str(m.getTarget())) == target;
      if (!covered && std::find(anonymous.begin(), anonymous.end(), target) == anonymous.end()) {
        anonymous.push_back(target);
      }
    }
    if (!anonymous.empty()) {
      auto mounts = out.getHost().initMounts(mounted.size() + static_cast<unsigned>(anonymous.size()));
      for (unsigned i = 0; i < mounted.size(); ++i) mounts.setWithCaveats(i, mounted[i]);
      for (unsigned i = 0; i < anonymous.size(); ++i) {
        auto m = mounts[mounted.size() + i];
        m.setType(wire::MountType::VOLUME);
        m.setTarget(anonymous[i]);
      }
    }
    if (in.getWorkingDir().size() == 0 && !image.workingDir.empty()) out.setWorkingDir(image.workingDir);
    if (in.getUser().size() == 0 && !image.user.empty()) out.setUser(image.user);
    if (in.getStopSignal().size() == 0 && !image.stopSignal.empty()) out.setStopSignal(image.stopSignal);
    if (image.healthcheck) {
      HealthcheckSpec merged = *image.healthcheck;
      if (in.getHasHealthcheck()) {
        const HealthcheckSpec asked = readHealthcheck(in.getHealthcheck());
        if (!asked.test.empty()) merged.test = asked.test;
        if (asked.interval != 0) merged.interval = asked.interval;
        if (asked.timeout != 0) merged.timeout = asked.timeout;
        if (asked.startPeriod != 0) merged.startPeriod = asked.startPeriod;
        if (asked.startInterval != 0) merged.startInterval = asked.startInterval;
        if (asked.retries != 0) merged.retries = asked.retries;
      }
      writeHealthcheck(merged, out.initHealthcheck());
      out.setHasHealthcheck(true);
    }
    return toBlob(message);
  });
}

state::Blob writeExecConfig(const CreateExecOp& exec) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<wire::ExecConfig>();
  out.setContainer(exec.container.text);
  auto cmd = out.initCmd(static_cast<unsigned>(exec.cmd.size()));
  for (unsigned i = 0; i < exec.cmd.size(); ++i) cmd.set(i, exec.cmd[i]);
  auto env = out.initEnv(static_cast<unsigned>(exec.env.size()));
  for (unsigned i = 0; i < exec.env.size(); ++i) env.set(i, exec.env[i]);
  out.setWorkingDir(exec.workingDir);
  out.setUser(exec.user);
  out.setTty(exec.tty);
  out.setAttachStdin(exec.attachStdin);
  out.setAttachStdout(exec.attachStdout);
  out.setAttachStderr(exec.attachStderr);
  out.setPrivileged(exec.privileged);
  out.setDetachKeys(exec.detachKeys);
  return toBlob(message);
}

Result<CreateExecOp> readExecConfig(const state::Blob& blob) {
  return withRoot<wire::ExecConfig>(blob, [](wire::ExecConfig::Reader in) -> Result<CreateExecOp> {
    CreateExecOp exec;
    exec.container.text = str(in.getContainer());
    exec.cmd = strings(in.getCmd());
    exec.env = strings(in.getEnv());
    exec.workingDir = str(in.getWorkingDir());
    exec.user = str(in.getUser());
    exec.tty = in.getTty();
    exec.attachStdin = in.getAttachStdin();
    exec.attachStdout = in.getAttachStdout();
    exec.attachStderr = in.getAttachStderr();
    exec.privileged = in.getPrivileged();
    exec.detachKeys = str(in.getDetachKeys());
    return exec;
  });
}

Result<void> fillExecConfig(const state::Blob& blob, wire::ExecInspectReply::Builder out) {
  return withRoot<wire::ExecConfig>(blob, [&](wire::ExecConfig::Reader in) -> Result<void> {
    out.setConfig(in);
    return {};
  });
}

}  // namespace dockerbox::broker::containers
