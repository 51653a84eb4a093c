// minibox-sim: a miniboxd test double (test infrastructure only). Runs as root so that it can
// start container processes under an unprivileged uid, or, with --process-model miniboxd, as
// namespaced root exactly as upstream does. Reads flags and environment, prints the resolved
// settings on stderr, then serves until SIGTERM/SIGINT.
#include "tests/minibox_sim/container_process.hpp"
#include "tests/minibox_sim/daemon.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using dockerbox::sim::Adapter;
using dockerbox::sim::Config;
using dockerbox::sim::Mode;
using dockerbox::sim::ProcessModel;

constexpr const char* kUsage =
    "usage: minibox-sim [--socket PATH] [--mode v0.19|head] [--adapter native|smolvm]\n"
    "                   [--peer-gate] [--allow-bind-mounts] [--allow-privileged]\n"
    "                   [--run-as USER] [--ready-fd N] [--registry LIST] [--preload LIST]\n"
    "                   [--exec-started early|late] [--network-isolation on|off]\n"
    "                   [--process-model host|miniboxd] [--rootfs-dir DIR] [--verbose]\n";

const char* envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

bool envFlag(const char* name) {
  std::string v = envOr(name, "");
  return v == "1" || v == "true" || v == "yes";
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

[[noreturn]] void usageError(const std::string& what) {
  std::fprintf(stderr, "minibox-sim: %s\n%s", what.c_str(), kUsage);
  std::exit(2);
}

/// Socket path order of upstream's daemon: MINIBOX_SOCKET_PATH (even if empty), then
/// $MINIBOX_RUN_DIR/miniboxd.sock, then /run/minibox/miniboxd.sock (§1.1).
std::string defaultSocketPath() {
  if (const char* p = std::getenv("MINIBOX_SOCKET_PATH")) return p;
  return std::string(envOr("MINIBOX_RUN_DIR", "/run/minibox")) + "/miniboxd.sock";
}

mode_t socketMode() {
  std::string text = envOr("MINIBOX_SOCKET_MODE", "");
  if (text.empty()) return 0600;
  if (text.rfind("0o", 0) == 0) text = text.substr(2);
  if (text.empty() || text.find_first_not_of("01234567") != std::string::npos || text.size() > 4) {
    spdlog::warn("event=bad_socket_mode value={} using=0600", text);
    return 0600;
  }
  return static_cast<mode_t>(std::stoul(text, nullptr, 8));
}

Config parseArgs(int argc, char** argv) {
  Config c;
  c.socketPath = defaultSocketPath();
  c.socketMode = socketMode();
  if (const char* g = std::getenv("MINIBOX_SOCKET_GROUP")) c.socketGroup = g;
  c.allowBindMounts = envFlag("MINIBOX_ALLOW_BIND_MOUNTS");
  c.allowPrivileged = envFlag("MINIBOX_ALLOW_PRIVILEGED");
  std::string adapter = envOr("MINIBOX_ADAPTER", "native");
  std::string runAs = "nobody";
  std::string registry =
      "library/alpine:latest,library/busybox:latest,library/nginx:latest,"
      "library/debian:latest,library/ubuntu:latest,library/hello-world:latest,"
      "library/noshell:latest";
  std::string preload = "library/alpine:latest,library/busybox:latest";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--socket") c.socketPath = value();
    else if (arg == "--mode") {
      std::string m = value();
      if (m == "v0.19") c.mode = Mode::V019;
      else if (m == "head") c.mode = Mode::Head;
      else usageError("unknown mode " + m);
    } else if (arg == "--adapter") adapter = value();
    else if (arg == "--peer-gate") c.peerGate = true;
    else if (arg == "--allow-bind-mounts") c.allowBindMounts = true;
    else if (arg == "--allow-privileged") c.allowPrivileged = true;
    else if (arg == "--run-as") runAs = value();
    else if (arg == "--ready-fd") c.readyFd = std::atoi(value().c_str());
    else if (arg == "--registry") registry = value();
    else if (arg == "--preload") preload = value();
    else if (arg == "--exec-started") c.execStartedLate = value() == "late";
    else if (arg == "--network-isolation") c.isolateNetwork = value() != "off";
    else if (arg == "--process-model") {
      std::string m = value();
      if (m == "host") c.processModel = ProcessModel::Host;
      else if (m == "miniboxd") c.processModel = ProcessModel::Miniboxd;
      else usageError("unknown process model " + m);
    } else if (arg == "--rootfs-dir") c.rootfsDir = value();
    else if (arg == "--verbose") spdlog::set_level(spdlog::level::debug);
    else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else usageError("unknown argument " + arg);
  }
  if (adapter == "native") c.adapter = Adapter::Native;
  else if (adapter == "smolvm") c.adapter = Adapter::Smolvm;
  else usageError("unknown adapter " + adapter);
  if (c.processModel == ProcessModel::Miniboxd && c.rootfsDir.empty())
    usageError("--process-model miniboxd needs --rootfs-dir");
  auto who = dockerbox::sim::lookupRunAs(runAs);
  if (!who) usageError(who.error().message);
  c.runAs = *who;
  c.registry = splitList(registry);
  c.preload = splitList(preload);
  return c;
}

