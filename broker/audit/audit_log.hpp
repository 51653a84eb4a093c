// Runs as root (broker). Input: typed records the broker builds from kernel-attested
// identity, validated requests and policy decisions (record.hpp); no raw worker bytes.
//
// The audit log writer (P6). Append-only file, one JSON line per record (record_line.hpp),
// each line fdatasync'd before the call returns, every line hash-chained to the one before,
// across restarts and rotated files.
//
// FAIL CLOSED: the broker writes the request record BEFORE it carries out an action. If
// writeRequest returns an error, the caller must deny the request and must not carry out
// the action: an action that left no audit record must not happen. A failed writeOutcome
// cannot undo an action already done; the broker reports it in its own log, and the request
// record shows the attempt (audit-verify lists it as a request without an outcome).
// After any failed write the next call first re-reads the file's tail and, if the failure
// left a torn line, starts a new chain segment with a `chain_break` record.
//
// Not detected by the chain alone: removing the newest lines (truncation). The head
// (seq and hash of the last line) is returned by head(); log it to the journal at start-up,
// rotation and shutdown so audit-verify's head can be compared with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "broker/audit/limits.hpp"
#include "broker/audit/record.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace dockerbox::broker::audit {

struct LineHeader;

/// Injected so tests are deterministic; the broker passes nothing (system_clock::now).
using Clock = std::function<std::chrono::system_clock::time_point()>;

struct AuditLogOptions {
  std::string path;                           // DOCKERBOX_AUDIT_LOG
  std::uint64_t maxBytes = kDefaultMaxBytes;  // rotate before a record would cross it; 0 = never
  unsigned keep = kDefaultKeep;               // rotated files kept: path.1 (newest) .. path.<keep>
  Clock clock;                                // empty: std::chrono::system_clock::now
};

/// How open() found the existing log; the broker logs this at start-up.
enum class StartKind {
  NewChain,              // no previous records: the first line will have prev = 64 zeros
  Continued,             // the chain continues from the last line of `path`
  ContinuedFromRotated,  // `path` was empty: continued from path.1 with a `rotation` record
  ChainBreak,            // the tail was corrupt: a `chain_break` record starts a new segment
};

struct OpenStatus {
  StartKind start = StartKind::NewChain;
  ChainHead head;      // where the chain stood after opening
  std::string detail;  // for ChainBreak: what was wrong with the tail
};

class AuditLog {
 public:
  /// Creates the parent directory (0700) if missing and opens or creates `path` (0600,
  /// O_APPEND, never through a symlink), then recovers seq and chain hash from the last line.
  /// A corrupt tail is not silently continued: a `chain_break` record is written and
  /// openStatus() reports it. Fails if no valid record is found in the tail window of a
  /// non-empty file (the log must be moved aside by an administrator).
  [[nodiscard]] static Result<std::unique_ptr<AuditLog>> open(AuditLogOptions options);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  /// Appends and syncs a request record; returns its seq, which the outcome refers to.
  /// On error the caller must deny (see the file comment).
  [[nodiscard]] Result<std::uint64_t> writeRequest(const RequestRecord& record);
  /// Appends and syncs the outcome of the request whose seq is `ref`.
  [[nodiscard]] Result<void> writeOutcome(std::uint64_t ref, const OutcomeRecord& record);
  /// Appends and syncs a policy (re)load record.
  [[nodiscard]] Result<void> writeEvent(const PolicyReloadEvent& event);
  /// Renames path.N-1 -> path.N ... path -> path.1 (dropping path.<keep>) and starts a new
  /// `path` whose first record is a `rotation` carrying the previous file's last hash as prev.
  [[nodiscard]] Result<void> rotate();

  /// How the chain was resumed: at open(), or at the latest recovery after a failed write.
  [[nodiscard]] OpenStatus openStatus() const;
  /// The last line written: what an external anchor should record.
  [[nodiscard]] ChainHead head() const;
  [[nodiscard]] const std::string& path() const { return options_.path; }

 private:
  explicit AuditLog(AuditLogOptions options);
  using Formatter = std::function<std::string(const LineHeader& header)>;

  Result<void> start();  // (re)open and recover; also runs after any failed write
  enum class TailSource { ThisFile, RotatedFile };
  Result<void> resumeFrom(const std::string& tailPath, TailSource source);
  Result<std::uint64_t> append(const Formatter& format);
  Result<void> writeLine(std::string line, std::uint64_t seq);
  Result<void> writeBytes(std::string_view bytes);
  Result<void> rotateLocked(RotationReason reason);
  [[nodiscard]] std::chrono::system_clock::time_point now() const;

  mutable std::mutex mutex_;  // one record at a time: the chain is a strict sequence
  AuditLogOptions options_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  ChainHead head_;
  OpenStatus status_;
  // Set after a failed write or rotation: the file may end in a torn line, so the next
  // write re-runs start() and, if so, opens a new chain segment first.
  bool broken_ = true;
};

}  // namespace dockerbox::broker::audit
