// libFuzzer target: dockerbox-init's argument parser. The broker writes the list, but the
// parser is the init's only door and must fail closed on anything: no input may crash it,
// and whatever it accepts must encode back to the same configuration.
// Input: NUL-separated arguments (argv after argv[0]).
#include "init/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool sameConfig(const dockerbox::init::InitConfig& a, const dockerbox::init::InitConfig& b) {
  if (a.binds.size() != b.binds.size() || a.rlimits.size() != b.rlimits.size()) return false;
  for (std::size_t i = 0; i < a.binds.size(); ++i) {
    if (a.binds[i].access != b.binds[i].access ||
        a.binds[i].containerPath != b.binds[i].containerPath) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.rlimits.size(); ++i) {
    if (a.rlimits[i].name != b.rlimits[i].name || a.rlimits[i].soft != b.rlimits[i].soft ||
        a.rlimits[i].hard != b.rlimits[i].hard) {
      return false;
    }
  }
  return a.mode == b.mode && a.argv == b.argv && a.env == b.env && a.user == b.user &&
         a.userCheck == b.userCheck && a.workingDir == b.workingDir &&
         a.hostname == b.hostname && a.capabilities == b.capabilities &&
         a.seccomp == b.seccomp && a.rootfs == b.rootfs && a.rlimitRaise == b.rlimitRaise &&
         a.tty == b.tty && a.stdinPath == b.stdinPath && a.controlPath == b.controlPath &&
         a.stdoutPath == b.stdoutPath && a.stderrPath == b.stderrPath && a.unmountPath == b.unmountPath &&
         a.portsPath == b.portsPath && a.timeoutMs == b.timeoutMs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  while (!text.empty()) {
    auto nul = text.find('\0');
    args.push_back(text.substr(0, nul));
    if (nul == std::string_view::npos) break;
    text.remove_prefix(nul + 1);
  }
  auto parsed = dockerbox::init::parseInitArgs(args);
  if (!parsed) {
    check(!parsed.error().message.empty());
    return 0;
  }
  check(!parsed->argv.empty() && !parsed->argv.front().empty());
  auto encoded = dockerbox::init::encodeInitArgs(*parsed);
  check(encoded.has_value());
  std::vector<std::string_view> again(encoded->begin(), encoded->end());
  auto reparsed = dockerbox::init::parseInitArgs(again);
  check(reparsed.has_value() && sameConfig(*parsed, *reparsed));
  return 0;
}
