#include "frontend/image_filters.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dockerbox::frontend {
namespace {

std::optional<bool> globMatch(std::string_view pattern, std::string_view name) {
  auto compiled = GlobPattern::compile(pattern);
  if (!compiled) return std::nullopt;
  return compiled->matches(name);
}

struct GlobCase {
  const char* pattern;
  const char* name;
  std::optional<bool> match;  // nullopt: malformed pattern
};

// The cases of Go's src/path/match_test.go (path.Match is what dockerd's reference filter
// runs), with the same expectations.
TEST(GlobPattern, AgreesWithGoPathMatchTable) {
  const GlobCase cases[] = {
      {"abc", "abc", true},
      {"*", "abc", true},
      {"*c", "abc", true},
      {"a*", "a", true},
      {"a*", "abc", true},
      {"a*", "ab/c", false},
      {"a*/b", "abc/b", true},
      {"a*/b", "a/c/b", false},
      {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
      {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
      {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
      {"a*b?c*x", "abxbbxdbxebxczzx", true},
      {"a*b?c*x", "abxbbxdbxebxczzy", false},
      {"ab[c]", "abc", true},
      {"ab[b-d]", "abc", true},
      {"ab[e-g]", "abc", false},
      {"ab[^c]", "abc", false},
      {"ab[^b-d]", "abc", false},
      {"ab[^e-g]", "abc", true},
      {"a\\*b", "a*b", true},
      {"a\\*b", "ab", false},
      {"a?b", "a\u263Ab", true},
      {"a[^a]b", "a\u263Ab", true},
      {"a???b", "a\u263Ab", false},
      {"a[^a][^a][^a]b", "a\u263Ab", false},
      {"[a-\u03B6]*", "\u03B1", true},
      {"*[a-\u03B6]", "A", false},
      {"a?b", "a/b", false},
      {"a*b", "a/b", false},
      {"[\\]a]", "]", true},
      {"[\\-]", "-", true},
      {"[x\\-]", "x", true},
      {"[x\\-]", "-", true},
      {"[x\\-]", "z", false},
      {"[\\-x]", "x", true},
      {"[\\-x]", "-", true},
      {"[\\-x]", "a", false},
      {"[]a]", "]", std::nullopt},
      {"[-]", "-", std::nullopt},
      {"[x-]", "x", std::nullopt},
      {"[x-]", "-", std::nullopt},
      {"[x-]", "z", std::nullopt},
      {"[-x]", "x", std::nullopt},
      {"[-x]", "-", std::nullopt},
      {"[-x]", "a", std::nullopt},
      {"\\", "a", std::nullopt},
      {"[a-b-c]", "a", std::nullopt},
      {"[", "a", std::nullopt},
      {"[^", "a", std::nullopt},
      {"[^bc", "a", std::nullopt},
      {"a[", "a", std::nullopt},
      {"a[", "ab", std::nullopt},
      {"a[", "x", std::nullopt},
      {"a/b[", "x", std::nullopt},
      {"*x", "xxx", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(globMatch(c.pattern, c.name), c.match) << c.pattern << " vs " << c.name;
  }
}

TEST(GlobPattern, EdgeCases) {
  EXPECT_EQ(globMatch("", ""), true);
  EXPECT_EQ(globMatch("", "a"), false);
  EXPECT_EQ(globMatch("*", ""), true);
  EXPECT_EQ(globMatch("**", "a/b"), false);  // no "**": two stars still stop at '/'
  EXPECT_EQ(globMatch("**/*", "a/b"), true);
  EXPECT_EQ(globMatch("[*]", "*"), true);
  EXPECT_EQ(globMatch("[/]", "/"), true);  // a class may match '/', '?' and '*' never do
  EXPECT_EQ(globMatch("?", ""), false);
  EXPECT_EQ(globMatch("[^]", "a"), std::nullopt);
  EXPECT_EQ(globMatch("[a\xff]", "a"), std::nullopt);  // invalid UTF-8 inside a class
  EXPECT_EQ(globMatch("a\xff", "a\xff"), true);        // outside, bytes compare as bytes
  EXPECT_EQ(globMatch("?", "\xff"), true);             // an invalid byte is one character
  EXPECT_EQ(globMatch("??", "\xC0\x80"), true);        // an overlong form is two of them
  EXPECT_EQ(globMatch("???", "\xED\xA0\x80"), true);   // so is a surrogate, byte by byte
  EXPECT_EQ(globMatch("?", "\xF0\x9F\x98\x80"), true);  // U+1F600 is one
  EXPECT_EQ(globMatch("[\xF0\x9F\x98\x80-\xF4\x8F\xBF\xBF]", "\xF0\x9F\x98\x81"), true);
  // path.Match commits to the earliest match of each segment after a star: here '[^a]'
  // takes the 'x', the next star may not cross '/', and Go answers false. So does dockerd.
  EXPECT_EQ(globMatch("*[^a]*b", "x/b"), false);
  // A malformed pattern is refused whatever it is matched against.
  EXPECT_EQ(globMatch("a*[", ""), std::nullopt);
  EXPECT_EQ(globMatch("x[", "y"), std::nullopt);
}

TEST(GlobPattern, LongInputsStayCheap) {
  // Many stars against a long near-miss: a backtracking matcher would take forever.
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "*a";
  pattern += "b";
  EXPECT_EQ(globMatch(pattern, std::string(1000, 'a')), false);
  EXPECT_EQ(globMatch(pattern, std::string(1000, 'a') + "b"), true);
}

TEST(MatchReference, MatchesTheFamiliarTagAndName) {
  auto match = [](const char* pattern, const char* tag) {
    auto compiled = GlobPattern::compile(pattern);
    EXPECT_TRUE(compiled) << pattern;
    return compiled && matchReference(*compiled, tag);
  };
  EXPECT_TRUE(match("alpine", "alpine:latest"));  // `docker images alpine`: any tag
  EXPECT_TRUE(match("alpine", "alpine:3.19"));
  EXPECT_TRUE(match("alpine:3.19", "alpine:3.19"));
  EXPECT_FALSE(match("alpine:3.19", "alpine:latest"));
  EXPECT_TRUE(match("alp*", "alpine:latest"));
  EXPECT_TRUE(match("alpine:3.*", "alpine:3.19"));
  EXPECT_TRUE(match("al?ine", "alpine:edge"));
  EXPECT_TRUE(match("[ab]lpine", "alpine:edge"));
  EXPECT_FALSE(match("alpin", "alpine:latest"));      // whole names, not prefixes
  EXPECT_FALSE(match("ubuntu", "alpine:latest"));
  EXPECT_FALSE(match("*", "me/app:1"));               // '*' stops at '/'
  EXPECT_TRUE(match("*/*", "me/app:1"));
  EXPECT_TRUE(match("me/app", "me/app:1"));
  EXPECT_TRUE(match("ghcr.io/*/*", "ghcr.io/org/x:1"));
  EXPECT_TRUE(match("localhost:5000/app", "localhost:5000/app:1"));
  EXPECT_FALSE(match("localhost", "localhost:5000/app:1"));  // a port is not a tag
  EXPECT_FALSE(match("app", "localhost:5000/app:1"));
  // dockerd matches the familiar form only, so the full name finds nothing there either.
  EXPECT_FALSE(match("docker.io/library/alpine", "alpine:latest"));
}

// --- ImageFilter -------------------------------------------------------------------------

Result<ImageFilter> filterOf(const FilterArgs& args) { return ImageFilter::make(args); }

std::string refusal(const FilterArgs& args, ErrorKind kind = ErrorKind::BadRequest) {
  auto filter = filterOf(args);
  EXPECT_FALSE(filter);
  if (filter) return "";
  EXPECT_EQ(filter.error().kind, kind);
  return filter.error().message;
}

using Tags = std::vector<std::string>;

std::optional<Tags> selected(const FilterArgs& args, Tags tags) {
  auto filter = filterOf(args);
  EXPECT_TRUE(filter) << (filter ? "" : filter.error().message);
  if (!filter) return std::nullopt;
  return filter->select(std::move(tags));
}

TEST(ImageFilter, RefusesUnknownKeysLikeDockerd) {
  EXPECT_EQ(refusal({{"color", {"red"}}}), "invalid filter 'color'");
  EXPECT_EQ(refusal({{"status", {"running"}}}), "invalid filter 'status'");  // a ps key
  EXPECT_EQ(refusal({{"Reference", {"alpine"}}}), "invalid filter 'Reference'");
}

TEST(ImageFilter, DanglingTakesGoBooleans) {
  for (const char* yes : {"true", "1"}) {
    EXPECT_EQ(selected({{"dangling", {yes}}}, {"alpine:latest"}), std::nullopt) << yes;
    EXPECT_EQ(selected({{"dangling", {yes}}}, {}), Tags{}) << yes;
  }
  for (const char* no : {"false", "0"}) {
    EXPECT_EQ(selected({{"dangling", {no}}}, {"alpine:latest"}), Tags{"alpine:latest"}) << no;
    EXPECT_EQ(selected({{"dangling", {no}}}, {}), std::nullopt) << no;
  }
  EXPECT_EQ(selected({{"dangling", {"true", "1"}}}, {}), Tags{});
  EXPECT_EQ(refusal({{"dangling", {"maybe"}}}), "invalid filter 'dangling=[maybe]'");
  EXPECT_EQ(refusal({{"dangling", {"TRUE"}}}), "invalid filter 'dangling=[TRUE]'");
  EXPECT_EQ(refusal({{"dangling", {"true", "false"}}}), "invalid filter 'dangling=[true false]'");
  EXPECT_EQ(refusal({{"dangling", {}}}), "invalid filter 'dangling'");
}

TEST(ImageFilter, ReferenceKeepsMatchingTagsOnly) {
  const Tags tags{"alpine:latest", "alpine:3.19", "myalpine:1"};
  EXPECT_EQ(selected({{"reference", {"alpine"}}}, tags), (Tags{"alpine:latest", "alpine:3.19"}));
  EXPECT_EQ(selected({{"reference", {"alpine:3.19"}}}, tags), Tags{"alpine:3.19"});
  EXPECT_EQ(selected({{"reference", {"*alpine"}}}, tags), tags);
  EXPECT_EQ(selected({{"reference", {"ubuntu"}}}, tags), std::nullopt);
  // Values are alternatives.
  EXPECT_EQ(selected({{"reference", {"ubuntu", "myalpine"}}}, tags), Tags{"myalpine:1"});
  // An untagged image has nothing to match.
  EXPECT_EQ(selected({{"reference", {"*"}}}, {}), std::nullopt);
  // No values: no filter (dockerd reads none).
  EXPECT_EQ(selected({{"reference", {}}}, tags), tags);
}

TEST(ImageFilter, RefusesMalformedReferencePatterns) {
  EXPECT_EQ(refusal({{"reference", {"alpine["}}}),
            "invalid filter 'reference=alpine[': syntax error in pattern");
  EXPECT_EQ(refusal({{"reference", {"alpine", "x\\"}}}),
            "invalid filter 'reference=x\\': syntax error in pattern");
}

TEST(ImageFilter, LabelsMatchOnlyAbsenceBecauseMiniboxdImagesHaveNone) {
  const Tags tags{"alpine:latest"};
  EXPECT_EQ(selected({{"label", {"k"}}}, tags), std::nullopt);
  EXPECT_EQ(selected({{"label", {"k=v"}}}, tags), std::nullopt);
  EXPECT_EQ(selected({{"label", {"k!=v"}}}, tags), std::nullopt);  // needs k with another value
  EXPECT_EQ(selected({{"label", {"k!"}}}, tags), tags);            // "no label k"
  EXPECT_EQ(selected({{"label!", {"k"}}}, tags), tags);            // --filter label!=k
  EXPECT_EQ(selected({{"label!", {"k=v"}}}, tags), std::nullopt);
  EXPECT_EQ(selected({{"label!", {"k!"}}}, tags), std::nullopt);    // flipped twice: needs k
  // Every label condition must hold.
  EXPECT_EQ(selected({{"label!", {"a", "b"}}}, tags), tags);
  EXPECT_EQ(selected({{"label!", {"a"}}, {"label", {"b"}}}, tags), std::nullopt);
}

TEST(ImageFilter, CreationTimeFiltersAreNotImplemented) {
  for (const char* key : {"before", "since", "until"}) {
    std::string message = refusal({{key, {"alpine"}}}, ErrorKind::NotImplemented);
    EXPECT_EQ(message, std::string("the ") + key +
                           " filter is not supported by dockerbox: miniboxd reports no image "
                           "creation times to compare");
    EXPECT_EQ(selected({{key, {}}}, {"alpine:latest"}), Tags{"alpine:latest"}) << key;
  }
  // An unknown key is reported before anything else, as dockerd validates keys first.
  EXPECT_EQ(refusal({{"before", {"alpine"}}, {"bogus", {"x"}}}), "invalid filter 'bogus'");
}

TEST(ImageFilter, DifferentKeysMustAllHold) {
  const Tags tags{"alpine:latest"};
  EXPECT_EQ(selected({{"reference", {"alpine"}}, {"dangling", {"false"}}}, tags), tags);
  EXPECT_EQ(selected({{"reference", {"alpine"}}, {"dangling", {"true"}}}, tags), std::nullopt);
  EXPECT_EQ(selected({{"reference", {"alpine"}}, {"label", {"k"}}}, tags), std::nullopt);
  EXPECT_EQ(selected({{"reference", {"alpine"}}, {"label!", {"k"}}}, tags), tags);
  EXPECT_EQ(selected({}, tags), tags);
}

}  // namespace
}  // namespace dockerbox::frontend
