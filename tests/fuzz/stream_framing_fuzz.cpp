// Fuzz target: container output (untrusted bytes from whatever runs in the container, with
// capture times) through the renderers of `docker logs`, `attach` and `exec start` and the
// session's body framing, then back through an independent decoder written here from
// dockerd's wire format: HTTP/1.1 chunked coding (RFC 9112 §7.1) and moby's pkg/stdcopy
// frames ([stream, 0, 0, 0, big-endian uint32 size] + payload). No sockets.
// Input: untrusted bytes as a container (or its log) could produce them.
//
// Checked (abort on any mismatch): each output chunk's bytes come back unchanged, on the
// right stream, in order; every frame's size is its payload's; no empty HTTP chunk before
// the terminator and nothing after it; with timestamps, a stamp of that chunk's capture
// time at every line start and nowhere else; a broker error at the end arrives as one
// stdcopy "system error" frame (without a TTY) and not as output.
//
// The stdin side (stream_session.cpp: relayStdin) reads from the socket and hands the
// bytes to the broker unchanged, with no framing of its own: nothing to fuzz without a
// socket.
//
// Input layout (so the fuzzer's mutations stay meaningful):
//   byte 0     mode: bits 0-1 route (0, 3: logs; 1: attach; 2: exec start), bit 2 TTY,
//              bit 3 ?timestamps=1 (logs), bit 4 API 1.41 instead of 1.50, bit 5 the stream
//              ends with an error whose message is the last record's data, bit 6 no
//              Upgrade header (attach, exec)
//   bytes 1-8  the first capture time, int64 nanoseconds, big-endian
//   records    header byte: bits 0-2 StreamKind (4-7 are out of range: capnp does not
//              check enums), bit 3 an absolute time (8 bytes) follows, else bits 4-7 times
//              ~1 s are added to the time; then a big-endian uint16 length; then the data
#include "frontend/router.hpp"
#include "frontend/stream_framing.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dockerbox::frontend;
namespace wire = dockerbox::ipc::wire;

