// Tests broker/audit/json_line: hostile strings round-trip through a standard JSON parser,
// lines stay ASCII-only with no raw newline, long values are cut safely.
#include "broker/audit/json_line.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "broker/audit/limits.hpp"

namespace dockerbox::broker::audit {
namespace {

std::string encode(std::string_view value, std::size_t maxBytes = kMaxFieldBytes) {
  std::string out;
  appendJsonString(out, value, maxBytes);
  return out;
}

std::string decode(const std::string& json) {
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);
  EXPECT_FALSE(ec) << json;
  return ec ? std::string() : std::string(v.as_string());
}

bool isPrintableAscii(const std::string& s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

TEST(JsonString, HostileValidStringsRoundTrip) {
  const std::string cases[] = {
      "plain",
      "quote \" backslash \\ slash /",
      "newline\nreturn\rtab\tbackspace\bformfeed\f",
      std::string("nul\0byte", 8),
      "escape \x1b[31mred\x1b[0m and DEL \x7f",
      "\x01\x02\x1f",
      "caf\xc3\xa9 \xe2\x82\xac",                // é €
      "emoji \xf0\x9f\x90\xb3",                  // U+1F433, a surrogate pair
      "bidi \xe2\x80\xae override",              // U+202E
      "{\"kind\":\"outcome\"}\n{\"forged\":1}",  // an attempt to inject a record
  };
  for (const auto& value : cases) {
    std::string json = encode(value);
    EXPECT_TRUE(isPrintableAscii(json)) << json;
    EXPECT_EQ(decode(json), value) << json;
  }
}

TEST(JsonString, InvalidUtf8BecomesReplacementCharacters) {
  const std::string kFffd = "\xef\xbf\xbd";
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"a\xff"
       "b",
       "a" + kFffd + "b"},
      {"\xc0\xaf", kFffd + kFffd},                          // overlong '/'
      {"\xed\xa0\x80", kFffd + kFffd + kFffd},              // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", kFffd + kFffd + kFffd + kFffd},  // above U+10FFFF
      {"\xe2\x82", kFffd + kFffd},                          // truncated sequence
      {"\x80", kFffd},                                      // lone continuation byte
  };
  for (const auto& c : cases) {
    std::string json = encode(c.in);
    EXPECT_TRUE(isPrintableAscii(json)) << json;
    EXPECT_EQ(decode(json), c.out) << json;
  }
}

TEST(JsonString, LongValuesAreCutAtACharacterBoundaryAndMarked) {
  EXPECT_EQ(decode(encode(std::string(5000, 'a'))),
            std::string(kMaxFieldBytes, 'a') + "...(truncated)");
  std::string euros;
  for (int i = 0; i < 400; ++i) euros += "\xe2\x82\xac";  // 3 bytes each
  std::string expected;
  for (std::size_t i = 0; i < kMaxFieldBytes / 3; ++i) expected += "\xe2\x82\xac";
  EXPECT_EQ(decode(encode(euros)), expected + "...(truncated)");
}

TEST(JsonObjectWriter, WritesMembersInOrder) {
  JsonObjectWriter w;
  w.number("seq", 18446744073709551615ull);
  w.string("s", "x\"y");
  w.boolean("b", false);
  w.null("n");
  w.raw("a", "[1,2]");
  EXPECT_EQ(std::move(w).close(),
            R"({"seq":18446744073709551615,"s":"x\"y","b":false,"n":null,"a":[1,2]})");
}

TEST(Time, Rfc3339UtcWithNanoseconds) {
  using namespace std::chrono;
  auto t = system_clock::time_point(
      duration_cast<system_clock::duration>(seconds(1'800'000'000) + nanoseconds(5)));
  std::string text = formatTime(t);
  EXPECT_TRUE(looksLikeTime(text)) << text;
  EXPECT_EQ(text.substr(0, 20), "2027-01-15T08:00:00.");
  EXPECT_EQ(formatTime(system_clock::time_point()), "1970-01-01T00:00:00.000000000Z");
  EXPECT_FALSE(looksLikeTime("1970-01-01T00:00:00Z"));
  EXPECT_FALSE(looksLikeTime("1970-01-01 00:00:00.000000000Z"));
}

}  // namespace
}  // namespace dockerbox::broker::audit
