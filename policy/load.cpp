// The one function of this library that touches the filesystem: reading the policy file.
#include "policy/policy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <array>
#include <system_error>

namespace dockerbox::policy {

namespace {

// std::strerror is not thread-safe; the broker may load from any thread.
std::string lastError() { return std::error_code(errno, std::generic_category()).message(); }

ParseFailure failure(const std::string& path, std::string message) {
  return ParseFailure{{Diagnostic{path, 0, 0, std::move(message)}}};
}

// Closes the descriptor on every path out of loadPolicyFile.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

ParseResult loadPolicyFile(const std::string& path,
                           std::span<const std::string_view> knownOperations, FileTrust trust) {
  // O_NOFOLLOW: a symlink in the final component is refused rather than followed, so the
  // checks below are about the file that is read. O_NONBLOCK: a FIFO cannot hang the broker.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) return failure(path, "cannot open: " + lastError());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return failure(path, "cannot stat: " + lastError());
  if (!S_ISREG(st.st_mode)) return failure(path, "not a regular file");
  if (trust == FileTrust::RequireRootOwned) {
    // Whoever can change the policy is root-equivalent, so only root may be able to.
    if (st.st_uid != 0) return failure(path, "not owned by root");
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
      return failure(path, "writable by group or others");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxPolicyBytes) {
    return failure(path, "larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  }

  std::string text;
  std::array<char, 8192> buffer{};
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failure(path, "cannot read: " + lastError());
    if (n == 0) break;
    text.append(buffer.data(), static_cast<std::size_t>(n));
    // The file may grow between fstat and read; the cap holds either way.
    if (text.size() > kMaxPolicyBytes)
      return failure(path, "larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  }
  return parsePolicy(text, knownOperations, path);
}

}  // namespace dockerbox::policy