/// Dies with a reason, so a crash found by the fuzzer says what went wrong.
[[noreturn]] void mismatch(const char* what) {
  std::fprintf(stderr, "stream_framing_fuzz: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) mismatch(what);
}

class InputReader {
 public:
  explicit InputReader(std::string_view bytes) : bytes_(bytes) {}
  [[nodiscard]] bool empty() const { return bytes_.empty(); }
  std::string_view take(std::size_t n) {
    std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(out.size());
    return out;
  }
  std::uint64_t bigEndian(std::size_t n) {  // missing bytes read as zero
    std::uint64_t value = 0;
    std::string_view raw = take(n);
    for (std::size_t i = 0; i < n; ++i) value = (value << 8) | (i < raw.size() ? static_cast<std::uint8_t>(raw[i]) : 0);
    return value;
  }

 private:
  std::string_view bytes_;
};

struct Record {
  unsigned kind = 0;  // wire::StreamKind as sent, possibly out of range
  std::string data;
  std::int64_t timeNanos = 0;
};

enum class StreamRoute { Logs, Attach, Exec };

struct Scenario {
  StreamRoute route = StreamRoute::Logs;
  bool tty = false;
  bool timestamps = false;
  bool oldApi = false;
  bool upgrade = true;
  std::optional<std::string> endError;  // the final reply is an error with this message
  std::vector<Record> records;
};

Scenario parseScenario(std::string_view bytes) {
  InputReader in(bytes);
  Scenario s;
  auto mode = static_cast<unsigned>(in.bigEndian(1));
  s.route = (mode & 3) == 1 ? StreamRoute::Attach : (mode & 3) == 2 ? StreamRoute::Exec : StreamRoute::Logs;
  s.tty = (mode & 4) != 0;
  s.timestamps = s.route == StreamRoute::Logs && (mode & 8) != 0;
  s.oldApi = (mode & 16) != 0;
  s.upgrade = (mode & 64) == 0;
  auto time = in.bigEndian(8);  // unsigned: deltas wrap instead of overflowing
  while (!in.empty()) {
    auto header = static_cast<unsigned>(in.bigEndian(1));
    if ((header & 8) != 0) {
      time = in.bigEndian(8);
    } else {
      time += static_cast<std::uint64_t>(header >> 4) * 1'000'000'007u;
    }
    auto length = static_cast<std::size_t>(in.bigEndian(2));
    s.records.push_back(Record{header & 7, std::string(in.take(length)), static_cast<std::int64_t>(time)});
  }
  if ((mode & 32) != 0) {
    s.endError = s.records.empty() ? std::string() : std::move(s.records.back().data);
    if (!s.records.empty()) s.records.pop_back();
  }
  return s;
}

// --- what the frontend sends -------------------------------------------------------------

HttpRequest requestFor(const Scenario& s) {
  HttpRequest request;
  std::string prefix = s.oldApi ? "/v1.41" : "/v1.50";
  switch (s.route) {
    case StreamRoute::Logs:
      request.method = Method::Get;
      request.target = prefix + "/containers/c/logs?stdout=1&stderr=1" + (s.timestamps ? "&timestamps=1" : "");
      break;
    case StreamRoute::Attach:
      request.method = Method::Post;
      request.target = prefix + "/containers/c/attach?stream=1&stdout=1&stderr=1";
      break;
    case StreamRoute::Exec:
      request.method = Method::Post;
      request.target = prefix + "/exec/e/start";
      request.body = R"({"Detach":false,"Tty":false})";
      break;
  }
  if (s.upgrade && s.route != StreamRoute::Logs) {
    request.headers = {{"Connection", "Upgrade"}, {"Upgrade", "tcp"}};
  }
  return request;
}

/// The prelude's answer: the container's (or exec's) inspect, which carries the TTY flag.
void answerPrelude(StreamRenderer& renderer, const Scenario& s) {
  capnp::MallocMessageBuilder reply;
  auto result = reply.initRoot<wire::BrokerMessage>().initResponse().initResult();
  if (s.route == StreamRoute::Exec) {
    result.initExecInspect().initConfig().setTty(s.tty);
  } else {
    result.initContainerInspect().initConfig().setTty(s.tty);
  }
  auto refused = renderer.afterPrelude(reply.getRoot<wire::BrokerMessage>().asReader().getResponse());
  check(!refused, "a successful prelude ended the request");
}

/// Runs the records through the renderer and frames the body as the session's pump() does:
/// a piece that renders empty is skipped (an empty chunk would end the body), a chunked
/// body wraps each piece in one HTTP chunk and ends with the last chunk.
std::string renderStream(const Scenario& s) {
  Action action = routeRequest(requestFor(s));
  auto* stream = std::get_if<BrokerStream>(&action);
  check(stream != nullptr, "the route did not start a stream");
  check(stream->prelude != nullptr, "an output stream without its inspect prelude");
  const bool chunked = stream->framing == StreamFraming::Chunked;
  check(chunked == (s.route == StreamRoute::Logs), "logs are chunked, attach and exec hijacked");
  StreamRenderer& renderer = *stream->renderer;
  answerPrelude(renderer, s);
  auto head = renderer.head();
  check(head.has_value(), "an output stream held its head back");
  std::string out = *head;
  auto emit = [&](std::string bytes) {
    if (bytes.empty()) return;
    out += chunked ? httpChunk(bytes) : bytes;
  };
  for (const Record& record : s.records) {
    capnp::MallocMessageBuilder message;
    auto chunk = message.initRoot<wire::BrokerMessage>().initStreamOutput();
    chunk.setRequestId(1);
    chunk.setKind(static_cast<wire::StreamKind>(record.kind));
    chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(record.data.data()), record.data.size()));
    chunk.setTimeNanos(record.timeNanos);
    emit(renderer.output(message.getRoot<wire::BrokerMessage>().asReader().getStreamOutput()));
  }
  capnp::MallocMessageBuilder end;
  auto result = end.initRoot<wire::BrokerMessage>().initResponse().initResult();
  if (s.endError) {
    auto error = result.initError();
    error.setKind(wire::ErrorKind::INTERNAL);
    error.setMessage(capnp::Text::Reader(s.endError->c_str(), s.endError->size()));
  } else {
    result.setOk();
  }
  emit(renderer.end(end.getRoot<wire::BrokerMessage>().asReader().getResponse()));
  if (chunked) out += kLastChunk;
  return out;
}

