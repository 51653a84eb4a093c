// Runs as root (broker, at start-up and after a failed write). Input: the end of an existing
// audit log, which a crash may have torn and anyone with write access may have edited.
//
// Finds where the chain stands: the last valid record's seq and line hash.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/audit/record.hpp"
#include "common/result.hpp"

namespace dockerbox::broker::audit {

struct TailScan {
  /// The last line in the window that parses as a record (see parseLine). Its prev is not
  /// checked here: that is audit-verify's job; the writer only needs where to continue.
  std::optional<ChainHead> lastGood;
  /// The file ends with a newline and its last line is lastGood: continue the chain as is.
  bool lastLineGood = false;
  /// The file ends with a newline (false: an interrupted write left a partial line).
  bool endsWithNewline = true;
  /// Why the last line is not usable, when lastLineGood is false.
  std::string problem;
};

/// Scans `window`, the last bytes of a file. `windowIsWholeFile` false means the first
/// (partial) line of the window is skipped. An empty window gives an empty scan.
[[nodiscard]] TailScan scanTail(std::string_view window, bool windowIsWholeFile);

/// Reads the last kRecoveryWindowBytes of `path` (without following a final symlink) and
/// scans them. An empty file gives lastGood == nullopt and lastLineGood == false.
[[nodiscard]] Result<TailScan> readTail(const std::string& path);

}  // namespace dockerbox::broker::audit
