// Health checks (engine/containers/service_health.cpp): each one the monitor's healthCheck
// act, run as an exec of the sealed config's command for the owner; State.Health, the
// `health_status` events and docker ps' summary follow Docker's rules.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;
constexpr std::int64_t kMs = 1'000'000;

class HealthTest : public ServiceTest {
 protected:
  std::shared_ptr<Call> inspect(const std::string& id) {
    auto c = call(&S::handleInspectContainer, InspectContainerOp{{id}});
    EXPECT_TRUE(c->ok()) << c->error();
    return c;
  }
  std::string health(const std::string& id) {
    auto c = inspect(id);
    auto reply = c->reply().getContainerInspect();
    return reply.hasHealth() ? std::string(reply.getHealth().getStatus().cStr()) : std::string();
  }
};

TEST_F(HealthTest, APassingCheckMakesTheContainerHealthy) {
  std::string id = create({.name = "fine", .cmd = std::vector<std::string>{"sleep", "300"},
                           .healthTest = {"CMD-SHELL", "echo checked; exit 0"}, .healthInterval = 20 * kMs});
  auto events = spawn(&S::handleEvents, EventsOp{});
  ASSERT_TRUE(start(id));
  EXPECT_EQ(health(id), "starting");
  ASSERT_TRUE(runUntil([&] { return health(id) == "healthy"; }));
  auto c = inspect(id);
  auto reply = c->reply().getContainerInspect();
  EXPECT_EQ(std::string(reply.getSummary().getHealth().cStr()), "healthy");
  auto log = reply.getHealth().getLog();
  ASSERT_GE(log.size(), 1U);
  EXPECT_EQ(log[0].getExitCode(), 0);
  EXPECT_EQ(std::string(log[0].getOutput().cStr()), "checked\n");
  EXPECT_LE(log[0].getStartNanos(), log[0].getEndNanos());
  ASSERT_TRUE(runUntil([&] {
    for (const auto& e : events->sink.events) {
      if (e.action == "health_status: healthy") return true;
    }
    return false;
  }));
  events->cancel.emit(asio::cancellation_type::terminal);
  // At most five results are kept.
  ASSERT_TRUE(runUntil([&] { return inspect(id)->reply().getContainerInspect().getHealth().getLog().size() == 5; }));
  auto stop = call(&S::handleStopContainer, StopContainerOp{{id}, 1, std::nullopt});
  ASSERT_TRUE(stop->ok()) << stop->error();
  // The last status stays with the stopped container; the summary shows none.
  EXPECT_EQ(health(id), "healthy");
  EXPECT_EQ(std::string(inspect(id)->reply().getContainerInspect().getSummary().getHealth().cStr()), "");
}

TEST_F(HealthTest, FailuresInARowMakeItUnhealthy) {
  std::string id = create({.name = "sick", .cmd = std::vector<std::string>{"sleep", "300"},
                           .healthTest = {"CMD", "sh", "-c", "echo no; exit 3"}, .healthInterval = 20 * kMs,
                           .healthRetries = 2});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return health(id) == "unhealthy"; }));
  auto c = inspect(id);
  auto h = c->reply().getContainerInspect().getHealth();
  EXPECT_GE(h.getFailingStreak(), 2);
  EXPECT_EQ(h.getLog()[0].getExitCode(), 3) << h.getLog()[0].getOutput().cStr();
  auto removed = call(&S::handleRemoveContainer, RemoveContainerOp{{id}, true, false});
  ASSERT_TRUE(removed->ok()) << removed->error();
}

TEST_F(HealthTest, FailuresInTheStartPeriodDoNotCount) {
  std::string id = create({.name = "slow", .cmd = std::vector<std::string>{"sleep", "300"},
                           .healthTest = {"CMD-SHELL", "exit 1"}, .healthInterval = 20 * kMs,
                           .healthStartPeriod = 600'000 * kMs, .healthStartInterval = 20 * kMs,
                           .healthRetries = 1});
  ASSERT_TRUE(start(id));
  ASSERT_TRUE(runUntil([&] { return inspect(id)->reply().getContainerInspect().getHealth().getLog().size() >= 2; }));
  auto c = inspect(id);  // the reply lives as long as its call
  auto h = c->reply().getContainerInspect().getHealth();
  EXPECT_EQ(std::string(h.getStatus().cStr()), "starting");
  EXPECT_EQ(h.getFailingStreak(), 0);
  EXPECT_EQ(h.getLog()[0].getExitCode(), 1);
  auto removed = call(&S::handleRemoveContainer, RemoveContainerOp{{id}, true, false});
  ASSERT_TRUE(removed->ok()) << removed->error();
}

TEST_F(HealthTest, NoneAndAbsentChecksRunNothing) {
  std::string none = create({.name = "none", .cmd = std::vector<std::string>{"sleep", "300"},
                             .healthTest = {"NONE"}, .healthInterval = 10 * kMs});
  ASSERT_TRUE(start(none));
  EXPECT_EQ(health(none), "");
  // The monitor runs no check a sealed config does not have, whatever the engine asks.
  auto c = container(none);
  minibox::OutputHandler ignore = [](minibox::OutputStream, std::vector<std::uint8_t>) -> asio::awaitable<void> {
    co_return;
  };
  auto refused = await(monitor_->healthCheck(sealedOf(c), *c.miniboxId, ignore));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Forbidden);
}

TEST_F(HealthTest, InvalidChecksAreRefusedAtCreate) {
  for (auto spec : std::vector<Spec>{{.name = "a", .healthTest = {"CMD"}},
                                      {.name = "b", .healthTest = {"CMD-SHELL", "x", "y"}},
                                      {.name = "c", .healthTest = {"SOMETIMES", "x"}},
                                      {.name = "d", .healthTest = {"CMD", "true"}, .healthInterval = 1000},
                                      {.name = "e", .healthTest = {"CMD", "true"}, .healthRetries = -1}}) {
    capnp::MallocMessageBuilder message;
    auto config = message.initRoot<wire::ContainerConfig>();
    fillConfig(spec, config);
    auto op = decode::createContainer(config.asReader());
    ASSERT_FALSE(op) << spec.name;
    EXPECT_EQ(op.error().kind, ErrorKind::BadRequest) << spec.name;
  }
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