// --- the reference decoder: written from the formats, shares nothing with the frontend ---

/// Splits the response head off; checks the status line and the framing headers.
std::string_view checkHead(std::string_view bytes, const Scenario& s, bool chunked) {
  auto end = bytes.find("\r\n\r\n");
  check(end != std::string_view::npos, "no end of the response head");
  std::string_view head = bytes.substr(0, end + 2);
  auto has = [&](std::string_view line) { return head.find(line) != std::string_view::npos; };
  // dockerd: multiplexed frames without a TTY; their own Content-Type from API 1.42 on.
  const bool multiplexedType = !s.tty && !s.oldApi;
  std::string type = multiplexedType ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
  if (chunked) {
    check(head.starts_with("HTTP/1.1 200 OK\r\n"), "logs status line");
    check(has("\r\nTransfer-Encoding: chunked\r\n"), "logs without chunked coding");
  } else if (s.upgrade) {
    check(head.starts_with("HTTP/1.1 101 UPGRADED\r\n"), "hijack status line");
    check(has("\r\nConnection: Upgrade\r\n") && has("\r\nUpgrade: tcp\r\n"), "hijack upgrade headers");
  } else {
    check(head.starts_with("HTTP/1.1 200 OK\r\n"), "hijack without upgrade: status line");
    type = "application/vnd.docker.raw-stream";
  }
  check(has("\r\nContent-Type: " + type + "\r\n"), "Content-Type");
  return bytes.substr(end + 4);
}

