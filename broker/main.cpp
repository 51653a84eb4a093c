// dockerboxd: the broker. Runs as root. Thin: read settings, print them, build the
// components, wire them together, run.
#include "broker/config.hpp"
#include "common/task.hpp"
#include "broker/audit/audit_log.hpp"
#include "broker/authz.hpp"
#include "broker/bind_pin.hpp"
#include "broker/frontend_launcher.hpp"
#include "broker/gate.hpp"
#include "broker/handlers.hpp"
#include "broker/listener.hpp"
#include "broker/monitor/run_io.hpp"
#include "broker/server.hpp"
#include "broker/engine_launcher.hpp"
#include "broker/proxy_launcher.hpp"
#include "broker/engine_state.hpp"
#include "broker/status_file.hpp"
#include "common/log_format.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <cstdio>
#include <functional>
#include <string_view>

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::broker;

namespace {

/// How long SIGTERM waits for requests in flight (a stop with Docker's 10 s grace period fits;
/// systemd's TimeoutStopSec is longer).
constexpr std::chrono::seconds kDrainLimit{15};

/// The administrators' commands that moved to dockerboxctl: a clear answer instead of an
/// unknown flag for scripts that still call dockerboxd.
bool isMovedAdminCommand(std::string_view name) {
  return name == "check-policy" || name == "explain" || name == "audit-verify";
}

void reapChildren(asio::signal_set& signals, FrontendLauncher& launcher, EngineLauncher& engine,
                  ProxyLauncher& proxy) {
  signals.async_wait([&signals, &launcher, &engine, &proxy](const boost::system::error_code& ec, int) {
    if (ec) return;
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      launcher.childExited(pid, status);
      engine.childExited(pid, status);
      proxy.childExited(pid, status);
    }
    reapChildren(signals, launcher, engine, proxy);
  });
}

/// Whether dockerboxd shares the network namespace of pid 1 (the host's, as far as it can
/// tell): published ports are bound where dockerboxd is. Where pid 1's cannot be read (a
/// sandbox that hides it), dockerboxd's own is taken to be the host's.
bool inHostNetwork() {
  struct stat mine {};
  struct stat host {};
  if (::stat("/proc/self/ns/net", &mine) != 0) return false;
  if (::stat("/proc/1/ns/net", &host) != 0) return true;
  return mine.st_dev == host.st_dev && mine.st_ino == host.st_ino;
}

/// dockerbox-init runs as host root inside every container before anything is confined: only
/// root may be able to change it or the directory holding it. Otherwise confinement is off
/// (and runs are refused to everyone whose rule is not privileged), never half on.
bool initBinaryTrusted(const std::string& path) {
  struct stat file {};
  struct stat dir {};
  const std::string parent = std::filesystem::path(path).parent_path().string();
  if (::lstat(path.c_str(), &file) != 0 || ::stat(parent.c_str(), &dir) != 0) return false;
  auto rootOnly = [](const struct stat& st) { return st.st_uid == 0 && (st.st_mode & 022) == 0; };
  return S_ISREG(file.st_mode) && rootOnly(file) && (file.st_mode & 0111) != 0 && S_ISDIR(dir.st_mode) &&
         rootOnly(dir);
}

