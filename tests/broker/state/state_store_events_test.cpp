// Tests of the event log of StateStore. Runs as the test user. Input: generated events.
#include "engine/state/state_store.hpp"

#include "store_fixture.hpp"

#include <gtest/gtest.h>

namespace dockerbox::broker::state {
namespace {

using testing::StoreTest;

NewEvent event(std::int64_t time, std::string action, std::optional<std::uint32_t> owner = {}) {
  NewEvent e;
  e.timeNanos = time;
  e.type = "container";
  e.action = std::move(action);
  e.actorId = std::string(64, 'a');
  e.attributes = {{"name", "web"}, {"image", "alpine"}, {"exitCode", std::to_string(time)}};
  e.ownerUid = owner;
  e.ownerGid = owner ? std::optional<std::uint32_t>(*owner + 1) : std::nullopt;
  return e;
}

std::vector<std::string> actions(const Result<std::vector<Event>>& events) {
  std::vector<std::string> out;
  if (!events) return {"<error>"};
  for (const auto& e : *events) out.push_back(e.action);
  return out;
}

TEST_F(StoreTest, AppendsAndReplaysEventsWithAttributes) {
  auto first = store_->appendEvent(event(100, "create", 1000));
  auto second = store_->appendEvent(event(200, "start"));
  ASSERT_TRUE(first && second);
  EXPECT_LT(*first, *second);
  auto events = store_->listEvents({});
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2U);
  const Event& e = events->front();
  EXPECT_EQ(e.seq, *first);
  EXPECT_EQ(e.timeNanos, 100);
  EXPECT_EQ(e.type, "container");
  EXPECT_EQ(e.action, "create");
  EXPECT_EQ(e.actorId, std::string(64, 'a'));
  EXPECT_EQ(e.attributes, event(100, "create").attributes);  // order kept
  EXPECT_EQ(e.ownerUid, 1000U);
  EXPECT_EQ(e.ownerGid, 1001U);
  EXPECT_FALSE(events->back().ownerUid);
  EXPECT_EQ(events->back().attributes.size(), 3U);
}

TEST_F(StoreTest, FiltersEventsBySeqTimeAndOwner) {
  for (int i = 1; i <= 6; ++i) {
    ASSERT_TRUE(store_->appendEvent(event(
        i * 100, "e" + std::to_string(i),
        i % 2 == 0 ? std::optional<std::uint32_t>(1000) : std::optional<std::uint32_t>(2000))));
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(actions(store_->listEvents({.sinceNanos = 300})), (V{"e3", "e4", "e5", "e6"}));
  EXPECT_EQ(actions(store_->listEvents({.untilNanos = 200})), (V{"e1", "e2"}));
  EXPECT_EQ(actions(store_->listEvents({.sinceNanos = 200, .untilNanos = 300})), (V{"e2", "e3"}));
  EXPECT_EQ(actions(store_->listEvents({.ownerUid = 1000})), (V{"e2", "e4", "e6"}));
  EXPECT_EQ(actions(store_->listEvents({.limit = 2})), (V{"e1", "e2"}));
  auto all = store_->listEvents({});
  ASSERT_TRUE(all);
  EXPECT_EQ(actions(store_->listEvents({.afterSeq = (*all)[3].seq})), (V{"e5", "e6"}));
  // Attributes stay with their own events when filtering skips some in between.
  auto owned = store_->listEvents({.ownerUid = 2000});
  ASSERT_TRUE(owned);
  for (const auto& e : *owned) {
    EXPECT_EQ(e.attributes.back().value, std::to_string(e.timeNanos)) << e.action;
  }
}

TEST_F(StoreTest, KeepsOnlyTheNewestEvents) {
  reopen(5);
  for (int i = 1; i <= 12; ++i) ASSERT_TRUE(store_->appendEvent(event(i, std::to_string(i))));
  auto events = store_->listEvents({});
  using V = std::vector<std::string>;
  EXPECT_EQ(actions(events), (V{"8", "9", "10", "11", "12"}));
  for (const auto& e : *events) EXPECT_EQ(e.attributes.size(), 3U);
  // The seq keeps counting and the cascade left no stray attribute rows behind.
  reopen(5);
  auto next = store_->appendEvent(event(13, "13"));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, events->back().seq + 1);
  EXPECT_EQ(actions(store_->listEvents({})), (V{"9", "10", "11", "12", "13"}));
  EXPECT_TRUE(store_->checkIntegrity());
}

TEST_F(StoreTest, EventsOutliveTheirContainer) {
  Container c = create("cc");
  NewEvent e = event(1, "destroy");
  e.actorId = c.dockerId;
  ASSERT_TRUE(store_->appendEvent(e));
  ASSERT_TRUE(store_->removeContainer(c.dockerId));
  EXPECT_EQ(store_->listEvents({})->size(), 1U);
}

}  // namespace
}  // namespace dockerbox::broker::state
