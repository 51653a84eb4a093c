// Docker's /events filter semantics (moby daemon/events/filter.go), table-driven.
#include "engine/containers/event_filter.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::containers {
namespace {

state::Event containerEventOf(std::string action) {
  state::Event e;
  e.type = "container";
  e.action = std::move(action);
  e.actorId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  e.attributes = {{"app", "x"}, {"image", "alpine"}, {"name", "web"}};
  return e;
}

bool matches(const KeyValues& terms, const state::Event& e) {
  auto filter = EventFilter::parse(terms);
  EXPECT_TRUE(filter);
  return filter && filter->matches(e);
}

TEST(EventFilter, UnknownKeysAreRefusedLikeDocker) {
  auto bad = EventFilter::parse({{"colour", "red"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(bad.error().message, "Invalid filter 'colour'");
}

TEST(EventFilter, Matching) {
  auto die = containerEventOf("die");
  auto exec = containerEventOf("exec_start: echo hi");
  state::Event pull;
  pull.type = "image";
  pull.action = "pull";
  pull.actorId = "alpine:latest";
  pull.attributes = {{"name", "alpine"}};

  EXPECT_TRUE(matches({}, die));
  EXPECT_TRUE(matches({{"type", "container"}}, die));
  EXPECT_FALSE(matches({{"type", "image"}}, die));
  EXPECT_TRUE(matches({{"type", "image"}, {"type", "container"}}, die));  // one key: alternatives
  EXPECT_TRUE(matches({{"event", "die"}}, die));
  EXPECT_FALSE(matches({{"event", "start"}}, die));
  EXPECT_TRUE(matches({{"event", "exec_start"}}, exec));
  EXPECT_TRUE(matches({{"container", "web"}}, die));
  EXPECT_TRUE(matches({{"container", "0123456789ab"}}, die));
  EXPECT_FALSE(matches({{"container", "db"}}, die));
  EXPECT_FALSE(matches({{"container", "web"}}, pull));
  EXPECT_TRUE(matches({{"image", "alpine"}}, die));
  EXPECT_TRUE(matches({{"image", "alpine"}}, pull));
  EXPECT_TRUE(matches({{"image", "alpine:latest"}}, pull));
  EXPECT_TRUE(matches({{"label", "app"}}, die));
  EXPECT_TRUE(matches({{"label", "app=x"}}, die));
  EXPECT_FALSE(matches({{"label", "app=y"}}, die));
  EXPECT_FALSE(matches({{"type", "container"}, {"event", "start"}}, die));  // keys: all must hold
  EXPECT_FALSE(matches({{"network", "bridge"}}, die));
  EXPECT_TRUE(matches({{"scope", "local"}}, die));
}

}  // namespace
}  // namespace dockerbox::broker::containers
