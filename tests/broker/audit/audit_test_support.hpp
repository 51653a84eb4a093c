// Test helpers for the audit log tests: private temporary directories, whole-file and
// line-level access to log files, sample records and a deterministic clock.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "broker/audit/audit_log.hpp"
#include "broker/audit/record.hpp"

namespace dockerbox::broker::audit::testing {

/// A fresh mkdtemp directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dbx-audit.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Replaces the file with `bytes`. Unlinks first: ext4 flushes a file that is truncated and
/// rewritten (auto_da_alloc), which made the tamper tests wait on the disk thousands of times.
inline void writeFile(const std::string& path, const std::string& bytes) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

/// The file's lines without their newlines (a final fragment without newline included).
inline std::vector<std::string> readLines(const std::string& path) {
  std::vector<std::string> lines;
  std::string text = readFile(path);
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

inline void writeLines(const std::string& path, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  writeFile(path, text);
}

/// Starts at a fixed instant and advances by 1 ms per call: reproducible lines.
inline Clock steppingClock() {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  return [t]() mutable {
    t += std::chrono::milliseconds(1);
    return t;
  };
}

inline AuditLogOptions optionsFor(const std::string& path) {
  AuditLogOptions o;
  o.path = path;
  o.clock = steppingClock();
  return o;
}

inline RequestRecord sampleRequest(int i) {
  RequestRecord r;
  r.uid = 1000 + static_cast<uid_t>(i % 3);
  r.gid = 1000;
  r.groups = {1000, 27};
  r.pid = 4000 + i;
  if (i % 2 == 0) r.loginuid = r.uid;
  r.operation = i % 4 == 0 ? "containers.create" : "containers.list";
  r.objects = {ObjectRef{"container", "", "web-" + std::to_string(i)}};
  r.decision = i % 5 == 0 ? Decision::Deny : Decision::Allow;
  r.rule = i % 5 == 0 ? "no-privileged" : "group-users";
  r.reason = i % 5 == 0 ? "Privileged is not allowed" : "matched";
  return r;
}

/// Writes `n` requests, each followed by its outcome except that every third request's
/// outcome comes after the next request (interleaved, as with concurrent clients).
inline void writeSampleLog(AuditLog& log, int n) {
  std::uint64_t held = 0;
  for (int i = 0; i < n; ++i) {
    auto seq = log.writeRequest(sampleRequest(i));
    ASSERT_TRUE(seq) << seq.error().context;
    if (held != 0) {
      ASSERT_TRUE(log.writeOutcome(held, OutcomeRecord::ok()));
      held = 0;
    }
    if (i % 3 == 1) {
      held = *seq;
      continue;
    }
    auto outcome =
        i % 5 == 0 ? OutcomeRecord::fromError(Error::make(ErrorKind::Forbidden, "denied by policy"))
                   : OutcomeRecord::ok();
    ASSERT_TRUE(log.writeOutcome(*seq, outcome));
  }
  if (held != 0) {
    ASSERT_TRUE(log.writeOutcome(held, OutcomeRecord::ok()));
  }
}

}  // namespace dockerbox::broker::audit::testing
