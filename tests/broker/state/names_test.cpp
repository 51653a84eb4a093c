// Tests of Docker's container name and id rules. Runs as the test user. Input: literal names.
#include "broker/state/names.hpp"

#include "engine/state/limits.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace dockerbox::broker::state {
namespace {

TEST(Names, AcceptsDockerNamesAndStripsTheSlash) {
  for (const char* name : {"web", "a1", "A_b.c-d", "0abc", "web.1", "x--"}) {
    auto normalised = normaliseContainerName(name);
    ASSERT_TRUE(normalised) << name;
    EXPECT_EQ(*normalised, name);
  }
  auto slashed = normaliseContainerName("/web");
  ASSERT_TRUE(slashed);
  EXPECT_EQ(*slashed, "web");
}

TEST(Names, RefusesWithDockersText) {
  for (const char* name :
       {"", "/", "a", "/a", "_web", "-web", ".web", "we b", "web/", "//web", "w\xc3\xa9", "a\nb"}) {
    auto normalised = normaliseContainerName(name);
    ASSERT_FALSE(normalised) << name;
    EXPECT_EQ(normalised.error().kind, ErrorKind::BadRequest);
    EXPECT_EQ(normalised.error().message, std::string("Invalid container name (") + name +
                                              "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  }
}

TEST(Names, RefusesOverlongNames) {
  EXPECT_TRUE(normaliseContainerName(std::string(kMaxNameLength, 'a')));
  EXPECT_FALSE(normaliseContainerName(std::string(kMaxNameLength + 1, 'a')));
}

TEST(Names, ConflictAndNotFoundTexts) {
  const std::string id(64, 'a');
  Error conflict = nameConflict("web", id);
  EXPECT_EQ(conflict.kind, ErrorKind::Conflict);
  EXPECT_EQ(conflict.message,
            "Conflict. The container name \"/web\" is already in use by container \"" + id +
                "\". You have to remove (or rename) that container to be able "
                "to reuse that name.");
  Error missing = noSuchContainer("nope");
  EXPECT_EQ(missing.kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.message, "No such container: nope");
}

TEST(Ids, RandomIdsAreFullIdsWithANonNumericShortForm) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto id = randomDockerId();
    ASSERT_TRUE(id);
    EXPECT_TRUE(isFullId(*id)) << *id;
    EXPECT_NE(id->substr(0, 12).find_first_not_of("0123456789"), std::string::npos);
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 200U);
}

TEST(Ids, FullIdAndPrefixRules) {
  EXPECT_TRUE(isFullId(std::string(64, 'f')));
  EXPECT_FALSE(isFullId(std::string(63, 'f')));
  EXPECT_FALSE(isFullId(std::string(64, 'F')));
  EXPECT_FALSE(isFullId(std::string(63, 'f') + "g"));
  EXPECT_TRUE(isIdPrefix("0"));
  EXPECT_TRUE(isIdPrefix("abc123"));
  EXPECT_FALSE(isIdPrefix(""));
  EXPECT_FALSE(isIdPrefix("ABC"));
  EXPECT_FALSE(isIdPrefix("web"));
  EXPECT_FALSE(isIdPrefix(std::string(65, 'a')));
}

TEST(Names, GeneratedNamesFollowDockersRules) {
  std::uint32_t counter = 0;
  auto pick = [&](std::uint32_t n) { return counter++ % n; };
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string name = dockerStyleName(pick, attempt);
    EXPECT_TRUE(normaliseContainerName(name)) << name;
    EXPECT_NE(name.find('_'), std::string::npos);
  }
  EXPECT_EQ(dockerStyleName([](std::uint32_t) { return 0U; }, 0), "admiring_babbage");
  EXPECT_EQ(dockerStyleName([](std::uint32_t) { return 0U; }, 7), "admiring_babbage7");
  EXPECT_LT(randomBelow(10), 10U);
}

}  // namespace
}  // namespace dockerbox::broker::state
