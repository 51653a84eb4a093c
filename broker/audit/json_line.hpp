// Runs as root (broker). Input: record values, some of which a client chose (names, image
// references) and may hold quotes, newlines, terminal escapes or invalid UTF-8.
//
// Builds one audit line as ASCII-only JSON. Every byte outside printable ASCII is written as
// a \u escape, so a line can never contain a raw newline (which would split the record),
// a terminal control sequence or a bidi override that misleads whoever reads the log with
// cat or less. Invalid UTF-8 becomes U+FFFD, so every line is valid JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dockerbox::broker::audit {

/// Appends `value` as a quoted JSON string. Values longer than `maxBytes` are cut at a
/// UTF-8 boundary and end in "...(truncated)".
void appendJsonString(std::string& out, std::string_view value, std::size_t maxBytes);

/// Writes the members of one JSON object in the order they are added.
class JsonObjectWriter {
 public:
  JsonObjectWriter() : out_("{") {}

  void string(std::string_view key, std::string_view value);
  void number(std::string_view key, std::uint64_t value);
  void boolean(std::string_view key, bool value);
  void null(std::string_view key);
  /// `json` must already be valid JSON produced by this file's functions.
  void raw(std::string_view key, std::string_view json);

  /// The text so far, without the closing brace.
  [[nodiscard]] std::string& open() { return out_; }
  /// The complete object.
  [[nodiscard]] std::string close() && { return std::move(out_) + "}"; }

 private:
  void key(std::string_view name);
  std::string out_;
};

/// RFC 3339 UTC with nanoseconds: 2026-11-29T00:54:08.123456789Z.
[[nodiscard]] std::string formatTime(std::chrono::system_clock::time_point time);

/// Whether `text` has exactly the shape formatTime produces (digits and separators only).
[[nodiscard]] bool looksLikeTime(std::string_view text);

}  // namespace dockerbox::broker::audit
