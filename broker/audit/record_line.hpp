// Runs as root (broker: writing, tail recovery) and as the admin's audit-verify (parsing).
// Input to parseLine: untrusted bytes of a file anyone with write access may have edited.
//
// The audit line format, version 1. One JSON object per line, ASCII only, members in this
// order:
//   {"v":1,"seq":N,"time":"<RFC 3339 UTC, ns>","kind":"<kind>",<kind's members>,
//    "prev":"<hex SHA-256 of the previous line>","hash":"<hex SHA-256 of this line up to ,"hash">"}
// `prev` is the SHA-256 of the previous line's exact bytes without its newline (64 zeros for
// the first line ever), which chains every line to all lines before it. `hash` covers the
// line itself, so an edit of the newest line, which no successor covers yet, is detected
// too. Neither is a signature: someone who can rewrite the files can recompute the chain;
// compare the head (last seq and hash) with a copy kept elsewhere to detect that.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/audit/record.hpp"
#include "common/result.hpp"

namespace dockerbox::broker::audit {

enum class RecordKind { Request, Outcome, PolicyReload, Rotation, ChainBreak };

/// "request", "outcome", "policy_reload", "rotation", "chain_break".
[[nodiscard]] std::string_view kindName(RecordKind kind);

/// What every line carries besides its kind's members.
struct LineHeader {
  std::uint64_t seq = 0;
  std::chrono::system_clock::time_point time;
  std::string_view prev;  // hex SHA-256 of the previous line, or kZeroHash
};

// Each returns one complete line without its newline.
[[nodiscard]] std::string formatRequest(const LineHeader& header, const RequestRecord& record);
[[nodiscard]] std::string formatOutcome(const LineHeader& header, std::uint64_t ref,
                                        const OutcomeRecord& record);
[[nodiscard]] std::string formatPolicyReload(const LineHeader& header,
                                             const PolicyReloadEvent& event);
[[nodiscard]] std::string formatRotation(const LineHeader& header, RotationReason reason);
/// A new chain segment after a corrupt tail: seq and prev continue from the last valid line.
[[nodiscard]] std::string formatChainBreak(const LineHeader& header, std::string_view reason);

/// What the chain checks need from one line.
struct ParsedLine {
  std::uint64_t seq = 0;
  RecordKind kind = RecordKind::Request;
  std::string prev;       // as written in the line
  std::string lineHash;   // SHA-256 of the whole line: what the next line's prev must be
  std::uint64_t ref = 0;  // outcome only: the request's seq
};

/// Checks one line (without newline): length, its own hash, JSON syntax, format version and
/// the exact member set and types of its kind. The error message says what is wrong.
[[nodiscard]] Result<ParsedLine> parseLine(std::string_view untrustedLine);

}  // namespace dockerbox::broker::audit
