// Runs as root, in the broker. Input: fields of miniboxd replies (trusted peer, checked anyway).
#include "broker/minibox/wire_values.hpp"

#include <array>
#include <limits>
#include <optional>

namespace dockerbox::broker::minibox {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Error badTime(std::string_view text, std::string_view why) {
  return fail(
      ErrorKind::Internal, "malformed timestamp from miniboxd",
      std::string("created_at '") + std::string(text.substr(0, 64)) + "': " + std::string(why));
}

/// Reads exactly `count` decimal digits at `pos`, advancing it.
std::optional<int> digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool expect(std::string_view text, std::size_t& pos, std::string_view chars) {
  if (pos >= text.size() || chars.find(text[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t daysFromCivil(int year, int month, int day) {
  year -= month <= 2 ? 1 : 0;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const int yoe = year - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

int daysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<std::size_t>(month - 1)];
}

/// Optional `.fraction` of 1-9 digits, as nanoseconds.
std::optional<std::int64_t> fraction(std::string_view text, std::size_t& pos) {
  if (pos >= text.size() || text[pos] != '.') return 0;
  ++pos;
  std::int64_t nanos = 0;
  std::size_t count = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (++count > 9) return std::nullopt;
    nanos = nanos * 10 + (text[pos++] - '0');
  }
  if (count == 0) return std::nullopt;
  for (; count < 9; ++count) nanos *= 10;
  return nanos;
}

/// `Z` or `±HH:MM`, as seconds east of UTC.
std::optional<int> offsetSeconds(std::string_view text, std::size_t& pos) {
  if (expect(text, pos, "Zz")) return 0;
  if (pos >= text.size() || (text[pos] != '+' && text[pos] != '-')) return std::nullopt;
  const int sign = text[pos++] == '-' ? -1 : 1;
  auto hours = digits(text, pos, 2);
  if (!hours || !expect(text, pos, ":")) return std::nullopt;
  auto minutes = digits(text, pos, 2);
  if (!minutes || *hours > 23 || *minutes > 59) return std::nullopt;
  return sign * (*hours * 3600 + *minutes * 60);
}

int decodeChar(char c) {
  auto at = kAlphabet.find(c);
  return at == std::string_view::npos ? -1 : static_cast<int>(at);
}

}  // namespace

int dockerExitCode(std::int32_t miniboxExitCode) {
  if (miniboxExitCode >= 0) return miniboxExitCode;
  if (miniboxExitCode == -1 || miniboxExitCode < -127) return 255;
  return 128 - miniboxExitCode;
}

Result<std::int64_t> parseRfc3339Nanos(std::string_view text) {
  std::size_t pos = 0;
  auto year = digits(text, pos, 4);
  if (!year || !expect(text, pos, "-")) return badTime(text, "bad year");
  auto month = digits(text, pos, 2);
  if (!month || *month < 1 || *month > 12 || !expect(text, pos, "-"))
    return badTime(text, "bad month");
  auto day = digits(text, pos, 2);
  if (!day || *day < 1 || *day > daysInMonth(*year, *month) || !expect(text, pos, "Tt "))
    return badTime(text, "bad day");
  auto hour = digits(text, pos, 2);
  if (!hour || *hour > 23 || !expect(text, pos, ":")) return badTime(text, "bad hour");
  auto minute = digits(text, pos, 2);
  if (!minute || *minute > 59 || !expect(text, pos, ":")) return badTime(text, "bad minute");
  auto second = digits(text, pos, 2);
  if (!second || *second > 60) return badTime(text, "bad second");  // 60: leap second
  auto nanos = fraction(text, pos);
  if (!nanos) return badTime(text, "bad fraction");
  auto offset = offsetSeconds(text, pos);
  if (!offset || pos != text.size()) return badTime(text, "bad offset");
  const std::int64_t secs =
      daysFromCivil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + *second - *offset;
  // int64 nanoseconds span only about 1678-2262; anything outside would overflow.
  constexpr std::int64_t kLimitSecs = std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1;
  if (secs < -kLimitSecs || secs > kLimitSecs) return badTime(text, "out of range");
  return secs * 1'000'000'000 + *nanos;
}

std::string base64Encode(std::span<const std::uint8_t> bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    std::uint32_t group = std::uint32_t{bytes[i]} << 16;
    if (left > 1) group |= std::uint32_t{bytes[i + 1]} << 8;
    if (left > 2) group |= bytes[i + 2];
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += left > 1 ? kAlphabet[(group >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[group & 63] : '=';
  }
  return out;
}

Result<std::vector<std::uint8_t>> base64Decode(std::string_view text) {
  auto bad = [&](std::string why) {
    return fail(ErrorKind::Internal, "malformed base64 from miniboxd", std::move(why));
  };
  if (text.size() % 4 != 0)
    return bad("length " + std::to_string(text.size()) + " not a multiple of 4");
  std::vector<std::uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    const std::size_t pad = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const int v = k < 4 - pad ? decodeChar(text[i + k]) : 0;
      if (v < 0) return bad("invalid character at offset " + std::to_string(i + k));
      group = (group << 6) | static_cast<std::uint32_t>(v);
    }
    out.push_back(static_cast<std::uint8_t>(group >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(group >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(group));
  }
  return out;
}

}  // namespace dockerbox::broker::minibox
