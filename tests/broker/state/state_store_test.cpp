// Tests of the container and exec records of StateStore. Runs as the test user. Input:
// generated records, and hand-made databases for the refusal cases.
#include "engine/state/state_store.hpp"

#include "store_fixture.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <set>
#include <string>
#include <vector>

namespace dockerbox::broker::state {
namespace {

using testing::StoreTest;
using testing::TempDir;

TEST_F(StoreTest, CreatesAPrivateDirectoryAndDatabase) {
  struct stat info {};
  ASSERT_EQ(::stat(stateDir().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700U);
  ASSERT_EQ(::stat((stateDir() / "state.db").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600U);
  EXPECT_TRUE(store_->checkIntegrity());
}

TEST_F(StoreTest, CreateThenGetReturnsEveryField) {
  NewContainer s = spec("/web", 123);
  s.labels = {{"z", "1"}, {"a", "2"}, {"m", ""}};
  s.config = {0, 1, 2, 0, 255};
  s.autoRemove = true;
  s.tty = true;
  auto created = store_->createContainer(s);
  ASSERT_TRUE(created);
  EXPECT_TRUE(isFullId(created->dockerId));
  EXPECT_EQ(created->name, "web");
  EXPECT_EQ(created->state, ContainerState::Created);

  auto got = store_->getContainer(created->dockerId);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->dockerId, created->dockerId);
  EXPECT_EQ(got->name, "web");
  EXPECT_EQ(got->image, "alpine");
  EXPECT_EQ(got->imageRef, "docker.io/library/alpine:latest");
  EXPECT_EQ(got->labels, s.labels);  // order kept
  EXPECT_EQ(got->config, s.config);
  EXPECT_EQ(got->creatorUid, 1000U);
  EXPECT_EQ(got->creatorGid, 100U);
  EXPECT_EQ(got->createdAt, 123);
  EXPECT_EQ(got->startedAt, 0);
  EXPECT_FALSE(got->miniboxId);
  EXPECT_FALSE(got->exitCode);
  EXPECT_TRUE(got->autoRemove);
  EXPECT_TRUE(got->tty);

  auto missing = store_->getContainer(std::string(64, 'f'));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.error().message, "No such container: " + std::string(64, 'f'));
}

TEST_F(StoreTest, NameRulesAndConflictTexts) {
  Container web = create("web");
  auto clash = store_->createContainer(spec("/web"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(clash.error().message,
            "Conflict. The container name \"/web\" is already in use by container \"" +
                web.dockerId +
                "\". You have to remove (or rename) that container to be able to reuse that name.");
  auto bad = store_->createContainer(spec("-web"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(bad.error().message,
            "Invalid container name (-web), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  auto list = store_->listContainers();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1U);  // the failed creates left nothing behind
}

TEST_F(StoreTest, GeneratesUniqueValidNames) {
  std::set<std::string> names;
  for (int i = 0; i < 40; ++i) names.insert(create("").name);
  EXPECT_EQ(names.size(), 40U);
  for (const auto& n : names) EXPECT_TRUE(normaliseContainerName(n)) << n;
  auto free = store_->generateName();
  ASSERT_TRUE(free);
  EXPECT_EQ(names.count(*free), 0U);
}

TEST_F(StoreTest, ResolvesLikeDocker) {
  queueIds({"abc1", "abc2", "def"});
  Container a = create("first");
  Container b = create("second");
  Container c = create("abc");  // a name that is also a prefix of two ids

  EXPECT_EQ(store_->resolveContainer(a.dockerId)->dockerId, a.dockerId);  // full id
  EXPECT_EQ(store_->resolveContainer("second")->dockerId, b.dockerId);    // name
  EXPECT_EQ(store_->resolveContainer("/second")->dockerId, b.dockerId);   // name with '/'
  EXPECT_EQ(store_->resolveContainer("abc1")->dockerId, a.dockerId);      // unique prefix
  EXPECT_EQ(store_->resolveContainer("d")->dockerId, c.dockerId);         // short prefix
  EXPECT_EQ(store_->resolveContainer("abc")->dockerId, c.dockerId);       // name wins

  auto ambiguous = store_->resolveContainer("ab");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(ambiguous.error().message, "multiple IDs found with provided prefix: ab");

  for (const char* none : {"abc3", "nothing", "/", "ABC1", "0"}) {
    auto missing = store_->resolveContainer(none);
    ASSERT_FALSE(missing) << none;
    EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
    EXPECT_EQ(missing.error().message, std::string("No such container: ") + none);
  }
  auto empty = store_->resolveContainer("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(empty.error().message, "invalid name or ID supplied: \"\"");
}

TEST_F(StoreTest, AFullIdWinsOverAContainerNamedLikeIt) {
  queueIds({"aa", "bb"});
  Container a = create("first");
  Container named = create(a.dockerId);  // legal: 64 hex is a valid name
  EXPECT_EQ(store_->resolveContainer(a.dockerId)->dockerId, a.dockerId);
  EXPECT_EQ(store_->resolveContainer("/" + a.dockerId)->dockerId, named.dockerId);
}

TEST_F(StoreTest, ListsNewestFirst) {
  create("old", 100);
  create("new", 300);
  create("mid", 200);
  create("mid2", 200);  // same time: later insert first
  auto list = store_->listContainers();
  ASSERT_TRUE(list);
  std::vector<std::string> names;
  for (const auto& c : *list) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"new", "mid2", "mid", "old"}));
}

TEST_F(StoreTest, StateTransitionsAndMiniboxIds) {
  Container a = create("aa");
  Container b = create("bb");
  ASSERT_TRUE(store_->setRunning(a.dockerId, "0123456789abcdef", 10));
  auto running = store_->findByMiniboxId("0123456789abcdef");
  ASSERT_TRUE(running && *running);
  EXPECT_EQ((*running)->dockerId, a.dockerId);
  EXPECT_EQ((*running)->state, ContainerState::Running);
  EXPECT_EQ((*running)->startedAt, 10);

  ASSERT_TRUE(store_->setPaused(a.dockerId));
  EXPECT_EQ(store_->getContainer(a.dockerId)->state, ContainerState::Paused);
  ASSERT_TRUE(store_->setUnpaused(a.dockerId));
  EXPECT_EQ(store_->getContainer(a.dockerId)->state, ContainerState::Running);

  ASSERT_TRUE(store_->setExited(a.dockerId, ExitStatus{137, 20, true, "killed"}));
  auto exited = store_->getContainer(a.dockerId);
  EXPECT_EQ(exited->state, ContainerState::Exited);
  EXPECT_EQ(exited->exitCode, 137);
  EXPECT_TRUE(exited->oomKilled);
  EXPECT_EQ(exited->error, "killed");
  EXPECT_EQ(exited->finishedAt, 20);
  EXPECT_EQ(exited->miniboxId, "0123456789abcdef");  // kept for late events

  ASSERT_TRUE(store_->setRestarting(a.dockerId));
  ASSERT_TRUE(store_->setRestarting(a.dockerId));
  EXPECT_EQ(store_->getContainer(a.dockerId)->restartCount, 2);
  // miniboxd reused the id for b: it now names b only.
  ASSERT_TRUE(store_->setRunning(b.dockerId, "0123456789abcdef", 30));
  EXPECT_EQ((*store_->findByMiniboxId("0123456789abcdef"))->dockerId, b.dockerId);
  EXPECT_FALSE(store_->getContainer(a.dockerId)->miniboxId);
  // A restart clears the exit status, like Docker.
  ASSERT_TRUE(store_->setRunning(a.dockerId, "fedcba9876543210", 40));
  auto restarted = store_->getContainer(a.dockerId);
  EXPECT_FALSE(restarted->exitCode);
  EXPECT_FALSE(restarted->oomKilled);
  EXPECT_EQ(restarted->error, "");
  EXPECT_EQ(restarted->finishedAt, 20);

  ASSERT_TRUE(store_->setDead(b.dockerId, "orphaned", 50));
  EXPECT_EQ(store_->getContainer(b.dockerId)->state, ContainerState::Dead);
  ASSERT_TRUE(store_->setRemoving(b.dockerId));
  auto removing = store_->containersBeingRemoved();
  ASSERT_TRUE(removing);
  ASSERT_EQ(removing->size(), 1U);
  EXPECT_EQ(removing->front().dockerId, b.dockerId);

  const std::string ghost(64, 'e');
  EXPECT_EQ(store_->setRunning(ghost, "1111111111111111", 1).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(store_->setPaused(ghost).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(store_->setExited(ghost, {}).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(store_->setDead(ghost, "", 0).error().kind, ErrorKind::NotFound);
  EXPECT_FALSE(*store_->findByMiniboxId("1111111111111111"));  // the failed call left nothing
}

TEST_F(StoreTest, ReconcileListsOnlyLiveStates) {
  Container created = create("created");
  Container running = create("running");
  Container paused = create("paused");
  Container restarting = create("restarting");
  Container exited = create("exited");
  ASSERT_TRUE(store_->setRunning(running.dockerId, "0000000000000001", 1));
  ASSERT_TRUE(store_->setRunning(paused.dockerId, "0000000000000002", 1));
  ASSERT_TRUE(store_->setPaused(paused.dockerId));
  ASSERT_TRUE(store_->setRestarting(restarting.dockerId));
  ASSERT_TRUE(store_->setExited(exited.dockerId, {0, 1, false, ""}));
  auto live = store_->containersNeedingReconcile();
  ASSERT_TRUE(live);
  std::vector<std::string> names;
  for (const auto& c : *live) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"running", "paused", "restarting"}));
}

TEST_F(StoreTest, Rename) {
  Container a = create("one");
  Container b = create("two");
  ASSERT_TRUE(store_->rename(a.dockerId, "/renamed"));
  EXPECT_EQ(store_->getContainer(a.dockerId)->name, "renamed");
  EXPECT_EQ(store_->resolveContainer("renamed")->dockerId, a.dockerId);
  EXPECT_FALSE(store_->resolveContainer("one"));  // not hex, so no prefix match either
  ASSERT_TRUE(create("one").dockerId.size() == 64);  // the old name is free again

  auto clash = store_->rename(a.dockerId, "two");
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(clash.error().message, nameConflict("two", b.dockerId).message);
  auto same = store_->rename(a.dockerId, "renamed");
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(same.error().message, "Renaming a container with the same name as its current name");
  auto empty = store_->rename(a.dockerId, "");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "Neither old nor new names may be empty");
  EXPECT_EQ(store_->rename(a.dockerId, "x").error().kind, ErrorKind::BadRequest);
  EXPECT_EQ(store_->rename(std::string(64, 'e'), "zz").error().kind, ErrorKind::NotFound);
}

TEST_F(StoreTest, ExecLifecycle) {
  Container c = create("cc");
  NewExec spec{c.dockerId, 1000, 100, {9, 8}, 5, "", ""};
  auto exec = store_->createExec(spec);
  ASSERT_TRUE(exec);
  EXPECT_TRUE(isFullId(exec->execId));
  EXPECT_FALSE(exec->running);
  ASSERT_TRUE(store_->setExecRunning(exec->execId, 4242));
  auto running = store_->getExec(exec->execId);
  ASSERT_TRUE(running);
  EXPECT_TRUE(running->running);
  EXPECT_EQ(running->pid, 4242);
  EXPECT_EQ(running->config, (Blob{9, 8}));
  EXPECT_EQ(running->containerDockerId, c.dockerId);
  ASSERT_TRUE(store_->setExecExited(exec->execId, 3));
  auto done = store_->getExec(exec->execId);
  EXPECT_FALSE(done->running);
  EXPECT_EQ(done->exitCode, 3);

  auto missing = store_->getExec(std::string(64, 'e'));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "No such exec instance: " + std::string(64, 'e'));
  auto orphan = store_->createExec(NewExec{std::string(64, 'e'), 0, 0, {}, 0, "", ""});
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().kind, ErrorKind::NotFound);
}

TEST_F(StoreTest, ClearRunningExecsAfterARestart) {
  Container c = create("cc");
  auto one = store_->createExec(NewExec{c.dockerId, 0, 0, {}, 1, "", ""});
  auto two = store_->createExec(NewExec{c.dockerId, 0, 0, {}, 2, "", ""});
  ASSERT_TRUE(one && two);
  ASSERT_TRUE(store_->setExecRunning(one->execId, 1));
  ASSERT_TRUE(store_->setExecRunning(two->execId, 2));
  reopen();
  EXPECT_EQ(*store_->clearRunningExecs(), 2);
  EXPECT_FALSE(store_->getExec(one->execId)->running);
  EXPECT_FALSE(store_->getExec(one->execId)->exitCode);
}

TEST_F(StoreTest, PrunesOldFinishedExecsButNeverRunningOnes) {
  Container c = create("cc");
  auto first = store_->createExec(NewExec{c.dockerId, 0, 0, {}, 0, "", ""});
  ASSERT_TRUE(first);
  ASSERT_TRUE(store_->setExecRunning(first->execId, 1));
  for (int i = 0; i < kMaxFinishedExecsPerContainer + 10; ++i) {
    ASSERT_TRUE(store_->createExec(NewExec{c.dockerId, 0, 0, {}, i + 1, "", ""}));
  }
  auto execs = store_->listExecs(c.dockerId);
  ASSERT_TRUE(execs);
  EXPECT_EQ(execs->size(), static_cast<std::size_t>(kMaxFinishedExecsPerContainer) + 1);
  EXPECT_EQ(execs->front().execId, first->execId);  // running: kept, and still oldest
  EXPECT_EQ(execs->back().createdAt, kMaxFinishedExecsPerContainer + 10);
}

TEST_F(StoreTest, RemoveCascadesToLabelsAndExecs) {
  NewContainer s = spec("gone");
  s.labels = {{"k", "v"}};
  auto c = store_->createContainer(s);
  ASSERT_TRUE(c);
  Container keep = create("keep");
  auto exec = store_->createExec(NewExec{c->dockerId, 0, 0, {}, 1, "", ""});
  auto kept = store_->createExec(NewExec{keep.dockerId, 0, 0, {}, 1, "", ""});
  ASSERT_TRUE(exec && kept);
  ASSERT_TRUE(store_->removeContainer(c->dockerId));
  EXPECT_EQ(store_->getContainer(c->dockerId).error().kind, ErrorKind::NotFound);
  EXPECT_EQ(store_->getExec(exec->execId).error().kind, ErrorKind::NotFound);
  EXPECT_TRUE(store_->getExec(kept->execId));
  EXPECT_EQ(store_->removeContainer(c->dockerId).error().kind, ErrorKind::NotFound);
  ASSERT_TRUE(store_->createContainer(s));  // name free, labels table clean
  EXPECT_TRUE(store_->checkIntegrity());
}

TEST_F(StoreTest, EverythingSurvivesAReopen) {
  NewContainer s = spec("persist", 77);
  s.labels = {{"owner", "sdk"}};
  s.config = {1, 2, 3};
  auto c = store_->createContainer(s);
  ASSERT_TRUE(c);
  ASSERT_TRUE(store_->setRunning(c->dockerId, "00000000000000aa", 88));
  ASSERT_TRUE(store_->setExited(c->dockerId, {3, 99, false, ""}));
  auto exec = store_->createExec(NewExec{c->dockerId, 1, 2, {7}, 5, "", ""});
  ASSERT_TRUE(exec);
  reopen();
  auto got = store_->resolveContainer("persist");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->dockerId, c->dockerId);
  EXPECT_EQ(got->labels, s.labels);
  EXPECT_EQ(got->config, s.config);
  EXPECT_EQ(got->exitCode, 3);
  EXPECT_EQ(got->state, ContainerState::Exited);
  EXPECT_EQ(got->miniboxId, "00000000000000aa");
  EXPECT_EQ(store_->getExec(exec->execId)->config, (Blob{7}));
}

// Runs one statement on the database file behind the store's back.
void rawExec(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST_F(StoreTest, RefusesANewerSchema) {
  store_.reset();
  rawExec(stateDir() / "state.db", "PRAGMA user_version = 99");
  auto opened = StateStore::open(stateDir());
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().context.find("newer"), std::string::npos);
}

TEST(StateStoreOpen, RefusesAForeignDatabase) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() / "s").c_str(), 0700), 0);
  rawExec(dir.path() / "s" / "state.db", "PRAGMA application_id = 7");
  EXPECT_FALSE(StateStore::open(dir.path() / "s"));
}

TEST(StateStoreOpen, TightensPermissionsAndRefusesSymlinks) {
  TempDir dir;
  ASSERT_EQ(::mkdir((dir.path() / "loose").c_str(), 0755), 0);
  ASSERT_TRUE(StateStore::open(dir.path() / "loose"));
  struct stat info {};
  ASSERT_EQ(::stat((dir.path() / "loose").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700U);
  std::filesystem::create_directory_symlink(dir.path() / "loose", dir.path() / "link");
  EXPECT_FALSE(StateStore::open(dir.path() / "link"));
}

}  // namespace
}  // namespace dockerbox::broker::state
