#include "frontend/filters.hpp"

#include <gtest/gtest.h>

namespace dockerbox::frontend {
namespace {

TEST(Filters, ParsesMapAndListForms) {
  auto map = parseFilters(R"({"label":{"app=x":true},"status":{"running":true,"paused":false}})");
  ASSERT_TRUE(map);
  EXPECT_EQ(map->at("label"), std::vector<std::string>{"app=x"});
  EXPECT_EQ(map->at("status").size(), 2u);  // Go keeps keys whatever their boolean
  auto list = parseFilters(R"({"label":["com.docker.compose.project=proj","a"]})");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->at("label").size(), 2u);
  EXPECT_TRUE(parseFilters("")->empty());
  EXPECT_TRUE(parseFilters("{}")->empty());
}

TEST(Filters, RefusesMalformedJson) {
  for (const char* text : {"{", "[]", "\"x\"", R"({"a":1})", R"({"a":{"b":1}})",
                           R"({"a":[1]})", R"({"a":"b"})", "null", "{\"a\":[\"b\"]} x"}) {
    auto parsed = parseFilters(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::BadRequest);
    EXPECT_EQ(parsed.error().message, "invalid filter");
  }
}

TEST(Filters, SimplePatternsFollowRegexSemanticsForTheSubset) {
  EXPECT_EQ(matchSimplePattern("web", "/web"), true);
  EXPECT_EQ(matchSimplePattern("web", "/myweb1"), true);
  EXPECT_EQ(matchSimplePattern("^/web$", "/web"), true);
  EXPECT_EQ(matchSimplePattern("^/web$", "/web2"), false);
  EXPECT_EQ(matchSimplePattern("^/w", "/web"), true);
  EXPECT_EQ(matchSimplePattern("b$", "/web"), true);
  EXPECT_EQ(matchSimplePattern("w.b", "/web"), true);
  EXPECT_EQ(matchSimplePattern("", "/web"), true);
  EXPECT_EQ(matchSimplePattern("abc", "ab"), false);
  EXPECT_FALSE(matchSimplePattern("(a+)+$", "aaaa").has_value());
  EXPECT_FALSE(matchSimplePattern("a*", "a").has_value());
  EXPECT_FALSE(matchSimplePattern("^^a", "a").has_value());
}

struct Item {
  std::string id;
  std::vector<std::string> names;
  ContainerState state;
  std::optional<std::int32_t> exitCode;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string image = "alpine";
  std::string imageId = "sha256:137ea5060ab618bcac080904085c7f556184f0eb2cfde8cda1d36259fa6176fb";
  std::string health = "";
  ContainerFacts facts() const { return {id, &names, state, exitCode, &labels, image, imageId, health}; }
};

TEST(ContainerFilter, AppliesIdNameStatusLabelAndExited) {
  Item web{"abc123", {"/web"}, ContainerState::Running, std::nullopt, {{"app", "x"}, {"tier", "front"}}};
  Item job{"def456", {"/job"}, ContainerState::Exited, 3, {{"app", "y"}}};
  auto matches = [&](const char* json, const Item& item) {
    auto args = parseFilters(json);
    EXPECT_TRUE(args) << json;
    auto filter = ContainerFilter::make(*args);
    EXPECT_TRUE(filter) << json;
    return filter && filter->matches(item.facts());
  };
  EXPECT_TRUE(matches(R"({"id":["abc"]})", web));
  EXPECT_FALSE(matches(R"({"id":["abc"]})", job));
  EXPECT_TRUE(matches(R"({"name":{"web":true}})", web));
  EXPECT_TRUE(matches(R"({"status":["running","paused"]})", web));
  EXPECT_FALSE(matches(R"({"status":["running"]})", job));
  EXPECT_TRUE(matches(R"({"label":["app=x","tier"]})", web));
  EXPECT_FALSE(matches(R"({"label":["app=x","missing"]})", web));
  EXPECT_FALSE(matches(R"({"label":["app"]})", Item{"1", {"/n"}, ContainerState::Running, {}, {}}));
  EXPECT_TRUE(matches(R"({"exited":["3"]})", job));
  EXPECT_FALSE(matches(R"({"exited":["0"]})", job));
  EXPECT_FALSE(matches(R"({"exited":["3"]})", web));
  EXPECT_TRUE(matches(R"({"label":{"app=y":true},"status":{"exited":true}})", job));
  EXPECT_TRUE(matches(R"({})", job));
  Item checked = web;
  checked.health = "healthy";
  EXPECT_TRUE(matches(R"({"health":["healthy","starting"]})", checked));
  EXPECT_FALSE(matches(R"({"health":["unhealthy"]})", checked));
  EXPECT_TRUE(matches(R"({"health":["none"]})", web));
  EXPECT_FALSE(matches(R"({"health":["none"]})", checked));
}

TEST(ContainerFilter, AncestorMatchesTheImageByReferenceOrId) {
  for (const char* wanted : {"alpine", "alpine:latest", "docker.io/library/alpine", "library/alpine:latest",
                             "137ea506", "sha256:137ea5060ab6"}) {
    EXPECT_TRUE(matchAncestor(wanted, "alpine", "sha256:137ea5060ab618bcac080904085c7f556184f0eb2cfde8cda1d36259fa6176fb"))
        << wanted;
  }
  for (const char* wanted : {"alpine:3.19", "busybox", "", "137eb", "docker.io/other/alpine"}) {
    EXPECT_FALSE(matchAncestor(wanted, "alpine", "sha256:137ea5060ab618bcac080904085c7f556184f0eb2cfde8cda1d36259fa6176fb"))
        << wanted;
  }
  EXPECT_TRUE(matchAncestor("registry.example:5000/team/app:1", "registry.example:5000/team/app:1", ""));
  EXPECT_FALSE(matchAncestor("team/app", "registry.example/team/app", ""));
  Item web{"abc123", {"/web"}, ContainerState::Running, std::nullopt, {}};
  auto filter = ContainerFilter::make(*parseFilters(R"({"ancestor":["busybox","alpine"]})"));
  ASSERT_TRUE(filter);
  EXPECT_TRUE(filter->matches(web.facts()));
}

TEST(ContainerFilter, BeforeAndSinceNameTheirContainerForTheRenderer) {
  auto filter = ContainerFilter::make(*parseFilters(R"({"before":["web"],"since":["a","b"]})"));
  ASSERT_TRUE(filter);
  EXPECT_EQ(filter->beforeRef(), "web");
  EXPECT_EQ(filter->sinceRef(), "b");  // the last value wins, as in dockerd
  EXPECT_FALSE(ContainerFilter::make(*parseFilters(R"({"exited":["0"]})"))->beforeRef());
  EXPECT_TRUE(ContainerFilter::make(*parseFilters(R"({"exited":["0"]})"))->impliesAll());
}

TEST(Filters, DuplicateKeysAndTrailingBytesAreInvalid) {
  EXPECT_FALSE(parseFilters(R"({"label":["a"],"label":["b"]})"));
  EXPECT_FALSE(parseFilters(R"({"label":["a"]} x)"));
  EXPECT_FALSE(parseFilters(R"({"label":{"a":"yes"}})"));
  EXPECT_TRUE(parseFilters(R"({"label":["a"]}  )"));
}

TEST(ContainerFilter, RefusesWhatItCannotApply) {
  auto refused = [](const char* json) {
    auto filter = ContainerFilter::make(*parseFilters(json));
    EXPECT_FALSE(filter) << json;
    return filter ? std::string() : filter.error().message;
  };
  EXPECT_EQ(refused(R"({"status":["sleeping"]})"), "invalid filter 'status=sleeping'");
  EXPECT_EQ(refused(R"({"exited":["x"]})"), "invalid filter 'exited=x'");
  EXPECT_EQ(refused(R"({"health":["ok"]})"), "Unrecognised filter value for health: ok");
  EXPECT_EQ(refused(R"({"volume":["v"]})"), "filter volume is not supported yet");
  EXPECT_EQ(refused(R"({"bogus":["v"]})"), "invalid filter 'bogus'");
  EXPECT_NE(refused(R"j({"name":["(a|b)"]})j").find("only literal patterns"), std::string::npos);
}

}  // namespace
}  // namespace dockerbox::frontend
