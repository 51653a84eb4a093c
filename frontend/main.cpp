// dockerbox-frontend: started by the broker (as root) with a control socket; enters its
// sandbox, then serves as the zygote. Thin by design (style.md §1): flags, logging,
// sandbox, zygote.
//
//   dockerbox-frontend --control-fd 3 --uid N --gid N [--seccomp-violation kill|trap]
//                      [--log-level info]
#include "frontend/sandbox.hpp"
#include "frontend/worker.hpp"
#include "frontend/zygote.hpp"
#include "common/log_format.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string_view>

#if defined(DOCKERBOX_SANITIZER_BUILD) && DOCKERBOX_SANITIZER_BUILD
// LeakSanitizer needs /proc and ptrace, neither of which exists in the sandbox.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }
#endif

namespace {

using dockerbox::frontend::SandboxConfig;
using dockerbox::frontend::SeccompViolation;

struct Flags {
  int controlFd = -1;
  std::optional<unsigned> uid;
  std::optional<unsigned> gid;
  SeccompViolation onViolation = SeccompViolation::Kill;
  dockerbox::HelperLogFlags log;
};

template <class T>
std::optional<T> parseNumber(std::string_view text) {
  T value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<Flags> parseFlags(int argc, char** argv) {
  Flags flags;
  if (argc % 2 != 1) return std::nullopt;  // flags come in name/value pairs
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view name = argv[i];
    std::string_view value = argv[i + 1];
    if (name == "--control-fd") {
      auto fd = parseNumber<int>(value);
      if (!fd || *fd < 0) return std::nullopt;
      flags.controlFd = *fd;
    } else if (name == "--uid") {
      flags.uid = parseNumber<unsigned>(value);
      if (!flags.uid) return std::nullopt;
    } else if (name == "--gid") {
      flags.gid = parseNumber<unsigned>(value);
      if (!flags.gid) return std::nullopt;
    } else if (name == "--seccomp-violation") {
      if (value == "kill") {
        flags.onViolation = SeccompViolation::Kill;
      } else if (value == "trap") {
        flags.onViolation = SeccompViolation::Trap;
      } else {
        return std::nullopt;
      }
    } else if (auto taken = flags.log.take(name, value); !taken || !*taken) {
      return std::nullopt;
    }
  }
  if (flags.controlFd < 0 || !flags.uid || !flags.gid) return std::nullopt;
  return flags;
}

}  // namespace

int main(int argc, char** argv) {
  auto flags = parseFlags(argc, argv);
  if (!flags) {
    std::fprintf(stderr,
                 "usage: %s --control-fd FD --uid UID --gid GID [--seccomp-violation kill|trap]"
                 " [--log-level LEVEL] [--log-format text|journal]\n",
                 argv[0]);
    return 2;
  }
  dockerbox::useHelperLogger("frontend", flags->log);
  spdlog::info("event=start control_fd={} uid={} gid={} seccomp_violation={} log_level={}",
               flags->controlFd, *flags->uid, *flags->gid,
               flags->onViolation == SeccompViolation::Kill ? "kill" : "trap", flags->log.level);

  // A client that hangs up mid-write must give EPIPE, not kill the worker.
  ::signal(SIGPIPE, SIG_IGN);

  SandboxConfig config{*flags->uid, *flags->gid, flags->controlFd, flags->onViolation};
  if (auto entered = dockerbox::frontend::enterSandbox(config); !entered) {
    spdlog::critical("event=sandbox_failed error=\"{}\" context=\"{}\"", entered.error().message,
                     entered.error().context);
    return 1;
  }
  spdlog::info("event=sandboxed");
  return dockerbox::frontend::runZygote(dockerbox::UniqueFd(flags->controlFd),
                                        dockerbox::frontend::WorkerOptions{});
}
