#include "broker/minibox/wire_values.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::minibox {
namespace {

TEST(ExitCode, SignalDeathsBecome128PlusN) {
  EXPECT_EQ(dockerExitCode(0), 0);
  EXPECT_EQ(dockerExitCode(1), 1);
  EXPECT_EQ(dockerExitCode(127), 127);
  EXPECT_EQ(dockerExitCode(-9), 137);
  EXPECT_EQ(dockerExitCode(-15), 143);
  EXPECT_EQ(dockerExitCode(-2), 130);
  EXPECT_EQ(dockerExitCode(-1), 255);  // no signal number known
  EXPECT_EQ(dockerExitCode(-128), 255);
  EXPECT_EQ(dockerExitCode(INT32_MIN), 255);
}

TEST(Rfc3339, OffsetsAndFractions) {
  constexpr std::int64_t kBase = 1776852672LL * 1'000'000'000;  // 2026-04-22T10:11:12Z
  const std::pair<const char*, std::int64_t> cases[] = {
      {"2026-04-22T10:11:12+00:00", kBase},
      {"2026-04-22T10:11:12Z", kBase},
      {"2026-04-22T10:11:12z", kBase},
      {"2026-04-22T10:11:12.1+00:00", kBase + 100'000'000},
      {"2026-04-22T10:11:12.123+00:00", kBase + 123'000'000},
      {"2026-04-22T10:11:12.123456+00:00", kBase + 123'456'000},
      {"2026-04-22T10:11:12.123456789+00:00", kBase + 123'456'789},
      {"2026-04-22T12:11:12+02:00", kBase},
      {"2026-04-22T09:41:12-00:30", kBase},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59Z", -1'000'000'000},
      {"2024-02-29T00:00:00Z", 1709164800LL * 1'000'000'000},
      {"2262-01-01T00:00:00Z", 9214646400LL * 1'000'000'000},
      {"1678-01-01T00:00:00Z", -9214560000LL * 1'000'000'000},
  };
  for (const auto& [text, nanos] : cases) {
    auto parsed = parseRfc3339Nanos(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().context;
    EXPECT_EQ(*parsed, nanos) << text;
  }
}

TEST(Rfc3339, Malformed) {
  const char* bad[] = {"",
                       "2026-04-22",
                       "2026-04-22T10:11:12",
                       "2026-04-22T10:11:12+0000",
                       "2026-13-01T00:00:00Z",
                       "2026-02-30T00:00:00Z",
                       "2025-02-29T00:00:00Z",
                       "2026-04-22T24:00:00Z",
                       "2026-04-22T10:11:12.Z",
                       "2026-04-22T10:11:12.1234567890Z",
                       "2026-04-22T10:11:12Z ",
                       "26-04-22T10:11:12Z",
                       "2026-04-22T10:11:12+24:00",
                       "2026-04-22X10:11:12Z",
                       "0000-01-01T00:00:00Z",
                       "9999-12-31T23:59:59Z",
                       "1677-01-01T00:00:00Z",
                       "2263-01-01T00:00:00Z"};
  for (const char* text : bad) EXPECT_FALSE(parseRfc3339Nanos(text)) << "accepted: " << text;
}

TEST(Base64, RoundTripsEveryLength) {
  std::vector<std::uint8_t> bytes;
  for (int length = 0; length < 40; ++length) {
    auto text = base64Encode(bytes);
    EXPECT_EQ(text.size() % 4, 0U);
    auto back = base64Decode(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<std::uint8_t>(length * 37 + 250));
  }
  EXPECT_EQ(base64Encode(std::vector<std::uint8_t>{'l', 's', '\n'}), "bHMK");
  EXPECT_EQ(base64Encode(std::vector<std::uint8_t>{0xfb, 0xff}), "+/8=");
}

TEST(Base64, StrictPadding) {
  for (const char* bad : {"YQ", "YQ=", "Y===", "====", "=YQ=", "YQ==YQ==", "aGVsbG8K\n", "aG!s"}) {
    EXPECT_FALSE(base64Decode(bad)) << "accepted: " << bad;
  }
}

}  // namespace
}  // namespace dockerbox::broker::minibox