std::string joinList(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

void printSettings(const Config& c) {
  bool head = c.mode == Mode::Head;
  std::fprintf(stderr,
               "minibox-sim: socket=%s socket_mode=%04o socket_group=%s mode=%s adapter=%s "
               "peer_gate=%s allow_bind_mounts=%s allow_privileged=%s run_as=%s(%u:%u) "
               "exec_started=%s network_isolation=%s ready_fd=%d process_model=%s rootfs_dir=%s\n"
               "minibox-sim: registry=%s\nminibox-sim: preload=%s\n",
               c.socketPath.c_str(), static_cast<unsigned>(c.socketMode),
               c.socketGroup.value_or("(none)").c_str(), head ? "head" : "v0.19",
               c.adapter == Adapter::Native ? "native" : "smolvm", c.peerGate ? "on" : "off",
               head && c.allowBindMounts ? "yes" : "no", head && c.allowPrivileged ? "yes" : "no",
               c.runAs.user.c_str(), c.runAs.uid, c.runAs.gid,
               c.execStartedLate ? "late" : "early", c.isolateNetwork ? "on" : "off", c.readyFd,
               c.processModel == ProcessModel::Miniboxd ? "miniboxd" : "host",
               c.rootfsDir.empty() ? "(none)" : c.rootfsDir.c_str(),
               joinList(c.registry).c_str(), joinList(c.preload).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_st("minibox-sim"));
  dockerbox::sim::ensureStdFds();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client is a write error, not a crash
  Config config = parseArgs(argc, argv);
  printSettings(config);
  if (::geteuid() != 0) spdlog::warn("event=not_root detail=container uid drop will fail");
  std::unique_ptr<dockerbox::sim::RootfsArea> rootfsArea;
  if (config.processModel == ProcessModel::Miniboxd) {
    // Fail at start, with the reason, rather than on the first Run.
    if (::geteuid() != 0) {
      std::fprintf(stderr, "minibox-sim: --process-model miniboxd must run as root\n");
      return 1;
    }
    if (auto probed = dockerbox::sim::probeNamespaces(); !probed) {
      std::fprintf(stderr, "minibox-sim: %s\n", probed.error().message.c_str());
      return 1;
    }
    auto area = dockerbox::sim::RootfsArea::create(config.rootfsDir);
    if (!area) {
      std::fprintf(stderr, "minibox-sim: %s\n", area.error().message.c_str());
      return 1;
    }
    rootfsArea = std::move(*area);
    std::fprintf(stderr, "minibox-sim: overlays in %s\n",
                 rootfsArea->dir().c_str());
  }
  try {
    boost::asio::io_context io(1);
    dockerbox::sim::Daemon daemon(io, config, std::move(rootfsArea));
    if (auto listening = daemon.listen(); !listening) {
      std::fprintf(stderr, "minibox-sim: %s %s\n", listening.error().message.c_str(),
                   listening.error().context.c_str());
      return 1;
    }
    daemon.start();
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minibox-sim: fatal: %s\n", e.what());
    return 1;
  }
  return 0;
}
