// Bytes of streamed responses: response heads written by hand (so hijacked heads are
// exactly dockerd's), HTTP chunks, Docker's 8-byte multiplexed frames and log timestamps.
// Runs in: a frontend worker. Pure functions; the session writes what they return.
#pragma once

#include "frontend/request_target.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace dockerbox::frontend {

inline constexpr std::string_view kMultiplexedStream = "application/vnd.docker.multiplexed-stream";
inline constexpr std::string_view kRawStream = "application/vnd.docker.raw-stream";

/// dockerd's choice for attach, exec and logs: multiplexed only without a TTY and from API
/// 1.42 on. Older clients still get multiplexed frames under the raw type (client-flows.md
/// 3.2): they decide from Config.Tty, not from this header.
[[nodiscard]] std::string_view streamContentType(bool tty, ApiVersion version);

/// "HTTP/1.1 200 OK" with the engine headers, Content-Type and Transfer-Encoding: chunked.
[[nodiscard]] std::string chunkedHead(std::string_view contentType);

/// The head of a hijacked stream, byte for byte as dockerd writes it: 101 UPGRADED with
/// Connection and Upgrade when the client asked to upgrade, else 200 OK with the raw-stream
/// type (dockerd's answer to a client that did not ask). No engine headers (dockerd adds
/// none to hijacked responses).
[[nodiscard]] std::string hijackHead(bool upgrade, std::string_view contentType);

/// One HTTP/1.1 chunk. Never call with empty data: an empty chunk ends the body.
[[nodiscard]] std::string httpChunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

/// Stream numbers of the multiplexed framing (moby pkg/stdcopy).
enum class FrameStream : std::uint8_t { Stdin = 0, Stdout = 1, Stderr = 2, SystemErr = 3 };

/// [stream, 0, 0, 0, size as big-endian uint32] + payload.
[[nodiscard]] std::string multiplexFrame(FrameStream stream, std::string_view payload);

/// Puts "<RFC3339NanoFixed> " before every line of a log stream, as `docker logs -t` shows.
/// A chunk may end mid-line: the next chunk of the same stream then continues that line
/// without a new timestamp.
class LogTimestamper {
 public:
  [[nodiscard]] std::string apply(FrameStream stream, std::string_view data, std::int64_t timeNanos);

 private:
  bool midLine_[2] = {false, false};  // stdout, stderr
};

}  // namespace dockerbox::frontend
