// One line of a json-file log: `{"log":"...","stream":"stdout","time":"<RFC3339Nano>"}`.
// Runs in the engine (dockerbox-engine, unprivileged). Input for encoding: container output
// (arbitrary bytes from a container process); for decoding: lines of the broker's own log
// file, which a crash may have torn, so a bad line is reported, never trusted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::broker::state {

enum class LogStream { Stdout, Stderr };

/// One captured record: a whole line (ending in '\n') or a piece of one.
struct LogEntry {
  LogStream stream = LogStream::Stdout;
  std::int64_t timeNanos = 0;
  std::string bytes;
  bool operator==(const LogEntry&) const = default;
};

/// The JSON line for one record, with its terminating '\n'. Output bytes are kept as they
/// are: Docker's json-file replaces invalid UTF-8 with U+FFFD, but miniboxd cuts output
/// into 4 KiB chunks that can split a UTF-8 sequence, and replacing the halves would
/// corrupt valid text. The file is therefore JSON with possibly non-UTF-8 string bytes,
/// which decodeLogLine() accepts.
[[nodiscard]] std::string encodeLogLine(LogStream stream, std::string_view bytes,
                                        std::int64_t timeNanos);

/// Parses one line (without '\n'). nullopt if it is not an object with a string "log", a
/// "stream" of "stdout"/"stderr" and a valid "time"; other keys are ignored.
[[nodiscard]] std::optional<LogEntry> decodeLogLine(std::string_view line);

}  // namespace dockerbox::broker::state
