// Runs as the administrator's `dockerboxctl audit-verify` (usually root, never the serving
// broker). Input: command-line arguments and the audit files they name (untrusted content).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace dockerbox::broker::audit {

/// `dockerboxctl audit-verify [--accept-breaks] FILE...`, called by dockerboxctl's main with
/// argv[0] = "audit-verify" (ignored). FILEs are one chain, oldest first. With exactly one
/// FILE, its rotated siblings FILE.1, FILE.2, ... (up to the first missing number) are
/// verified before it, oldest first. --accept-breaks lets a chain_break record excuse the
/// invalid lines just before it (a torn write after a crash); they are listed.
/// Prints "OK ..." with counts and the head, or "FAIL: file:line: what"; exit 0 when the
/// chain verifies, 1 when it does not (or a file cannot be read), 2 on a usage error.
int runAuditVerify(int argc, char** argv);

/// The same with explicit arguments (without argv[0]) and streams, for tests.
int runAuditVerify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// path.N .. path.1, path: the existing rotated siblings, oldest first, then `path`.
[[nodiscard]] std::vector<std::string> withRotatedSiblings(const std::string& path);

}  // namespace dockerbox::broker::audit
