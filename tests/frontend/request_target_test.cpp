#include "frontend/request_target.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

TEST(RequestTarget, UnprefixedPathsUseTheNewestVersion) {
  auto target = parseRequestTarget("/containers/json?all=1");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->segments, (std::vector<std::string>{"containers", "json"}));
  EXPECT_FALSE(target->versioned);
  EXPECT_EQ(target->version, (ApiVersion{1, 50}));
  EXPECT_TRUE(target->query.boolValue("all"));
}

TEST(RequestTarget, AcceptsEveryVersionFrom124To150) {
  for (int minor = 24; minor <= 50; ++minor) {
    auto target = parseRequestTarget("/v1." + std::to_string(minor) + "/_ping");
    ASSERT_TRUE(target) << minor;
    EXPECT_TRUE(target->versioned);
    EXPECT_EQ(target->version, (ApiVersion{1, minor}));
    EXPECT_EQ(target->segments, std::vector<std::string>{"_ping"});
  }
}

TEST(RequestTarget, RefusesVersionsOutsideTheRangeWithDockerdsTexts) {
  auto tooNew = parseRequestTarget("/v1.51/version");
  ASSERT_FALSE(tooNew);
  EXPECT_EQ(tooNew.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(tooNew.error().message,
            "client version 1.51 is too new. Maximum supported API version is 1.50");
  auto tooOld = parseRequestTarget("/v1.12/version");
  ASSERT_FALSE(tooOld);
  EXPECT_EQ(tooOld.error().message,
            "client version 1.12 is too old. Minimum supported API version is 1.24, please "
            "upgrade your client to a newer version");
  // Minor versions compare as numbers: 1.5 is older than 1.24.
  EXPECT_FALSE(parseRequestTarget("/v1.5/version"));
  EXPECT_FALSE(parseRequestTarget("/v2.0/version"));
  EXPECT_EQ(parseRequestTarget("/v2.0/version").error().message,
            "client version 2.0 is too new. Maximum supported API version is 1.50");
}

TEST(RequestTarget, MalformedVersionPrefixIsPageNotFound) {
  for (const char* target : {"/v1/_ping", "/v1./_ping", "/v.50/_ping", "/v1.50.1/_ping",
                             "/v12345.1/_ping"}) {
    auto parsed = parseRequestTarget(target);
    ASSERT_FALSE(parsed) << target;
    EXPECT_EQ(parsed.error().kind, ErrorKind::NotFound) << target;
    EXPECT_EQ(parsed.error().message, "page not found");
  }
  // Not a version at all: an ordinary (unknown) first segment.
  auto other = parseRequestTarget("/vfoo/_ping");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->segments.front(), "vfoo");
}

TEST(RequestTarget, RefusesPathsThatCouldBeResolved) {
  for (const char* target :
       {"/containers/../images/json", "/containers/./json", "/..", "/.", "//containers/json",
        "/containers//json", "/containers/json/", "/containers/x%2Fy/json",
        "/containers/x%2fy/json", "/containers/%2E%2E/json", "/containers/%2e/json",
        "/containers/a%2ejson", "/v1.50/../_ping", "/v1.50//_ping", "/containers/%00/json",
        "/containers/%zz/json", "/containers/%4", "/containers/a%0Ab/json",
        "/containers/a\\b/json", "containers/json", "http://host/containers/json", "*"}) {
    auto parsed = parseRequestTarget(target);
    ASSERT_FALSE(parsed) << target;
    EXPECT_EQ(parsed.error().kind, ErrorKind::BadRequest) << target;
  }
}

TEST(RequestTarget, DecodesOrdinaryEscapes) {
  auto target = parseRequestTarget("/containers/my%20name/json");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->segments[1], "my name");
  // The image-name colon arrives raw.
  EXPECT_TRUE(parseRequestTarget("/images/myalpine:v1"));
}

TEST(RequestTarget, ParsesQueryLikeGo) {
  auto target = parseRequestTarget(
      "/containers/json?filters=%7B%22status%22%3A%7B%22running%22%3Atrue%7D%7D&all=True&"
      "size=0&x=a+b&x=second&flag");
  ASSERT_TRUE(target);
  EXPECT_EQ(target->query.get("filters"), R"({"status":{"running":true}})");
  EXPECT_TRUE(target->query.boolValue("all"));
  EXPECT_FALSE(target->query.boolValue("size"));
  EXPECT_FALSE(target->query.boolValue("missing"));
  EXPECT_FALSE(target->query.boolValue("flag"));  // present but empty: false, as dockerd
  EXPECT_EQ(target->query.get("x"), "a b");       // first value wins
  for (const char* value : {"0", "no", "false", "FALSE", "none", " 0 "}) {
    auto parsed = parseRequestTarget(std::string("/x?b=") + value);
    ASSERT_TRUE(parsed);
    EXPECT_FALSE(parsed->query.boolValue("b")) << value;
  }
  for (const char* value : {"1", "true", "True", "yes"}) {
    auto parsed = parseRequestTarget(std::string("/x?b=") + value);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(parsed->query.boolValue("b")) << value;
  }
  EXPECT_FALSE(parseRequestTarget("/x?a=%G1"));
}

}  // namespace
}  // namespace dockerbox::frontend
