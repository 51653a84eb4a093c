// Runs as the administrator's `dockerboxctl audit-verify` (usually root), not in the serving
// broker. Input: untrusted audit log files (anyone who could write them may have edited them).
//
// Checks a set of audit files as one chain: every line is a valid record whose own hash
// matches; `prev` is the SHA-256 of the line before it (across files); `seq` rises by
// exactly one; each outcome refers to an earlier request that has no outcome yet. The first
// failure names the file and line, e.g.
//   audit.log:17: prev hash does not match line 16 (line deleted, edited or reordered)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/audit/record.hpp"
#include "common/result.hpp"

namespace dockerbox::broker::audit {

/// Whether a declared `chain_break` may excuse the invalid lines just before it (a torn
/// write after a crash or a full disk). Reject: any invalid line fails verification.
enum class ChainBreaks { Reject, Accept };

struct VerifyOptions {
  ChainBreaks chainBreaks = ChainBreaks::Reject;
};

struct VerifyReport {
  std::uint64_t files = 0;
  std::uint64_t records = 0;
  std::uint64_t requests = 0;
  std::uint64_t outcomes = 0;
  std::uint64_t policyReloads = 0;
  std::uint64_t rotations = 0;
  std::uint64_t chainBreaks = 0;
  std::uint64_t firstSeq = 0;  // 0 when there are no records
  ChainHead head;              // the last record: compare with a copy kept elsewhere
  /// The first record is a rotation or chain_break continuing files that were not given
  /// (older rotated files already deleted).
  bool startsMidChain = false;
  /// Requests with no outcome record: in flight while the log was read, or the broker
  /// stopped before the action finished (or the outcome line was the one deleted at the
  /// very end: the tail is only protected by comparing `head`).
  std::uint64_t openRequestCount = 0;
  std::vector<std::uint64_t> openRequests;  // the first kMaxListedOpenRequests, by seq
  /// "file:line: why" for invalid lines excused by a following chain_break (Accept only).
  std::vector<std::string> skippedLines;
};

/// Verifies `paths` as one chain, oldest first (audit.log.2, audit.log.1, audit.log).
/// Returns the report when everything checks out; otherwise an error whose message is
/// "<file>:<line>: <what is wrong>" (ErrorKind::BadRequest), or an I/O error (Internal).
[[nodiscard]] Result<VerifyReport> verifyFiles(const std::vector<std::string>& paths,
                                               VerifyOptions options = {});

/// The same over one in-memory file called `name` (tests, the fuzz target).
[[nodiscard]] Result<VerifyReport> verifyText(std::string_view untrustedText,
                                              std::string_view name = "<input>",
                                              VerifyOptions options = {});

}  // namespace dockerbox::broker::audit
