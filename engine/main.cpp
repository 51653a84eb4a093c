// dockerbox-engine: Docker's semantics over dockerbox's state, in a process of its own
// (issue 9). Started by dockerboxd as root with its two channels; enters its sandbox, opens
// its state, serves until a channel closes. Thin by design (style.md §1): flags, logging,
// sandbox, wiring.
//
//   dockerbox-engine --uid N --gid N --state-dir DIR [--minibox-socket PATH]
//                    [--log-level LEVEL] [--log-format text|journal]
//   fd 3: the acts channel (ipc/acts.capnp), the engine's only way to miniboxd
//   fd 4: the engine channel (ipc/engine.capnp), the requests the monitor judged
//   fd 5: written once ("R") when the state is open and the engine serves, then closed
#include "common/confine.hpp"
#include "engine/containers/remote_monitor.hpp"
#include "broker/ids.hpp"
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "common/log_format.hpp"
#include "engine/engine.hpp"
#include "engine/engine_server.hpp"
#include "engine/host_facts.hpp"
#include "engine/sandbox.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
// LeakSanitizer needs /proc and ptrace, neither of which exists in the sandbox.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace {

namespace asio = boost::asio;
using namespace dockerbox;

constexpr int kActsFd = 3;
constexpr int kEngineFd = 4;
constexpr int kReadyFd = 5;

struct Flags {
  std::optional<unsigned> uid;
  std::optional<unsigned> gid;
  std::string stateDir;       // the host's path (shown by docker info); the engine's part is <dir>/engine
  std::string miniboxSocket;  // shown by docker info; never opened
  HelperLogFlags log;
};

std::optional<Flags> parseFlags(int argc, char** argv) {
  Flags flags;
  if (argc % 2 != 1) return std::nullopt;  // flags come in name/value pairs
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    std::string_view value = argv[i + 1];
    if (name == "--uid") {
      if (!(flags.uid = confine::parseId(value))) return std::nullopt;
    } else if (name == "--gid") {
      if (!(flags.gid = confine::parseId(value))) return std::nullopt;
    } else if (name == "--state-dir") {
      flags.stateDir = value;
    } else if (name == "--minibox-socket") {
      flags.miniboxSocket = value;
    } else if (auto taken = flags.log.take(name, value); !taken || !*taken) {
      return std::nullopt;
    }
  }
  if (!flags.uid || !flags.gid || flags.stateDir.empty() || flags.stateDir.front() != '/') return std::nullopt;
  return flags;
}

template <class T>
bool opened(const Result<T>& r, const char* what) {
  if (r) return true;
  spdlog::critical("event=startup_failed what={} error=\"{}\" context=\"{}\"", what, r.error().message,
                   r.error().context);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = parseFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr,
                 "usage: %s --uid UID --gid GID --state-dir DIR [--minibox-socket PATH] [--log-level LEVEL]"
                 " [--log-format text|journal]\n  (started by dockerboxd with its channels as fds 3, 4 and 5)\n",
                 argv[0]);
    return 2;
  }
  useHelperLogger("engine", flags->log);
  // A monitor that is gone must give EPIPE, not a signal; a Ctrl-C or hang-up of the
  // terminal dockerboxd runs in is dockerboxd's to handle (it drains through us).
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);

  // Host facts are read while /etc and /proc are still reachable.
  engine::EngineFacts facts{broker::readHostFacts(), flags->miniboxSocket, flags->stateDir};
  engine::SandboxConfig sandbox;
  sandbox.uid = *flags->uid;
  sandbox.gid = *flags->gid;
  sandbox.dataDir = flags->stateDir + "/engine";
  sandbox.keepFds = {kActsFd, kEngineFd, kReadyFd};
  if (!opened(engine::enterSandbox(sandbox), "sandbox")) return 1;
  // SQLite's temporary files (large sorts) go beside the database: nothing else is writable.
  ::setenv("SQLITE_TMPDIR", engine::kSandboxDataDir, 1);

  auto state = broker::state::StateStore::open(engine::kSandboxDataDir);
  if (!opened(state, "state")) return 1;
  auto logs = broker::state::LogStore::open(engine::kSandboxDataDir);
  if (!opened(logs, "logs")) return 1;

  asio::io_context io;
  auto stop = [&io](const char* which) {
    return [&io, which] {
      spdlog::info("event=channel_closed channel={} detail=\"the monitor is gone: exiting\"", which);
      io.stop();
    };
  };
  asio::local::stream_protocol::socket actsSocket(io, asio::local::stream_protocol(), kActsFd);
  asio::local::stream_protocol::socket engineSocket(io, asio::local::stream_protocol(), kEngineFd);
  broker::containers::RemoteMonitor monitor(io.get_executor(), std::move(actsSocket), stop("acts"));
  broker::containers::ServiceOptions options;
  options.imageId = [](std::string_view storeName) { return broker::imageIdFromStoreName(storeName); };
  options.volumesDir = flags->stateDir + "/volumes";
  engine::Engine engine(io.get_executor(), monitor, std::move(facts), **state, **logs, std::move(options));
  engine::EngineServer server(io.get_executor(), std::move(engineSocket), engine, stop("engine"));
  // Reconciliation with miniboxd (through the monitor) runs in the background.
  if (!opened(engine.containers()->start(), "containers")) return 1;

  // Only the first start is waited for; a restarted engine's monitor has closed its end.
  const char ready = 'R';
  (void)!::write(kReadyFd, &ready, 1);
  ::close(kReadyFd);
  spdlog::info("event=ready uid={} gid={} state={}", *flags->uid, *flags->gid, sandbox.dataDir);
  io.run();
  return 0;
}
