// Runs as the administrator's audit-verify. Input: untrusted audit log files; every line
// is capped at kMaxLineBytes before it is buffered.
#include "broker/audit/verify.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include "broker/audit/chain_checker.hpp"
#include "broker/audit/limits.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

namespace dockerbox::broker::audit {

namespace {

/// Cuts a byte stream into lines for the checker, holding at most one line of
/// kMaxLineBytes; longer lines are reported and skipped, not buffered.
class LineSplitter {
 public:
  explicit LineSplitter(ChainChecker& checker) : checker_(checker) {}

  void feed(std::string_view bytes) {
    while (!bytes.empty() && !checker_.failed()) {
      auto nl = bytes.find('\n');
      bool complete = nl != std::string_view::npos;
      std::string_view piece = complete ? bytes.substr(0, nl) : bytes;
      bytes.remove_prefix(complete ? nl + 1 : bytes.size());
      if (skipping_) {
        skipping_ = !complete;
        continue;
      }
      if (pending_.size() + piece.size() > kMaxLineBytes) {
        checker_.feedInvalidLine(++lineNo_,
                                 "line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
        pending_.clear();
        skipping_ = !complete;
        continue;
      }
      if (!complete) {
        pending_.append(piece);
        continue;
      }
      ++lineNo_;
      if (pending_.empty()) {
        checker_.feedLine(lineNo_, piece);
      } else {
        pending_.append(piece);
        checker_.feedLine(lineNo_, pending_);
        pending_.clear();
      }
    }
  }

  void finish() {
    if (!skipping_ && !pending_.empty()) {
      checker_.feedInvalidLine(
          ++lineNo_, "incomplete last line (no newline: interrupted write, or truncated)");
    }
  }

 private:
  ChainChecker& checker_;
  std::string pending_;
  std::uint64_t lineNo_ = 0;
  bool skipping_ = false;
};

Result<void> feedFile(const std::string& path, ChainChecker& checker) {
  auto fd = DOCKERBOX_SYSCALL(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open " + path);
  if (!fd) return fail(ErrorKind::Internal, "cannot read " + path, fd.error().context);
  UniqueFd file(*fd);
  LineSplitter splitter(checker);
  std::array<char, 64 * 1024> buf{};
  while (!checker.failed()) {
    auto n = DOCKERBOX_SYSCALL(::read(file.get(), buf.data(), buf.size()), "read " + path);
    if (!n) return fail(ErrorKind::Internal, "cannot read " + path, n.error().context);
    if (*n == 0) break;
    splitter.feed(std::string_view(buf.data(), static_cast<std::size_t>(*n)));
  }
  splitter.finish();
  return {};
}

}  // namespace

Result<VerifyReport> verifyFiles(const std::vector<std::string>& paths, VerifyOptions options) {
  ChainChecker checker(options);
  for (const auto& path : paths) {
    checker.beginFile(path);
    if (auto r = feedFile(path, checker); !r) return r.error();
    if (checker.failed()) break;
  }
  return checker.finish();
}

Result<VerifyReport> verifyText(std::string_view untrustedText, std::string_view name,
                                VerifyOptions options) {
  ChainChecker checker(options);
  checker.beginFile(std::string(name));
  LineSplitter splitter(checker);
  splitter.feed(untrustedText);
  splitter.finish();
  return checker.finish();
}

}  // namespace dockerbox::broker::audit