/// HTTP/1.1 chunked coding, strictly as httpChunk should write it: lower-case hex without
/// leading zeros or extensions, no empty chunk but the last, no trailers, nothing after.
std::vector<std::string> decodeChunked(std::string_view body) {
  std::vector<std::string> chunks;
  for (;;) {
    auto lineEnd = body.find("\r\n");
    check(lineEnd != std::string_view::npos && lineEnd > 0 && lineEnd <= 16, "chunk size line");
    std::string_view digits = body.substr(0, lineEnd);
    check(digits == "0" || digits[0] != '0', "chunk size with leading zeros");
    std::uint64_t size = 0;
    for (char c : digits) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      check(digit >= 0, "chunk size is not lower-case hex");
      size = size * 16 + static_cast<unsigned>(digit);
    }
    body.remove_prefix(lineEnd + 2);
    if (size == 0) {
      check(body == "\r\n", "bytes after the last chunk (or trailers)");
      return chunks;
    }
    check(body.size() >= size + 2, "chunk shorter than its size");
    check(body.substr(size, 2) == "\r\n", "chunk data not followed by CRLF");
    chunks.emplace_back(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

struct Frame {
  std::uint8_t stream = 0;
  std::string payload;
};

/// moby pkg/stdcopy: [stream, 0, 0, 0, size (big-endian uint32)] + size bytes. Only
/// stdout, stderr and the system-error stream go to a client; dockerd never writes an
/// empty frame.
std::vector<Frame> decodeStdcopy(std::string_view bytes) {
  std::vector<Frame> frames;
  while (!bytes.empty()) {
    check(bytes.size() >= 8, "truncated frame header");
    auto stream = static_cast<std::uint8_t>(bytes[0]);
    check(stream >= 1 && stream <= 3, "frame stream is not stdout, stderr or system error");
    check(bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0, "frame header padding is not zero");
    std::uint32_t size = 0;
    for (int i = 4; i < 8; ++i) size = (size << 8) | static_cast<std::uint8_t>(bytes[i]);
    check(size > 0, "empty frame");
    check(bytes.size() - 8 >= size, "frame size beyond the stream (or a wrong size)");
    frames.push_back(Frame{stream, std::string(bytes.substr(8, size))});
    bytes.remove_prefix(8 + size);
  }
  return frames;
}

/// RFC3339Nano with all nine digits, in UTC, and the space `docker logs -t` puts after it:
/// Go's jsonmessage.RFC3339NanoFixed. Civil date from days after Howard Hinnant's
/// algorithm; int64 nanoseconds span the years 1677-2262, so the year has four digits.
std::string referenceStamp(std::int64_t unixNanos) {
  std::int64_t seconds = unixNanos / 1'000'000'000;
  std::int64_t nanos = unixNanos % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t secondOfDay = seconds % 86400;
  if (secondOfDay < 0) {
    secondOfDay += 86400;
    --days;
  }
  std::int64_t z = days + 719468;
  std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  std::int64_t dayOfEra = z - era * 146097;
  std::int64_t yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
  std::int64_t dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
  std::int64_t mp = (5 * dayOfYear + 2) / 153;
  std::int64_t day = dayOfYear - (153 * mp + 2) / 5 + 1;
  std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  std::int64_t year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  char text[192];  // GCC cannot see the fields stay small: room for any long long each
  std::snprintf(text, sizeof text, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%09lldZ ", static_cast<long long>(year),
                static_cast<long long>(month), static_cast<long long>(day),
                static_cast<long long>(secondOfDay / 3600), static_cast<long long>(secondOfDay / 60 % 60),
                static_cast<long long>(secondOfDay % 60), static_cast<long long>(nanos));
  return text;
}

/// Takes the stamps off one piece of a timestamped log: one at every line start (a piece
/// that continues its stream's unfinished line starts without one), none elsewhere.
std::string stripStamps(std::string_view piece, std::string_view stamp, bool& midLine) {
  std::string out;
  while (!piece.empty()) {
    if (!midLine) {
      check(piece.starts_with(stamp), "a line does not start with its chunk's timestamp");
      piece.remove_prefix(stamp.size());
      check(!piece.empty(), "a timestamp without a line after it");
    }
    auto newline = piece.find('\n');
    std::size_t take = newline == std::string_view::npos ? piece.size() : newline + 1;
    out.append(piece.substr(0, take));
    midLine = newline == std::string_view::npos;
    piece.remove_prefix(take);
  }
  return out;
}

void checkStream(const Scenario& s, std::string_view bytes) {
  const bool chunked = s.route == StreamRoute::Logs;
  std::string_view body = checkHead(bytes, s, chunked);
  // The chunks that carry container output: one per non-empty stdout or stderr chunk.
  std::vector<const Record*> output;
  for (const Record& r : s.records) {
    bool isOutput = r.kind == static_cast<unsigned>(wire::StreamKind::STDOUT) ||
                    r.kind == static_cast<unsigned>(wire::StreamKind::STDERR);
    if (isOutput && !r.data.empty()) output.push_back(&r);
  }
  const bool systemError = !s.tty && s.endError && !s.endError->empty();

  // Pieces as the client sees them: each HTTP chunk, or frames read off the raw stream.
  std::vector<Frame> pieces;
  if (s.tty) {
    if (chunked) {
      for (auto& chunk : decodeChunked(body)) pieces.push_back(Frame{0, std::move(chunk)});
    } else {
      std::string all;
      for (const Record* r : output) all += r->data;
      check(body == all, "TTY stream differs from the output");
      return;
    }
  } else if (chunked) {
    for (const auto& chunk : decodeChunked(body)) {
      auto frames = decodeStdcopy(chunk);
      check(frames.size() == 1, "an HTTP chunk that is not exactly one frame");
      pieces.push_back(std::move(frames[0]));
    }
  } else {
    pieces = decodeStdcopy(body);
  }

  check(pieces.size() == output.size() + (systemError ? 1 : 0), "number of output pieces");
  bool midLine[2] = {false, false};
  for (std::size_t i = 0; i < output.size(); ++i) {
    const Record& r = *output[i];
    const bool isStderr = r.kind == static_cast<unsigned>(wire::StreamKind::STDERR);
    if (!s.tty) check(pieces[i].stream == (isStderr ? 2 : 1), "frame on the wrong stream");
    std::string payload = pieces[i].payload;
    if (s.timestamps) {
      bool& mid = midLine[isStderr ? 1 : 0];
      payload = stripStamps(payload, referenceStamp(r.timeNanos), mid);
    }
    check(payload == r.data, "output bytes changed on the way");
  }
  if (systemError) {
    check(pieces.back().stream == 3, "the final error is not a system-error frame");
    check(pieces.back().payload == *s.endError, "the final error's text changed");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Scenario scenario = parseScenario(std::string_view(reinterpret_cast<const char*>(data), size));
  checkStream(scenario, renderStream(scenario));
  return 0;
}
