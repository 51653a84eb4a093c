// Tests of the json-file line format. Runs as the test user. Input: literal and generated
// lines, including damaged ones.
#include "engine/state/json_log_line.hpp"

#include "engine/state/limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::broker::state {
namespace {

TEST(JsonLogLine, WritesDockersFormat) {
  EXPECT_EQ(encodeLogLine(LogStream::Stdout, "hello\n", 1795909679055536000),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\","
            "\"time\":\"2026-11-28T23:47:59.055536000Z\"}\n");
  EXPECT_EQ(encodeLogLine(LogStream::Stderr, "a\"b\\c\t\x01", 0),
            "{\"log\":\"a\\\"b\\\\c\\t\\u0001\",\"stream\":\"stderr\","
            "\"time\":\"1970-01-01T00:00:00.000000000Z\"}\n");
}

TEST(JsonLogLine, RoundTripsEveryByteValue) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += "\xe2\x82";  // half a UTF-8 sequence, as a 4 KiB chunk boundary can leave it
  std::string line = encodeLogLine(LogStream::Stderr, bytes, 42);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  auto entry = decodeLogLine(line);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->bytes, bytes);
  EXPECT_EQ(entry->stream, LogStream::Stderr);
  EXPECT_EQ(entry->timeNanos, 42);
}

TEST(JsonLogLine, ReadsDockersOwnLinesAndIgnoresExtraKeys) {
  auto entry = decodeLogLine(
      R"({"log":"hi\n","stream":"stdout","attrs":{"k":"v"},"time":"2026-11-28T23:47:59.0555Z"})");
  // max_depth 2 still admits one nested object such as Docker's "attrs".
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->bytes, "hi\n");
  EXPECT_EQ(entry->timeNanos, 1795909679055500000);
}

TEST(JsonLogLine, RefusesDamagedLines) {
  const std::string good = R"({"log":"x","stream":"stdout","time":"1970-01-01T00:00:00Z"})";
  ASSERT_TRUE(decodeLogLine(good));
  for (std::size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(decodeLogLine(good.substr(0, cut))) << cut;
  }
  for (const char* bad : {
           "null",
           "[]",
           "\"log\"",
           "{}",
           "{\"log\":\"x\",\"stream\":\"stdout\"}",
           R"({"log":1,"stream":"stdout","time":"1970-01-01T00:00:00Z"})",
           R"({"log":"x","stream":"stdin","time":"1970-01-01T00:00:00Z"})",
           R"({"log":"x","stream":"stdout","time":"yesterday"})",
           R"({"log":"x","stream":"stdout","time":0})",
           R"({"log":"x","stream":"stdout","time":"1970-01-01T00:00:00Z"} trailing)",
           R"({"log":"x","stream":"stdout","time":"1970-01-01T00:00:00Z","a":[[[1]]]})",
       }) {
    EXPECT_FALSE(decodeLogLine(bad)) << bad;
  }
}

}  // namespace
}  // namespace dockerbox::broker::state
