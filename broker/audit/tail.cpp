// Runs as root (broker). Input: the end of an existing audit log (see the header).
#include "broker/audit/tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "broker/audit/limits.hpp"
#include "broker/audit/record_line.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

namespace dockerbox::broker::audit {

TailScan scanTail(std::string_view window, bool windowIsWholeFile) {
  TailScan scan;
  if (!windowIsWholeFile) {
    auto nl = window.find('\n');
    window = nl == std::string_view::npos ? std::string_view{} : window.substr(nl + 1);
  }
  if (window.empty()) return scan;
  scan.endsWithNewline = window.back() == '\n';

  // Complete lines, in order; a final fragment without newline is the torn write.
  std::vector<std::string_view> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = window.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    lines.push_back(window.substr(start, nl - start));
  }
  if (!scan.endsWithNewline) {
    scan.problem = "last line is incomplete (no newline: interrupted write?)";
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto parsed = parseLine(*it);
    if (parsed) {
      scan.lastGood = ChainHead{parsed->seq, parsed->lineHash};
      scan.lastLineGood = scan.endsWithNewline && it == lines.rbegin();
      break;
    }
    if (scan.problem.empty()) {
      scan.problem = "last line is not a valid record: " + parsed.error().message;
    }
  }
  return scan;
}

Result<TailScan> readTail(const std::string& path) {
  auto fd =
      DOCKERBOX_SYSCALL(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW), "open " + path);
  if (!fd) return fd.error();
  UniqueFd file(*fd);
  struct stat st {};
  if (auto r = DOCKERBOX_SYSCALL(::fstat(file.get(), &st), "fstat " + path); !r) return r.error();
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorKind::Internal, "audit log is not a regular file", path);
  }

  auto size = static_cast<std::uint64_t>(st.st_size);
  std::uint64_t length = std::min<std::uint64_t>(size, kRecoveryWindowBytes);
  std::string window(length, '\0');
  std::uint64_t done = 0;
  while (done < length) {
    auto n = DOCKERBOX_SYSCALL(::pread(file.get(), window.data() + done, length - done,
                                       static_cast<off_t>(size - length + done)),
                               "pread " + path);
    if (!n) return n.error();
    if (*n == 0) break;  // the file shrank under us: scan what we have
    done += static_cast<std::uint64_t>(*n);
  }
  window.resize(done);
  return scanTail(window, length == size);
}

}  // namespace dockerbox::broker::audit
