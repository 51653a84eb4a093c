// Runs as the administrator's audit-verify. Input: untrusted lines of audit log files,
// fed in order by verify.cpp, which owns the file reading.
//
// The chain rules of verify.hpp as a line-at-a-time state machine.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/record_line.hpp"
#include "broker/audit/verify.hpp"

namespace dockerbox::broker::audit {

class ChainChecker {
 public:
  explicit ChainChecker(VerifyOptions options) : options_(options) {}

  /// Starts the next file (lines are numbered from 1 in each).
  void beginFile(std::string name);
  /// One line without its newline.
  void feedLine(std::uint64_t lineNo, std::string_view untrustedLine);
  /// A line the reader could not even hand over (too long, no final newline).
  void feedInvalidLine(std::uint64_t lineNo, std::string why);
  /// Once true, further lines are ignored: the first failure is the one reported.
  [[nodiscard]] bool failed() const { return failure_.has_value(); }
  /// The report, or the first failure as "file:line: what".
  [[nodiscard]] Result<VerifyReport> finish();

 private:
  struct Position {
    std::size_t file = 0;  // index into files_
    std::uint64_t line = 0;
  };
  struct Failure {
    Position at;
    std::string what;
  };
  struct Last {
    ChainHead head;
    Position at;
  };

  void invalid(Position at, std::string what);
  [[nodiscard]] std::optional<std::string> checkChain(const ParsedLine& line) const;
  [[nodiscard]] std::optional<std::string> checkAndCount(const ParsedLine& line);
  [[nodiscard]] std::string where(Position at) const;     // "audit.log:17"
  [[nodiscard]] std::string relative(Position at) const;  // "line 16" or "audit.log.1:48"

  VerifyOptions options_;
  VerifyReport report_;
  std::vector<std::string> files_;
  std::optional<Failure> failure_;  // final: verification has failed
  std::optional<Failure> held_;     // an invalid line a following chain_break may excuse
  std::vector<std::string> heldLines_;
  std::optional<Last> last_;      // the last valid record
  std::set<std::uint64_t> open_;  // requests without an outcome, by seq
};

}  // namespace dockerbox::broker::audit