/// Writes <run dir>/status for `dockerboxctl status` (status_file.hpp); a failure is logged,
/// never fatal: the status is a report, not a part of serving.
void publishStatus(const Config& config, const PolicyHolder& policy, std::int64_t startedAt) {
  DaemonStatus status;
  status.pid = ::getpid();
  status.version = DOCKERBOX_VERSION;
  status.startedAt = startedAt;
  status.socketPath = config.socketPath;
  status.socketActivated = config.socketActivated;
  status.miniboxSocket = config.miniboxSocket;
  status.initPath = config.initPath;
  status.policyPath = policy.path();
  status.policyValid = policy.hasValidPolicy();
  if (status.policyValid) {
    for (const auto& rule : policy.current()->rules()) status.policyRules.push_back(rule.name);
  }
  auto record = policy.loadRecord();
  status.policyLoadedAt = record.loadedAt;
  status.policySha256 = record.sha256;
  status.lastReloadError = record.lastError;
  status.auditLogPath = config.auditLogPath;
  if (auto r = writeStatusFile(statusFilePath(config.runDir), status); !r) {
    spdlog::warn("event=status_file_failed error=\"{}: {}\"", r.error().message, r.error().context);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && isMovedAdminCommand(argv[1])) {
    std::fprintf(stderr, "dockerboxd: %s is a command of dockerboxctl now (the daemon does not carry the "
                         "administrators' tools): dockerboxctl %s ...\n", argv[1], argv[1]);
    return 2;
  }
  if (argc == 2 && (std::string_view(argv[1]) == "--version" || std::string_view(argv[1]) == "-V")) {
    std::printf("dockerboxd %s\n", DOCKERBOX_VERSION);
    return 0;
  }
  const bool help = argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h");
  auto config = loadConfig(argc, argv);
  if (!config && help) {
    std::fputs(config.error().message.c_str(), stdout);  // the options, as CLI11 prints them
    return 0;
  }
  if (!config) {
    std::fprintf(stderr, "dockerboxd: %s\n", config.error().message.c_str());
    return 2;
  }
  const bool journal = stderrIsJournal();
  config->journal = journal;
  if (journal) useJournalFormat("");
  spdlog::set_level(spdlog::level::from_str(config->logLevel));
  if (::geteuid() != 0) {
    spdlog::critical("dockerboxd must run as root (it reads peer credentials, sandboxes the frontend and is "
                     "miniboxd's only client)");
    return 2;
  }
  // Workers are children of the zygote; if it dies they are re-parented to us, so we reap them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::signal(SIGPIPE, SIG_IGN);

  auto listener = openListener(*config);
  if (!listener) {
    spdlog::critical("event=startup_failed error=\"{}: {}\"", listener.error().message, listener.error().context);
    return 1;
  }
  for (const auto& line : describe(*config)) spdlog::info("setting {}", line);

  // dockerbox's own durable state (P9) is the engine's, in <state dir>/engine, owned by its
  // user; root keeps only the directory above it and the seal key.
  if (auto prepared = prepareEngineState(config->stateDir, config->engineUid, config->engineGid); !prepared) {
    spdlog::critical("event=startup_failed error=\"state {}: {} {}\"", config->stateDir, prepared.error().message,
                     prepared.error().context);
    return 1;
  }

  // Runtime directory for pinned bind mounts (bind_pin.hpp); leftovers of a broker that died
  // mid-start are detached.
  std::error_code dirError;
  std::filesystem::create_directories(config->runDir, dirError);
  if (dirError) {
    spdlog::critical("event=startup_failed error=\"run dir {}: {}\"", config->runDir, dirError.message());
    return 1;
  }
  clearPinned(config->runDir, config->miniboxSocket);
  monitor::clearRunIo(config->runDir + "/io");
  if (!initBinaryTrusted(config->initPath)) {
    spdlog::error("event=init_untrusted path={} detail=\"missing, not a root-owned executable, or writable by "
                  "others (or its directory is): containers cannot be confined, only privileged rules may run them\"",
                  config->initPath);
    config->initPath.clear();
  }

  const auto startedAt = static_cast<std::int64_t>(std::time(nullptr));
  ConnectionCounter counter(config->maxConnectionsPerUid);  // outlives io: see Server
  asio::io_context io;
  asio::signal_set children(io, SIGCHLD);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  asio::signal_set hangup(io, SIGHUP);
  FrontendLauncher launcher(io, FrontendSpec{config->frontendPath, config->frontendUid, config->frontendGid,
                                             config->logLevel, journal});
  audit::AuditLogOptions auditOptions;
  auditOptions.path = config->auditLogPath;
  auto auditLog = audit::AuditLog::open(std::move(auditOptions));
  if (!auditLog) {
    // Fail closed: without an audit log no request may be served (P6).
    spdlog::critical("event=startup_failed error=\"audit log {}: {} {}\"", config->auditLogPath,
                     auditLog.error().message, auditLog.error().context);
    return 1;
  }
  const auto& opened = (*auditLog)->openStatus();
  spdlog::info("event=audit_opened path={} start={} head_seq={} head_hash={} detail=\"{}\"", config->auditLogPath,
               static_cast<int>(opened.start), opened.head.seq, opened.head.hash, opened.detail);
  // The policy (P2): a missing or invalid file leaves the empty policy, which denies every
  // request; the broker still serves so that clients get clear denials. Both outcomes are
  // audited, as is every SIGHUP reload.
  PolicyHolder policy(config->policyPath);
  if (auto r = (*auditLog)->writeEvent(reloadEvent(policy, policy.startupResult())); !r) {
    spdlog::critical("event=startup_failed error=\"audit log {}: {} {}\"", config->auditLogPath, r.error().message,
                     r.error().context);
    return 1;
  }
  Gate gate(std::move(*auditLog), policy);
  // The key of the monitor's seals (monitor/seal.hpp): one per state directory, root-only.
  auto sealer = monitor::Sealer::open(config->stateDir + "/seal.key");
  if (!sealer) {
    spdlog::critical("event=startup_failed error=\"seal key: {} {}\"", sealer.error().message, sealer.error().context);
    return 1;
  }
  // The port proxy (dockerbox-proxy, its own user and sandbox) carries published ports,
  // which dockerboxd binds in its own network namespace: only the host's is of any use.
  if (config->proxyPath != "none" && !inHostNetwork()) {
    spdlog::warn("event=ports_disabled reason=\"dockerboxd does not run in the host's network namespace "
                 "(PrivateNetwork=yes?): published ports would be unreachable\"");
    config->proxyPath = "none";
  }
  auto proxy = std::make_shared<ProxyLauncher>(
      io, ProxySpec{config->proxyPath, config->proxyUid, config->proxyGid, config->logLevel, journal});
  if (auto started = proxy->start(); !started) {
    spdlog::critical("event=startup_failed error=\"proxy: {} {}\"", started.error().message, started.error().context);
    return 1;
  }
  const bool publishes = config->proxyPath != "none";
  Handlers handlers(io.get_executor(), *config, &policy, *sealer, &gate,
                    publishes ? std::shared_ptr<monitor::PortPublisher>(proxy) : nullptr);
  // The engine (dockerbox-engine, its own user and sandbox) serves every judged request;
  // it is restarted when it dies. Its reconciliation with miniboxd and its event
  // subscription run in the background (retried while miniboxd is away).
  EngineLauncher engine(io,
                        EngineSpec{config->enginePath, config->engineUid, config->engineGid, config->stateDir,
                                   config->miniboxSocket, config->logLevel, journal},
                        [&handlers](EngineLauncher::Socket acts, EngineLauncher::Socket channel) {
                          handlers.attachEngine(std::move(acts), std::move(channel));
                        });
  reapChildren(children, launcher, engine, *proxy);
  if (auto started = engine.start(); !started) {
    spdlog::critical("event=startup_failed error=\"engine: {} {}\"", started.error().message,
                     started.error().context);
    return 1;
  }
  Server server(io, *config, handlers, gate, launcher, counter);

  if (auto started = launcher.start(); !started) {
    spdlog::critical("event=startup_failed error=\"{}\"", started.error().context);
    return 1;
  }
  std::function<void()> onHangup = [&] {
    hangup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      // SIGHUP reloads the policy (an invalid file keeps the previous one) and rotates the
      // audit log (the chain continues into the new file). The reload is recorded first, in
      // the file that was current while the old policy decided.
      sd_notify(0, "RELOADING=1");
      auto reloaded = policy.reload();
      if (auto r = gate.log().writeEvent(reloadEvent(policy, reloaded)); !r) {
        spdlog::error("event=audit_write_failed what=policy_reload error=\"{}\"", r.error().context);
      }
      if (auto r = gate.log().rotate(); !r) {
        spdlog::error("event=audit_rotate_failed error=\"{}\"", r.error().context);
      }
      spdlog::info("event=audit_rotated head_seq={} head_hash={}", gate.log().head().seq, gate.log().head().hash);
      publishStatus(*config, policy, startedAt);
      sd_notify(0, "READY=1");  // the reload is over (systemd and the tests wait for this)
      onHangup();
    });
  };
  onHangup();
  // SIGTERM/SIGINT drain: streams end cleanly, other requests finish (bounded), then exit 0.
  // A second signal or the limit ends it at once.
  asio::steady_timer drainLimit(io);
  stop.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("event=shutdown signal={} detail=\"draining requests in flight\"", sig);
    sd_notify(0, "STOPPING=1");
    server.drain([&] {
      spdlog::info("event=drained");
      io.stop();
    });
    drainLimit.expires_after(kDrainLimit);
    drainLimit.async_wait([&](const boost::system::error_code& e) {
      if (e) return;
      spdlog::warn("event=drain_timeout limit_s={}", std::chrono::seconds(kDrainLimit).count());
      io.stop();
    });
    stop.async_wait([&](const boost::system::error_code& e, int again) {
      if (e) return;
      spdlog::warn("event=shutdown signal={} detail=\"second signal: not waiting for requests in flight\"", again);
      io.stop();
    });
  });
  asio::co_spawn(io, server.acceptLoop(std::move(*listener)), logFailure("accept loop"));
  publishStatus(*config, policy, startedAt);
  spdlog::info("event=ready socket={}", config->socketPath);
  sd_notify(0, "READY=1");  // Type=notify units and the tests wait for this, not for time
  io.run();
  spdlog::info("event=audit_closed head_seq={} head_hash={}", gate.log().head().seq, gate.log().head().hash);
  ::unlink(statusFilePath(config->runDir).c_str());
  if (!config->socketActivated) ::unlink(config->socketPath.c_str());
  return 0;
}
