// Captured container output, stored like Docker's json-file driver in
// `<stateDir>/containers/<id>/<id>-json.log` (rotated to `-json.log.1`). Runs in the engine
// (dockerbox-engine, unprivileged). Input: container output bytes (arbitrary, written by
// container processes) and the broker's own log files when reading back (possibly torn by a
// crash).
#pragma once

#include "engine/state/json_log_line.hpp"
#include "engine/state/limits.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace dockerbox::broker::state {

struct LogStoreOptions {
  std::uint64_t maxFileBytes = kMaxLogFileBytes;  ///< tests shrink it to exercise rotation
};

/// What `docker logs` asked for. Times are inclusive, like Docker's since/until.
struct LogReadOptions {
  bool stdoutStream = true;
  bool stderrStream = true;
  std::int64_t sinceNanos = 0;  ///< 0: from the start
  std::int64_t untilNanos = 0;  ///< 0: to the end
  /// The last N records that pass the stream and time filters; -1 (or any negative): all.
  /// Docker counts file lines before filtering; the two differ only when tail is combined
  /// with a stream or time filter.
  std::int64_t tail = -1;
  /// Prefix each record's bytes with its time and a space, as `docker logs -t` prints it.
  bool timestamps = false;
};

struct LogReadResult {
  std::vector<LogEntry> entries;   ///< oldest first
  std::size_t malformedLines = 0;  ///< lines skipped because they did not parse
};

/// Thread-safe: one mutex serialises appends, reads and removals.
class LogStore {
 public:
  /// Creates `<stateDir>/containers` (0700) if needed. `stateDir` itself must exist
  /// (StateStore::open creates it).
  [[nodiscard]] static Result<std::unique_ptr<LogStore>> open(const std::filesystem::path& stateDir,
                                                              LogStoreOptions options = {});

  /// Appends output the way json-file records it: one record per '\n'-terminated line
  /// (the '\n' kept in the record), a trailing piece without '\n' as its own record, and
  /// lines longer than kMaxLogRecordBytes cut into pieces. Nothing is buffered across
  /// calls, so every byte handed in is in the kernel when this returns and survives kill -9
  /// of the broker. There is no fsync (json-file has none either): a power cut may lose the
  /// last seconds of output, which is cheaper than an fsync per 4 KiB chunk.
  [[nodiscard]] Result<void> append(std::string_view dockerId, LogStream stream,
                                    std::string_view bytes, std::int64_t timeNanos);

  /// Reads back the rotated file, then the current one. An absent log is empty.
  [[nodiscard]] Result<LogReadResult> read(std::string_view dockerId,
                                           const LogReadOptions& options);

  /// Deletes the container's log files and directory. An absent log is fine.
  [[nodiscard]] Result<void> remove(std::string_view dockerId);

  /// `<stateDir>/containers/<id>/<id>-json.log` (Docker's `LogPath` in inspect).
  [[nodiscard]] std::filesystem::path logPath(std::string_view dockerId) const;

 private:
  LogStore(std::filesystem::path containersDir, LogStoreOptions options);

  std::mutex mutex_;
  std::filesystem::path containersDir_;
  LogStoreOptions options_;
};

}  // namespace dockerbox::broker::state
