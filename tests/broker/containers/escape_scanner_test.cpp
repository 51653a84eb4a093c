// Detach keys: Docker's key names to bytes (broker/decode_fields.hpp) and the scan of an
// attached client's stdin (engine/containers/escape_scanner.hpp).
#include "broker/decode_fields.hpp"
#include "engine/containers/escape_scanner.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::broker::containers {
namespace {

TEST(DetachKeys, NamesBecomeBytesAsDockerReadsThem) {
  EXPECT_EQ(*decode::detachKeySequence(""), std::string("\x10\x11"));  // ctrl-p,ctrl-q
  EXPECT_EQ(*decode::detachKeySequence("ctrl-x"), std::string("\x18"));
  EXPECT_EQ(*decode::detachKeySequence("ctrl-a,b"), std::string("\x01" "b"));
  EXPECT_EQ(*decode::detachKeySequence("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"),
            std::string("\x00\x1b\x1c\x1d\x1e\x1f", 6));
  EXPECT_EQ(*decode::detachKeySequence("ctrl-P,ctrl-Q"), std::string("\x10\x11"));
  for (const char* bad : {"ctrl-", "ctrl-1", "ctrl-pp", "p,,q", "abc", ",", "ctrl-p,", "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q"}) {
    auto keys = decode::detachKeySequence(bad);
    ASSERT_FALSE(keys) << bad;
    EXPECT_EQ(keys.error().kind, ErrorKind::BadRequest) << bad;
  }
}

TEST(EscapeScanner, PassesWhatPrecedesTheKeysAndNeverTheKeys) {
  EscapeScanner scanner("\x10\x11");
  std::string out;
  EXPECT_FALSE(scanner.feed("hello\n", out));
  EXPECT_TRUE(scanner.feed("abc\x10\x11" "dropped", out));
  EXPECT_EQ(out, "hello\nabc");
}

TEST(EscapeScanner, HoldsAPartialMatchAcrossChunks) {
  EscapeScanner scanner("\x10\x11");
  std::string out;
  EXPECT_FALSE(scanner.feed("a\x10", out));
  EXPECT_EQ(out, "a");
  EXPECT_TRUE(scanner.feed("\x11", out));
  EXPECT_EQ(out, "a");
}

TEST(EscapeScanner, AFailedMatchPassesOnAndMayStartAgain) {
  EscapeScanner scanner("\x10\x11");
  std::string out;
  EXPECT_FALSE(scanner.feed("\x10x\x10\x10", out));
  EXPECT_EQ(out, "\x10x\x10");  // the last ctrl-p is held
  EXPECT_TRUE(scanner.feed("\x11", out));
  EXPECT_EQ(out, "\x10x\x10");
  EscapeScanner ending("\x10\x11");
  std::string rest;
  EXPECT_FALSE(ending.feed("z\x10", rest));
  ending.flush(rest);  // the client's input ended: the held byte was not the sequence
  EXPECT_EQ(rest, "z\x10");
}

}  // namespace
}  // namespace dockerbox::broker::containers
