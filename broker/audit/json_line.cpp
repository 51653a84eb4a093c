// Runs as root (broker). Input: record values, some chosen by a client (see the header).
#include "broker/audit/json_line.hpp"

#include <array>
#include <cstdio>
#include <ctime>

#include "broker/audit/limits.hpp"

namespace dockerbox::broker::audit {

namespace {

constexpr std::string_view kTruncatedMark = "...(truncated)";

unsigned char byteAt(std::string_view s, std::size_t i) { return static_cast<unsigned char>(s[i]); }

bool isContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

/// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF), storing its code point; 0 if it is not one.
std::size_t decodeUtf8(std::string_view s, std::size_t i, char32_t& cp) {
  unsigned char b0 = byteAt(s, i);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  } else if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    unsigned char b = byteAt(s, i + k);
    if (k == 1 ? (b < lo || b > hi) : !isContinuation(b)) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  return len;
}

void appendU16Escape(std::string& out, unsigned unit) {
  std::array<char, 8> buf{};
  std::snprintf(buf.data(), buf.size(), "\\u%04x", unit & 0xFFFFu);
  out += buf.data();
}

void appendEscaped(std::string& out, char32_t cp) {
  switch (cp) {
    case U'"':
      out += "\\\"";
      return;
    case U'\\':
      out += "\\\\";
      return;
    case U'\n':
      out += "\\n";
      return;
    case U'\r':
      out += "\\r";
      return;
    case U'\t':
      out += "\\t";
      return;
    case U'\b':
      out += "\\b";
      return;
    case U'\f':
      out += "\\f";
      return;
    default:
      break;
  }
  if (cp >= 0x20 && cp < 0x7F) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x10000) {
    appendU16Escape(out, static_cast<unsigned>(cp));  // controls, DEL, and the BMP
  } else {
    char32_t v = cp - 0x10000;  // a surrogate pair
    appendU16Escape(out, static_cast<unsigned>(0xD800 + (v >> 10)));
    appendU16Escape(out, static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
  }
}

}  // namespace

void appendJsonString(std::string& out, std::string_view value, std::size_t maxBytes) {
  bool truncated = false;
  if (value.size() > maxBytes) {
    std::size_t cut = maxBytes;
    while (cut > 0 && isContinuation(byteAt(value, cut))) --cut;  // don't split a character
    value = value.substr(0, cut);
    truncated = true;
  }
  out.push_back('"');
  for (std::size_t i = 0; i < value.size();) {
    char32_t cp = 0;
    std::size_t len = decodeUtf8(value, i, cp);
    if (len == 0) {
      appendEscaped(out, U'\uFFFD');  // one replacement character per invalid byte
      ++i;
    } else {
      appendEscaped(out, cp);
      i += len;
    }
  }
  if (truncated) out += kTruncatedMark;
  out.push_back('"');
}

void JsonObjectWriter::key(std::string_view name) {
  if (out_.size() > 1) out_.push_back(',');
  appendJsonString(out_, name, name.size());
  out_.push_back(':');
}

void JsonObjectWriter::string(std::string_view name, std::string_view value) {
  key(name);
  appendJsonString(out_, value, kMaxFieldBytes);
}

void JsonObjectWriter::number(std::string_view name, std::uint64_t value) {
  key(name);
  out_ += std::to_string(value);
}

void JsonObjectWriter::boolean(std::string_view name, bool value) {
  key(name);
  out_ += value ? "true" : "false";
}

void JsonObjectWriter::null(std::string_view name) {
  key(name);
  out_ += "null";
}

void JsonObjectWriter::raw(std::string_view name, std::string_view json) {
  key(name);
  out_ += json;
}

std::string formatTime(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(time.time_since_epoch()).count();
  auto secs = ns / 1'000'000'000;
  auto frac = ns % 1'000'000'000;
  if (frac < 0) frac += 1'000'000'000, secs -= 1;  // floor for times before 1970
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf.data();
}

bool looksLikeTime(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddddddddZ";
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool ok = kShape[i] == 'd' ? (text[i] >= '0' && text[i] <= '9') : text[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace dockerbox::broker::audit
