#include "frontend/stream_framing.hpp"

#include "frontend/engine_identity.hpp"
#include "frontend/time_format.hpp"

#include <cstdio>

namespace dockerbox::frontend {

std::string_view streamContentType(bool tty, ApiVersion version) {
  bool multiplexed = !tty && (version.major > 1 || (version.major == 1 && version.minor >= 42));
  return multiplexed ? kMultiplexedStream : kRawStream;
}

std::string chunkedHead(std::string_view contentType) {
  std::string head = "HTTP/1.1 200 OK\r\n";
  head += "Api-Version: " + std::string(kApiVersion) + "\r\n";
  head += "Content-Type: " + std::string(contentType) + "\r\n";
  head += "Docker-Experimental: false\r\n";
  head += "Ostype: " + std::string(kOsType) + "\r\n";
  head += "Server: " + std::string(kServerHeader) + "\r\n";
  head += "Transfer-Encoding: chunked\r\n\r\n";
  return head;
}

std::string hijackHead(bool upgrade, std::string_view contentType) {
  if (!upgrade) return "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(kRawStream) + "\r\n\r\n";
  return "HTTP/1.1 101 UPGRADED\r\nContent-Type: " + std::string(contentType) +
         "\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
}

std::string httpChunk(std::string_view data) {
  char size[24];
  int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(data);
  out += "\r\n";
  return out;
}

std::string multiplexFrame(FrameStream stream, std::string_view payload) {
  auto size = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(8 + payload.size());
  out.push_back(static_cast<char>(stream));
  out.append(3, '\0');
  out.push_back(static_cast<char>((size >> 24) & 0xff));
  out.push_back(static_cast<char>((size >> 16) & 0xff));
  out.push_back(static_cast<char>((size >> 8) & 0xff));
  out.push_back(static_cast<char>(size & 0xff));
  out.append(payload);
  return out;
}

std::string LogTimestamper::apply(FrameStream stream, std::string_view data, std::int64_t timeNanos) {
  bool& midLine = midLine_[stream == FrameStream::Stderr ? 1 : 0];
  const std::string stamp = rfc3339NanoFixed(timeNanos) + " ";
  std::string out;
  while (!data.empty()) {
    if (!midLine) out += stamp;
    auto newline = data.find('\n');
    std::size_t take = newline == std::string_view::npos ? data.size() : newline + 1;
    out.append(data.substr(0, take));
    midLine = newline == std::string_view::npos;
    data.remove_prefix(take);
  }
  return out;
}

}  // namespace dockerbox::frontend
