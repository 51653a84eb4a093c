// dockerbox-proxy: the port proxy that carries published ports' traffic (docker run -p)
// between the host sockets the root monitor bound and the container's loopback, reached
// through sockets the container's pid 1 hands out. Network bytes never touch a root
// process: this one runs as its own user, with no capability, no file and no network of
// its own, under seccomp (sandbox.hpp). Thin by design (style.md §1): flags, logging,
// sandbox, wiring.
//
//   dockerbox-proxy --uid N --gid N [--log-level LEVEL] [--log-format text|journal]
//   Started by dockerboxd as root; confines itself before it reads anything.
//   fd 3: the control channel (SOCK_SEQPACKET, ipc/proxy.capnp): publish / unpublish in,
//         unpublished out. EOF on it (the monitor is gone) ends the process with status 0.
#include "common/confine.hpp"
#include "common/log_format.hpp"
#include "proxy/control.hpp"
#include "proxy/sandbox.hpp"
#include "proxy/socket_io.hpp"

#include <boost/asio/io_context.hpp>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>

#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
// LeakSanitizer needs /proc and ptrace, neither of which exists in the sandbox.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace {

using namespace dockerbox;

constexpr int kControlFd = 3;

struct Flags {
  std::optional<unsigned> uid;
  std::optional<unsigned> gid;
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
    } else if (auto taken = flags.log.take(name, value); !taken || !*taken) {
      return std::nullopt;
    }
  }
  if (!flags.uid || !flags.gid) return std::nullopt;
  return flags;
}

/// Every connection holds two descriptors: the soft limit (often 1024) goes up to the hard
/// one, which the monitor's service sets.
void raiseDescriptorLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("event=descriptor_limit_unchanged");
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = parseFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr,
                 "usage: %s --uid UID --gid GID [--log-level LEVEL] [--log-format text|journal]\n"
                 "  (started by dockerboxd with its control channel as fd 3)\n",
                 argv[0]);
    return 2;
  }
  useHelperLogger("proxy", flags->log);
  // A peer that is gone must give EPIPE, not a signal; a Ctrl-C or hang-up of the terminal
  // dockerboxd runs in is dockerboxd's to handle.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  raiseDescriptorLimit();

  proxy::SandboxConfig sandbox;
  sandbox.uid = *flags->uid;
  sandbox.gid = *flags->gid;
  sandbox.keepFds = {kControlFd};
  if (auto ok = proxy::enterSandbox(sandbox); !ok) {
    spdlog::critical("event=startup_failed what=sandbox error=\"{}\" context=\"{}\"", ok.error().message,
                     ok.error().context);
    return 1;
  }
  auto control = proxy::socketFacts(kControlFd);
  if (!control || control->domain != AF_UNIX || control->type != SOCK_SEQPACKET) {
    spdlog::critical("event=startup_failed what=control detail=\"fd 3 is not a SOCK_SEQPACKET Unix socket\"");
    return 1;
  }

  boost::asio::io_context io;
  proxy::Control server(io.get_executor(), UniqueFd(kControlFd), proxy::Limits{}, [&io] { io.stop(); });
  server.start();
  spdlog::info("event=ready uid={} gid={}", *flags->uid, *flags->gid);
  io.run();
  return 0;
}
