// One line of a json-file log. Runs in the engine (dockerbox-engine, unprivileged). Input:
// container output to encode, and lines of the broker's own (possibly torn) log file to
// decode.
#include "engine/state/json_log_line.hpp"

#include "engine/state/rfc3339.hpp"

#include <boost/json.hpp>

namespace dockerbox::broker::state {

std::string encodeLogLine(LogStream stream, std::string_view bytes, std::int64_t timeNanos) {
  // Insertion order is serialisation order: the same key order as Docker's json-file.
  boost::json::object record;
  record["log"] = boost::json::string_view(bytes.data(), bytes.size());
  record["stream"] = stream == LogStream::Stdout ? "stdout" : "stderr";
  record["time"] = formatRfc3339Nano(timeNanos);
  std::string line = boost::json::serialize(record);
  line += '\n';
  return line;
}

std::optional<LogEntry> decodeLogLine(std::string_view line) {
  boost::json::parse_options options;
  options.max_depth = 2;              // a record is one flat object
  options.allow_invalid_utf8 = true;  // see encodeLogLine()
  boost::system::error_code ec;
  // parse() with an error_code reports malformed input through `ec`; it throws only on
  // allocation failure, which the broker's per-request boundary turns into an error.
  boost::json::value parsed =
      boost::json::parse(boost::json::string_view(line.data(), line.size()), ec, {}, options);
  if (ec) return std::nullopt;
  const auto* record = parsed.if_object();
  if (record == nullptr) return std::nullopt;
  const auto* log = record->if_contains("log");
  const auto* stream = record->if_contains("stream");
  const auto* time = record->if_contains("time");
  if (log == nullptr || stream == nullptr || time == nullptr) return std::nullopt;
  if (!log->is_string() || !stream->is_string() || !time->is_string()) return std::nullopt;

  LogEntry entry;
  const auto& streamName = stream->get_string();
  if (streamName == "stdout") {
    entry.stream = LogStream::Stdout;
  } else if (streamName == "stderr") {
    entry.stream = LogStream::Stderr;
  } else {
    return std::nullopt;
  }
  const auto& timeText = time->get_string();
  auto nanos = parseRfc3339Nano(std::string_view(timeText.data(), timeText.size()));
  if (!nanos) return std::nullopt;
  entry.timeNanos = *nanos;
  const auto& bytes = log->get_string();
  entry.bytes.assign(bytes.data(), bytes.size());
  return entry;
}

}  // namespace dockerbox::broker::state
