// Ownership isolation (P7) in the container service: a container, its execs and its events
// exist only for callers the policy's visibility lets see them; for everyone else every
// lookup answers exactly as for a container that does not exist.
#include "engine/containers/service.hpp"

#include "tests/broker/containers/service_fixture.hpp"

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;
using policy::Visibility;

Caller as(uid_t uid, gid_t gid, Visibility v, std::vector<gid_t> groups = {}) {
  return Caller(Identity{uid, gid, 1, std::move(groups), std::nullopt}, v,
                Grants{policy::Privileged::Allowed, policy::RootUser::Allowed});
}

class VisibilityTest : public ServiceTest {
 protected:
  // The fixture's calls run as who_ (uid 1000, gid 1000, visibility own).
  Caller owner_ = who_;
  Caller other_ = as(1001, 1001, Visibility::Own);
};

TEST_F(VisibilityTest, OthersContainersAreNoSuchContainer) {
  std::string id = create({.name = "mine", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  who_ = other_;
  for (std::string ref : {id, id.substr(0, 10), std::string("mine"), std::string("/mine")}) {
    const std::string missing = "No such container: " + ref;
    EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{ref}})->error(), missing);
    EXPECT_EQ(call(&S::handleStopContainer, StopContainerOp{{ref}, std::nullopt, std::nullopt})->error(), missing);
    EXPECT_EQ(call(&S::handleKillContainer, KillContainerOp{{ref}, 9})->error(), missing);
    EXPECT_EQ(call(&S::handleRemoveContainer, RemoveContainerOp{{ref}, true, false})->error(), missing);
    EXPECT_EQ(call(&S::handleRenameContainer, RenameContainerOp{{ref}, "stolen"})->error(), missing);
    EXPECT_EQ(call(&S::handleWaitContainer, WaitContainerOp{{ref}, WaitCondition::NotRunning})->error(), missing);
    EXPECT_EQ(call(&S::handleContainerLogs, ContainerLogsOp{{ref}})->error(), missing);
    CreateExecOp exec;
    exec.container = {ref};
    exec.cmd = {"echo", "hi"};
    EXPECT_EQ(call(&S::handleCreateExec, exec)->error(), missing);
  }
  auto list = call(&S::handleListContainers, ListContainersOp{true, std::nullopt});
  ASSERT_TRUE(list->ok());
  EXPECT_EQ(list->reply().getContainerList().getContainers().size(), 0u);
  EXPECT_EQ(container(id).state, state::ContainerState::Running);  // untouched

  // Visibility "all" (root's rule) sees it.
  who_ = as(0, 0, Visibility::All);
  EXPECT_TRUE(call(&S::handleInspectContainer, InspectContainerOp{{"mine"}})->ok());
  who_ = owner_;
  EXPECT_TRUE(call(&S::handleRemoveContainer, RemoveContainerOp{{"mine"}, true, false})->ok());
}

TEST_F(VisibilityTest, PrefixesAreResolvedAmongVisibleContainersOnly) {
  std::string a = create({.name = "first"});
  who_ = other_;
  std::string b = create({.name = "second"});
  // Whatever prefix the two ids share, the other user's id makes nothing ambiguous.
  std::size_t common = 0;
  while (common < 64 && a[common] == b[common]) ++common;
  who_ = owner_;
  auto found = call(&S::handleInspectContainer, InspectContainerOp{{a.substr(0, common + 1)}});
  EXPECT_TRUE(found->ok()) << found->error();
  if (common > 0) {
    auto shared = call(&S::handleInspectContainer, InspectContainerOp{{a.substr(0, common)}});
    EXPECT_TRUE(shared->ok()) << shared->error();  // not "multiple IDs found"
  }
}

TEST_F(VisibilityTest, NameConflictDoesNotNameAnInvisibleHolder) {
  std::string id = create({.name = "taken"});
  who_ = other_;
  auto conflict = call(&S::handleCreateContainer, createOp({.name = "taken"}));
  EXPECT_EQ(conflict->kind(), ErrorKind::Conflict);
  EXPECT_EQ(conflict->error().find(id.substr(0, 12)), std::string::npos) << conflict->error();
  EXPECT_NE(conflict->error().find("\"/taken\" is already in use"), std::string::npos) << conflict->error();
  // The owner still gets Docker's full message.
  who_ = owner_;
  auto own = call(&S::handleCreateContainer, createOp({.name = "taken"}));
  EXPECT_NE(own->error().find(id), std::string::npos) << own->error();
}

TEST_F(VisibilityTest, GroupVisibilityFollowsTheCreatorsPrimaryGroup) {
  std::string id = create({.name = "team"});  // created by uid 1000, gid 1000
  who_ = as(1002, 1000, Visibility::Group);   // same primary group
  EXPECT_TRUE(call(&S::handleInspectContainer, InspectContainerOp{{"team"}})->ok());
  who_ = as(1003, 1003, Visibility::Group, {1000});  // supplementary member of it
  EXPECT_TRUE(call(&S::handleInspectContainer, InspectContainerOp{{"team"}})->ok());
  who_ = as(1004, 1004, Visibility::Group, {2000});
  EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{id}})->kind(), ErrorKind::NotFound);
  who_ = as(1002, 1000, Visibility::Own);  // the same user under an "own" rule
  EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{id}})->kind(), ErrorKind::NotFound);
}

TEST_F(VisibilityTest, ExecsAndEventsOfOthersAreHidden) {
  const std::int64_t t0 = nowNanos();
  std::string id = create({.name = "ex", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  CreateExecOp exec;
  exec.container = {id};
  exec.cmd = {"echo", "hi"};
  auto created = call(&S::handleCreateExec, exec);
  ASSERT_TRUE(created->ok()) << created->error();
  std::string execId = created->reply().getExecCreated();
  who_ = other_;
  EXPECT_EQ(call(&S::handleInspectExec, InspectExecOp{execId})->error(), "No such exec instance: " + execId);
  EXPECT_EQ(call(&S::handleStartExec, StartExecOp{execId, true, false})->kind(), ErrorKind::NotFound);
  const std::int64_t t1 = nowNanos();
  auto events = call(&S::handleEvents, EventsOp{t0, t1, {}});
  ASSERT_TRUE(events->ok()) << events->error();
  for (const auto& e : events->sink.events) EXPECT_NE(e.actorId, id) << e.action;
  who_ = owner_;
  auto own = call(&S::handleEvents, EventsOp{t0, t1, {}});
  EXPECT_FALSE(own->sink.events.empty());
  EXPECT_TRUE(call(&S::handleInspectExec, InspectExecOp{execId})->ok());
  auto inspect = call(&S::handleInspectContainer, InspectContainerOp{{id}});
  ASSERT_TRUE(inspect->ok());
  auto ids = inspect->reply().getContainerInspect().getExecIds();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(std::string(ids[0].cStr()), execId);
  // Root (visibility all) sees the container; an exec root creates on it is not shown to its owner.
  who_ = as(0, 0, Visibility::All);
  ASSERT_TRUE(call(&S::handleCreateExec, exec)->ok());
  EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{id}})->reply().getContainerInspect().getExecIds().size(),
            2u);
  who_ = owner_;
  EXPECT_EQ(call(&S::handleInspectContainer, InspectContainerOp{{id}})->reply().getContainerInspect().getExecIds().size(),
            1u);
  EXPECT_TRUE(call(&S::handleRemoveContainer, RemoveContainerOp{{id}, true, false})->ok());
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
