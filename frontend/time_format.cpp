#include "frontend/time_format.hpp"

#include <charconv>
#include <ctime>
#include <limits>

namespace dockerbox::frontend {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

/// "2006-01-02T15:04:05" of the whole seconds, and the nanoseconds left over.
std::pair<std::string, std::int64_t> split(std::int64_t unixNanos) {
  std::int64_t seconds = unixNanos / kNanosPerSecond;
  std::int64_t nanos = unixNanos % kNanosPerSecond;
  if (nanos < 0) {
    nanos += kNanosPerSecond;
    --seconds;
  }
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  return {buffer, nanos};
}

std::string nineDigits(std::int64_t nanos) {
  std::string digits = std::to_string(nanos);
  return std::string(9 - digits.size(), '0') + digits;
}

}  // namespace

std::string rfc3339Nano(std::int64_t unixNanos) {
  auto [whole, nanos] = split(unixNanos);
  if (nanos == 0) return whole + "Z";
  std::string fraction = nineDigits(nanos);
  while (fraction.back() == '0') fraction.pop_back();
  return whole + "." + fraction + "Z";
}

std::string rfc3339NanoFixed(std::int64_t unixNanos) {
  auto [whole, nanos] = split(unixNanos);
  return whole + "." + nineDigits(nanos) + "Z";
}

std::optional<std::int64_t> parseUnixTimestamp(std::string_view text) {
  auto dot = text.find('.');
  std::string_view secondsText = text.substr(0, dot);
  std::string_view fractionText = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (secondsText.empty() || secondsText.size() > 12 || fractionText.size() > 9) return std::nullopt;
  if (dot != std::string_view::npos && fractionText.empty()) return std::nullopt;
  std::int64_t seconds = 0;
  auto [end, ec] = std::from_chars(secondsText.data(), secondsText.data() + secondsText.size(), seconds);
  if (ec != std::errc() || end != secondsText.data() + secondsText.size() || seconds < 0) return std::nullopt;
  // Nanoseconds must fit an int64 (up to the year 2262).
  if (seconds > std::numeric_limits<std::int64_t>::max() / kNanosPerSecond - 1) return std::nullopt;
  std::int64_t nanos = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    char c = i < fractionText.size() ? fractionText[i] : '0';
    if (c < '0' || c > '9') return std::nullopt;
    nanos = nanos * 10 + (c - '0');
  }
  return seconds * kNanosPerSecond + nanos;
}

}  // namespace dockerbox::frontend
