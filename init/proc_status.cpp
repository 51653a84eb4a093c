// Runs in dockerbox-init at every privilege level. Input: /proc/self/status (the kernel's).
#include "init/proc_status.hpp"

#include "common/unique_fd.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

namespace dockerbox::init {
namespace {

constexpr std::size_t kMaxStatusSize = 64 * 1024;  // a few KiB in practice

/// The value of "key:\t..." in `text`, or nullopt.
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      auto first = line.find_first_not_of(" \t");
      return first == std::string_view::npos ? std::string_view{} : line.substr(first);
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

/// Whitespace-separated numbers in `text` (base 10 or 16).
template <class T>
bool parseNumbers(std::string_view text, std::vector<T>& out, int base = 10) {
  while (true) {
    auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return true;
    text.remove_prefix(first);
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc{}) return false;
    out.push_back(value);
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  }
}

template <class T, std::size_t N>
bool parseFixed(std::optional<std::string_view> text, std::array<T, N>& out) {
  std::vector<T> values;
  if (!text || !parseNumbers(*text, values) || values.size() != N) return false;
  std::copy(values.begin(), values.end(), out.begin());
  return true;
}

template <class T>
bool parseOne(std::optional<std::string_view> text, T& out, int base) {
  std::vector<T> values;
  if (!text || !parseNumbers(*text, values, base) || values.size() != 1) return false;
  out = values.front();
  return true;
}

}  // namespace

Result<ProcessState> parseProcStatus(std::string_view text) {
  ProcessState state;
  auto groups = field(text, "Groups");
  bool ok = parseFixed(field(text, "Uid"), state.uids) &&
            parseFixed(field(text, "Gid"), state.gids) && groups &&
            parseNumbers(*groups, state.groups) &&
            parseOne(field(text, "CapInh"), state.capInheritable, 16) &&
            parseOne(field(text, "CapPrm"), state.capPermitted, 16) &&
            parseOne(field(text, "CapEff"), state.capEffective, 16) &&
            parseOne(field(text, "CapBnd"), state.capBounding, 16) &&
            parseOne(field(text, "CapAmb"), state.capAmbient, 16) &&
            parseOne(field(text, "NoNewPrivs"), state.noNewPrivs, 10) &&
            parseOne(field(text, "Seccomp"), state.seccompMode, 10);
  if (!ok) return fail(ErrorKind::Internal, "read /proc/self/status: unexpected format");
  std::sort(state.groups.begin(), state.groups.end());
  return state;
}

Result<ProcessState> readProcessState() {
  constexpr std::string_view what = "read /proc/self/status";
  UniqueFd fd(::open("/proc/self/status", O_RDONLY | O_CLOEXEC));
  if (!fd) return sysError(what, errno);
  std::string text(kMaxStatusSize, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    long n = 0;
    DOCKERBOX_TRY_ASSIGN(n, sysRetry(what, [&] {
      return ::read(fd.get(), text.data() + used, text.size() - used);
    }));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  text.resize(used);
  return parseProcStatus(text);
}

}  // namespace dockerbox::init
