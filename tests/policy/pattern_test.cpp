#include "policy/pattern.hpp"

#include <gtest/gtest.h>

#include <string>

namespace dockerbox::policy {
namespace {

TEST(PathPatternCompile, AcceptsTheGrammar) {
  for (const char* text : {"/", "/**", "{home}", "{home}/**", "/srv/shared/{user}/**",
                           "/srv/{user}-data/*.d", "/data/{uid}", "/a/*/b", "/a/b*c/**/d"}) {
    EXPECT_TRUE(PathPattern::compile(text)) << text;
  }
}

TEST(PathPatternCompile, RefusesAmbiguousOrWideningPatterns) {
  const char* bad[] = {
      "",             // empty
      "srv/data",     // relative
      "/srv/../etc",  // ".." would be a way out
      "/srv/./data",  // "."
      "/srv//data",   // empty segment
      "/srv/data/",   // trailing slash
      "/srv/a**",     // "**" inside a segment
      "/srv/***",     // likewise
      "/srv/{nope}",  // unknown placeholder
      "{home}x",      // {home} glued to text
      "{home}/",      // trailing slash after {home}
      "/x/{home}",    // {home} not at the start
      "/x/{user",     // unclosed
      "/x/user}",     // unmatched
      "~/data",       // not our syntax
  };
  for (const char* text : bad) {
    auto compiled = PathPattern::compile(text);
    EXPECT_FALSE(compiled) << "accepted: " << text;
  }
  EXPECT_FALSE(PathPattern::compile(std::string("/a\0b", 4)));
  EXPECT_FALSE(PathPattern::compile("/" + std::string(kMaxPatternBytes, 'a')));
}

struct MatchCase {
  const char* pattern;
  const char* path;
  bool expected;
};

class PathPatternMatch : public ::testing::TestWithParam<MatchCase> {};

TEST_P(PathPatternMatch, Matches) {
  const auto& c = GetParam();
  auto pattern = PathPattern::compile(c.pattern);
  ASSERT_TRUE(pattern) << c.pattern;
  Placeholders alice{"alice", "/home/alice", 1000};
  EXPECT_EQ(pattern->matches(c.path, alice), c.expected) << c.pattern << " vs " << c.path;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PathPatternMatch,
    ::testing::Values(
        // "**" is zero or more whole segments.
        MatchCase{"{home}/**", "/home/alice", true},
        MatchCase{"{home}/**", "/home/alice/src/x", true},
        MatchCase{"{home}/**", "/home/alice2/x", false},
        MatchCase{"{home}/**", "/home/alice2", false}, MatchCase{"{home}/**", "/home", false},
        MatchCase{"{home}/**", "/home/bob", false}, MatchCase{"{home}", "/home/alice", true},
        MatchCase{"{home}", "/home/alice/x", false},
        MatchCase{"/home/alice/**", "/home/alicex", false},
        // "*" is exactly one segment, or part of one.
        MatchCase{"/srv/*", "/srv/a", true}, MatchCase{"/srv/*", "/srv", false},
        MatchCase{"/srv/*", "/srv/a/b", false}, MatchCase{"/srv/*.d", "/srv/conf.d", true},
        MatchCase{"/srv/*.d", "/srv/conf.d/x", false}, MatchCase{"/a/**/z", "/a/z", true},
        MatchCase{"/a/**/z", "/a/b/c/z", true}, MatchCase{"/a/**/z", "/a/b/c/zz", false},
        // Placeholders.
        MatchCase{"/srv/shared/{user}/**", "/srv/shared/alice/x", true},
        MatchCase{"/srv/shared/{user}/**", "/srv/shared/bob/x", false},
        MatchCase{"/srv/{user}-data", "/srv/alice-data", true},
        MatchCase{"/data/{uid}", "/data/1000", true}, MatchCase{"/data/{uid}", "/data/1001", false},
        // "/" and "/**".
        MatchCase{"/", "/", true}, MatchCase{"/", "/etc", false},
        MatchCase{"/**", "/etc/shadow", true},
        // Paths that are not normalised never match, whatever the pattern.
        MatchCase{"/**", "/home/alice/../bob", false}, MatchCase{"/**", "/home/alice/./x", false},
        MatchCase{"/**", "//home/alice", false}, MatchCase{"/**", "/home/alice/", false},
        MatchCase{"/**", "home/alice", false}, MatchCase{"/**", "", false},
        MatchCase{"{home}/**", "/home/alice/..", false}));

TEST(PathPatternMatch, UnusableHomeGrantsNothing) {
  auto pattern = PathPattern::compile("{home}/**");
  ASSERT_TRUE(pattern);
  for (const char* home :
       {"/", "", "home/alice", "/home/alice/", "/home/../etc", "//", "/home//alice"}) {
    Placeholders p{"alice", home, 1000};
    std::string why;
    EXPECT_FALSE(pattern->matches("/etc/shadow", p, &why)) << "home=" << home;
    EXPECT_FALSE(pattern->matches("/home/alice/x", p)) << "home=" << home;
    EXPECT_NE(why.find("unusable"), std::string::npos) << "home=" << home;
  }
  auto bare = PathPattern::compile("{home}");
  ASSERT_TRUE(bare);
  EXPECT_FALSE(bare->matches("/", Placeholders{"alice", "/", 0}));
}

TEST(PathPatternMatch, SubstitutedValuesAreLiteral) {
  auto pattern = PathPattern::compile("{home}/**");
  ASSERT_TRUE(pattern);
  Placeholders starry{"alice", "/home/*", 1000};
  EXPECT_FALSE(pattern->matches("/home/bob/x", starry));
  EXPECT_TRUE(pattern->matches("/home/*/x", starry));
  auto user = PathPattern::compile("/srv/{user}/**");
  ASSERT_TRUE(user);
  EXPECT_FALSE(user->matches("/srv/bob", Placeholders{"*", "/home/x", 1}));
  EXPECT_FALSE(user->matches("/srv/x", Placeholders{"**", "/home/x", 1}));
}

TEST(PathPatternMatch, UnusableUserGrantsNothing) {
  auto pattern = PathPattern::compile("/srv/{user}/**");
  ASSERT_TRUE(pattern);
  for (const char* user : {"", ".", "..", "a/b"}) {
    EXPECT_FALSE(pattern->matches("/srv", Placeholders{user, "/home/x", 1})) << user;
    EXPECT_FALSE(pattern->matches("/srv/x", Placeholders{user, "/home/x", 1})) << user;
  }
}

TEST(ImagePattern, CompileRules) {
  for (const char* text :
       {"**", "docker.io/library/*", "ghcr.io/myorg/**", "docker.io/library/alpine:*"}) {
    EXPECT_TRUE(ImagePattern::compile(text)) << text;
  }
  for (const char* text :
       {"", "*", "alpine", "alpine:*", "docker.io/***", "docker.io/a b", "docker.io/\x01"}) {
    EXPECT_FALSE(ImagePattern::compile(text)) << text;
  }
}

TEST(ImagePattern, Matching) {
  struct Case {
    const char* pattern;
    const char* reference;
    bool expected;
  };
  const Case cases[] = {
      {"**", "docker.io/library/alpine:latest", true},
      {"docker.io/library/*", "docker.io/library/alpine:latest", true},
      {"docker.io/library/*", "docker.io/evil/alpine:latest", false},
      {"docker.io/library/*", "docker.io/library/a/b:1", false},
      {"ghcr.io/myorg/*", "ghcr.io/myorg/app:1", true},
      {"ghcr.io/myorg/*", "ghcr.io/myorg/sub/app:1", false},
      {"ghcr.io/myorg/**", "ghcr.io/myorg/sub/app:1", true},
      {"ghcr.io/myorg/**", "ghcr.io/myorgevil/app:1", false},
      {"docker.io/library/alpine:*", "docker.io/library/alpine:3.19", true},
      {"docker.io/library/alpine:*", "docker.io/library/alpine-evil:3.19", false},
      {"docker.io/library/alpine", "docker.io/library/alpine:latest", false},
  };
  for (const auto& c : cases) {
    auto pattern = ImagePattern::compile(c.pattern);
    ASSERT_TRUE(pattern) << c.pattern;
    EXPECT_EQ(pattern->matches(c.reference), c.expected) << c.pattern << " vs " << c.reference;
  }
}

TEST(NormalisedPath, Table) {
  EXPECT_TRUE(isNormalisedAbsolutePath("/"));
  EXPECT_TRUE(isNormalisedAbsolutePath("/a/b"));
  EXPECT_TRUE(isNormalisedAbsolutePath("/a/.b/..c"));
  for (const char* p : {"", "a", "/a/", "//", "/a//b", "/./a", "/a/.", "/a/..", "/../a"}) {
    EXPECT_FALSE(isNormalisedAbsolutePath(p)) << p;
  }
}

}  // namespace
}  // namespace dockerbox::policy
