// /events (replay, live stream, until, filters) and images (pull, inspect, remove) through
// the container service against the minibox simulator.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;

std::vector<std::string> actions(const RecordingSink& sink) {
  std::vector<std::string> out;
  for (const auto& e : sink.events) out.push_back(e.type + " " + e.action);
  return out;
}

std::string attribute(const EventRecord& e, const std::string& key) {
  for (const auto& [k, v] : e.attributes) {
    if (k == key) return v;
  }
  return "<none>";
}

TEST_F(ServiceTest, EventsOfARunAreReplayedInOrder) {
  const std::int64_t t0 = nowNanos();
  std::string id = create({.name = "ev", .cmd = std::vector<std::string>{"sh", "-c", "exit 2"}, .labels = {{"k", "v"}},
                           .autoRemove = true});
  auto wait = spawn(&S::handleWaitContainer, WaitContainerOp{{id}, WaitCondition::Removed});
  ASSERT_TRUE(runUntil([&] { return wait->sink.acceptedCount == 1; }));
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return wait->done(); }));
  const std::int64_t t1 = nowNanos();

  auto replay = call(&S::handleEvents, EventsOp{t0, t1, {{"container", "ev"}}});
  ASSERT_TRUE(replay->ok()) << replay->error();
  EXPECT_EQ(actions(replay->sink), (std::vector<std::string>{"container create", "container start", "container die",
                                                             "container destroy"}));
  const auto& die = replay->sink.events[2];
  EXPECT_EQ(die.actorId, id);
  EXPECT_EQ(attribute(die, "exitCode"), "2");
  EXPECT_EQ(attribute(die, "name"), "ev");
  EXPECT_EQ(attribute(die, "image"), "alpine");
  EXPECT_EQ(attribute(die, "k"), "v");
  auto onlyDie = call(&S::handleEvents, EventsOp{t0, t1, {{"event", "die"}, {"label", "k=v"}}});
  EXPECT_EQ(actions(onlyDie->sink), (std::vector<std::string>{"container die"}));
  auto bad = call(&S::handleEvents, EventsOp{t0, t1, {{"bogus", "x"}}});
  EXPECT_EQ(bad->kind(), ErrorKind::BadRequest);
}

TEST_F(ServiceTest, LiveEventsStreamUntilTheClientLeaves) {
  create({.name = "before", .cmd = std::vector<std::string>{"true"}});
  auto live = spawn(&S::handleEvents, EventsOp{0, 0, {{"type", "container"}}});
  ASSERT_TRUE(runUntil([&] { return live->sink.acceptedCount == 1; }));
  std::string id = create({.name = "after", .cmd = std::vector<std::string>{"true"}});
  ASSERT_TRUE(runUntil([&] { return live->sink.events.size() == 1; }));
  EXPECT_EQ(live->sink.events[0].actorId, id);  // nothing from before the stream began
  auto rename = call(&S::handleRenameContainer, RenameContainerOp{{"after"}, "later"});
  ASSERT_TRUE(runUntil([&] { return live->sink.events.size() == 2; }));
  EXPECT_EQ(live->sink.events[1].action, "rename");
  EXPECT_EQ(attribute(live->sink.events[1], "oldName"), "/after");
  EXPECT_FALSE(live->done());
  live->cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(runUntil([&] { return live->done(); }));
}

TEST_F(ServiceTest, EventsEndAtUntil) {
  const std::int64_t until = nowNanos() + 300'000'000;  // 0.3 s from now
  auto stream = spawn(&S::handleEvents, EventsOp{1, until, {}});
  ASSERT_TRUE(runUntil([&] { return stream->done(); }, 5s));
  EXPECT_TRUE(stream->ok()) << stream->error();
  EXPECT_TRUE(stream->reply().isStreamEnded());
  EXPECT_GE(nowNanos(), until);
}

TEST_F(ServiceTest, ImagesPullInspectRemove) {
  auto inspect = call(&S::handleInspectImage, InspectImageOp{"alpine"});
  ASSERT_TRUE(inspect->ok()) << inspect->error();
  auto summary = inspect->reply().getImageInspect();
  EXPECT_EQ(summary.getRepoTags()[0], "alpine:latest");
  std::string id = summary.getId();
  ASSERT_TRUE(id.starts_with("sha256:"));
  // By id prefix too.
  EXPECT_TRUE(call(&S::handleInspectImage, InspectImageOp{id.substr(7, 12)})->ok());
  auto missing = call(&S::handleInspectImage, InspectImageOp{"nginx"});
  EXPECT_EQ(missing->kind(), ErrorKind::NotFound);
  EXPECT_EQ(missing->error(), "No such image: nginx");

  auto pulled = call(&S::handlePullImage, PullImageOp{"nginx", "latest", "", ""});
  ASSERT_TRUE(pulled->ok()) << pulled->error();
  EXPECT_EQ(pulled->reply().getImagePulled().getReference(), "docker.io/library/nginx:latest");
  EXPECT_FALSE(pulled->reply().getImagePulled().getAlreadyPresent());
  EXPECT_TRUE(call(&S::handlePullImage, PullImageOp{"nginx", "", "", ""})->reply().getImagePulled().getAlreadyPresent());
  EXPECT_TRUE(call(&S::handleInspectImage, InspectImageOp{"nginx:latest"})->ok());
  auto unknown = call(&S::handlePullImage, PullImageOp{"nonexistent-image", "latest", "", ""});
  EXPECT_FALSE(unknown->ok());

  // In use by a container: refused without force, like Docker.
  std::string user = create({.image = "nginx", .cmd = std::vector<std::string>{"true"}});
  auto inUse = call(&S::handleRemoveImage, RemoveImageOp{"nginx", false});
  EXPECT_EQ(inUse->kind(), ErrorKind::Conflict);
  ASSERT_TRUE(call(&S::handleRemoveContainer, RemoveContainerOp{{user}, false, false})->ok());
  auto removed = call(&S::handleRemoveImage, RemoveImageOp{"nginx", false});
  ASSERT_TRUE(removed->ok()) << removed->error();
  EXPECT_EQ(removed->reply().getImageRemoved()[0], "nginx:latest");
  EXPECT_EQ(call(&S::handleInspectImage, InspectImageOp{"nginx"})->kind(), ErrorKind::NotFound);
  EXPECT_EQ(call(&S::handleRemoveImage, RemoveImageOp{"nginx", false})->kind(), ErrorKind::NotFound);
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
