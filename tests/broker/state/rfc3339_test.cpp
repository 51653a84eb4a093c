// Tests of RFC 3339 formatting and parsing. Runs as the test user. Input: literal times.
#include "engine/state/rfc3339.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::state {
namespace {

TEST(Rfc3339, FormatsFixedNineDigitsInUtc) {
  EXPECT_EQ(formatRfc3339Nano(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(formatRfc3339Nano(1795909679055536000), "2026-11-28T23:47:59.055536000Z");
  EXPECT_EQ(formatRfc3339Nano(951825600LL * 1000000000 + 1), "2000-02-29T12:00:00.000000001Z");
  EXPECT_EQ(formatRfc3339Nano(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(Rfc3339, ParsesWhatItFormats) {
  for (std::int64_t t : {std::int64_t{0}, std::int64_t{1795909679055536000}, std::int64_t{-1},
                         std::int64_t{951825600LL * 1000000000 + 1}}) {
    auto parsed = parseRfc3339Nano(formatRfc3339Nano(t));
    ASSERT_TRUE(parsed) << t;
    EXPECT_EQ(*parsed, t);
  }
}

TEST(Rfc3339, ParsesGoStyleTrimmedFractionsAndOffsets) {
  EXPECT_EQ(parseRfc3339Nano("2026-11-28T23:47:59.0555Z"), 1795909679055500000);
  EXPECT_EQ(parseRfc3339Nano("2026-11-28T23:47:59Z"), 1795909679000000000);
  EXPECT_EQ(parseRfc3339Nano("2026-11-29T00:47:59.055536+01:00"), 1795909679055536000);
  EXPECT_EQ(parseRfc3339Nano("2026-11-28T22:17:59.055536-01:30"), 1795909679055536000);
}

TEST(Rfc3339, RefusesAnythingElse) {
  for (const char* bad :
       {"", "2026", "2026-11-28T23:47:59", "2026-11-28 23:47:59Z", "2026-11-28T23:47:59.Z",
        "2026-11-28T23:47:59.0123456789Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-11-28T24:00:00Z", "2026-11-28T23:60:00Z", "2026-11-28T23:47:60Z",
        "2026-11-28T23:47:59Zjunk", "2026-11-28T23:47:59+0100", "2026-11-28T23:47:59+25:00",
        "-026-11-28T23:47:59Z", "2026-11-28t23:47:59z", "9999-12-31T23:59:59Z",
        "0001-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parseRfc3339Nano(bad)) << bad;
  }
}

}  // namespace
}  // namespace dockerbox::broker::state
