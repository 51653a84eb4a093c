// RFC 3339 times with nanoseconds. Runs in the engine (dockerbox-engine, unprivileged).
// Input: the "time" field of the broker's own log files, possibly torn by a crash: every
// character is checked.
#include "engine/state/rfc3339.hpp"

#include <chrono>
#include <cstdio>

namespace dockerbox::broker::state {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// `count` decimal digits at `pos`, or -1.
int digitsAt(std::string_view text, std::size_t pos, std::size_t count) {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool charAt(std::string_view text, std::size_t pos, char expected) {
  return pos < text.size() && text[pos] == expected;
}

}  // namespace

std::string formatRfc3339Nano(std::int64_t unixNanos) {
  using namespace std::chrono;
  const sys_time<nanoseconds> time{nanoseconds{unixNanos}};
  const auto day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<nanoseconds> clock{time - day};
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02lld.%09lldZ",
                static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()), static_cast<int>(clock.hours().count()),
                static_cast<int>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()),
                static_cast<long long>(clock.subseconds().count()));
  return buffer;
}

std::optional<std::int64_t> parseRfc3339Nano(std::string_view text) {
  using namespace std::chrono;
  const int y = digitsAt(text, 0, 4);
  const int mo = digitsAt(text, 5, 2);
  const int d = digitsAt(text, 8, 2);
  const int h = digitsAt(text, 11, 2);
  const int mi = digitsAt(text, 14, 2);
  const int s = digitsAt(text, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  if (!charAt(text, 4, '-') || !charAt(text, 7, '-') || !charAt(text, 10, 'T') ||
      !charAt(text, 13, ':') || !charAt(text, 16, ':')) {
    return std::nullopt;
  }
  if (h > 23 || mi > 59 || s > 59) return std::nullopt;  // no leap seconds, like Go

  std::size_t pos = 19;
  std::int64_t fraction = 0;
  if (charAt(text, pos, '.')) {
    ++pos;
    int digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (++digits > 9) return std::nullopt;
      fraction = fraction * 10 + (text[pos] - '0');
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 9; ++i) fraction *= 10;
  }

  std::int64_t offsetSeconds = 0;
  if (charAt(text, pos, 'Z')) {
    ++pos;
  } else if (charAt(text, pos, '+') || charAt(text, pos, '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    const int oh = digitsAt(text, pos + 1, 2);
    const int om = digitsAt(text, pos + 4, 2);
    if (oh < 0 || om < 0 || !charAt(text, pos + 3, ':') || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offsetSeconds = sign * (std::int64_t{oh} * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size()) return std::nullopt;

  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const std::int64_t seconds = sys_days{date}.time_since_epoch().count() * 86400 +
                               std::int64_t{h} * 3600 + mi * 60 + s - offsetSeconds;
  // Years 0000..9999 fit in int64 seconds; the nanosecond product must fit too.
  if (seconds > INT64_MAX / kNanosPerSecond - 1 || seconds < INT64_MIN / kNanosPerSecond + 1) {
    return std::nullopt;
  }
  return seconds * kNanosPerSecond + fraction;
}

}  // namespace dockerbox::broker::state
