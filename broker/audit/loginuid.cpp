// Runs as root (broker). Input: /proc/<pid>/loginuid (kernel-written, a few bytes).
#include "broker/audit/loginuid.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <string>

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

namespace dockerbox::broker::audit {

namespace {
constexpr uid_t kUnsetLoginUid = static_cast<uid_t>(-1);
}  // namespace

std::optional<uid_t> parseLoginUid(std::string_view text) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (static_cast<uid_t>(value) == kUnsetLoginUid) return std::nullopt;
  return static_cast<uid_t>(value);
}

std::optional<uid_t> readLoginUid(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::string path = "/proc/" + std::to_string(pid) + "/loginuid";
  auto fd = DOCKERBOX_SYSCALL(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open " + path);
  if (!fd) return std::nullopt;  // no audit support, or the process is gone
  UniqueFd file(*fd);
  std::array<char, 16> buf{};  // "4294967295\n" is 11 bytes
  auto n = DOCKERBOX_SYSCALL(::read(file.get(), buf.data(), buf.size()), "read " + path);
  if (!n || *n <= 0 || static_cast<std::size_t>(*n) == buf.size()) return std::nullopt;
  return parseLoginUid(std::string_view(buf.data(), static_cast<std::size_t>(*n)));
}

}  // namespace dockerbox::broker::audit
