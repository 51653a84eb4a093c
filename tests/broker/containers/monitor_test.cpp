// The monitor (broker/monitor/): seals bind a record's id, owner and config under a key the
// container service never holds, and every act on a container is checked against them and
// against the run the monitor itself started. The service's store is changed here behind its
// back, as a compromised service could change it; the acts must not follow.
#include "broker/monitor/monitor.hpp"
#include "broker/monitor/seal.hpp"

#include "tests/broker/containers/service_fixture.hpp"

#include <capnp/serialize.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;
using monitor::SealKind;
using monitor::Sealer;

Sealer::Key keyOf(std::uint8_t byte) {
  Sealer::Key key{};
  key.fill(byte);
  return key;
}

SealedRecord sample() { return SealedRecord{std::string(64, 'a'), "", 1000, 100, {1, 2, 3}, ""}; }

TEST(Seal, VerifiesOnlyTheRecordItWasMadeFor) {
  const Sealer sealer(keyOf(7));
  SealedRecord r = sample();
  r.seal = sealer.seal(SealKind::Container, r);
  EXPECT_EQ(r.seal.size(), 64U);
  EXPECT_TRUE(sealer.verify(SealKind::Container, r));
  EXPECT_FALSE(sealer.verify(SealKind::Exec, r));
  EXPECT_FALSE(Sealer(keyOf(8)).verify(SealKind::Container, r));
  auto changed = [&](auto change) {
    SealedRecord copy = r;
    change(copy);
    return sealer.verify(SealKind::Container, copy);
  };
  EXPECT_FALSE(changed([](SealedRecord& c) { c.id[0] = 'b'; }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.parent = "x"; }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.ownerUid = 0; }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.ownerGid = 0; }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.config.push_back(0); }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.seal.clear(); }));
  EXPECT_FALSE(changed([](SealedRecord& c) { c.seal[0] = c.seal[0] == '0' ? '1' : '0'; }));
  // Field boundaries are part of what is sealed: moving a byte from one field to the next
  // does not give the same seal.
  SealedRecord a{"ab", "c", 1, 1, {}, ""};
  SealedRecord b{"a", "bc", 1, 1, {}, ""};
  EXPECT_NE(sealer.seal(SealKind::Exec, a), sealer.seal(SealKind::Exec, b));
}

TEST(Seal, KeyFileIsCreatedOnceRootOnlyAndCheckedWhenOpened) {
  state::testing::TempDir dir;
  const std::string path = (dir.path() / "seal.key").string();
  auto first = Sealer::open(path);
  ASSERT_TRUE(first) << first.error().context;
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600U);
  EXPECT_EQ(st.st_size, 32);
  auto again = Sealer::open(path);
  ASSERT_TRUE(again) << again.error().context;
  SealedRecord r = sample();
  r.seal = first->seal(SealKind::Container, r);
  EXPECT_TRUE(again->verify(SealKind::Container, r)) << "the key survives a restart";

  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  EXPECT_FALSE(Sealer::open(path)) << "a key others can read is refused";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  ASSERT_EQ(::truncate(path.c_str(), 16), 0);
  EXPECT_FALSE(Sealer::open(path)) << "a short key is refused";
  const std::string link = (dir.path() / "link.key").string();
  ASSERT_EQ(::symlink(path.c_str(), link.c_str()), 0);
  EXPECT_FALSE(Sealer::open(link)) << "a symlink is not followed";
}

class MonitorTest : public ServiceTest {
 protected:
  /// Changes the service's store behind its back (as a compromised service could).
  void tamper(const std::function<void(state::Db&)>& change) {
    auto db = state::Db::open(dir_.path() / "state.db");
    ASSERT_TRUE(db) << db.error().context;
    change(*db);
  }
  void restart() {
    crash();
    open();
    ASSERT_TRUE(runUntil([&] { return service_->reconcilePasses() > 0; }));
  }
  /// miniboxd's state of one of its containers, straight from the simulator.
  std::string rawState(const std::string& miniboxId) {
    sim::test::Client raw(sim_.socketPath());
    auto reply = raw.request({{"type", "List"}});
    for (const auto& c : reply.at("containers").as_array()) {
      if (c.at("id").as_string() == miniboxId) return std::string(c.at("state").as_string());
    }
    return "gone";
  }
};

TEST_F(MonitorTest, ARecordWhoseOwnerOrConfigChangedIsNotRun) {
  // Created by another user; the store is then changed to say it is the caller's.
  const Caller caller = who_;
  who_ = Caller(Identity{2000, 2000, 1, {}, std::nullopt}, policy::Visibility::Own, caller.grants);
  std::string theirs = create({.name = "theirs", .cmd = std::vector<std::string>{"sleep", "300"}});
  who_ = caller;
  tamper([&](state::Db& db) {
    ASSERT_TRUE(db.exec("UPDATE containers SET creator_uid = 1000, creator_gid = 1000 WHERE docker_id = ?1", theirs));
  });
  auto start = call(&S::handleStartContainer, StartContainerOp{{"theirs"}});
  EXPECT_FALSE(start->ok());
  EXPECT_EQ(container(theirs).state, state::ContainerState::Created);

  // The caller's own container whose stored config was swapped for another one.
  std::string mine = create({.name = "mine", .cmd = std::vector<std::string>{"sleep", "300"}});
  std::string other = create({.name = "other", .cmd = std::vector<std::string>{"sh", "-c", "exit 3"}});
  tamper([&](state::Db& db) {
    ASSERT_TRUE(db.exec("UPDATE containers SET config = (SELECT config FROM containers WHERE docker_id = ?1) "
                        "WHERE docker_id = ?2",
                        other, mine));
  });
  start = call(&S::handleStartContainer, StartContainerOp{{"mine"}});
  EXPECT_FALSE(start->ok());
  EXPECT_EQ(container(mine).state, state::ContainerState::Created);
  EXPECT_TRUE(this->start(other)) << "untouched records still run";
}

TEST_F(MonitorTest, AnUnsealedRecordIsRefusedWithAClearMessage) {
  std::string id = create({.name = "old", .cmd = std::vector<std::string>{"sleep", "300"}});
  tamper([&](state::Db& db) { ASSERT_TRUE(db.exec("UPDATE containers SET seal = '' WHERE docker_id = ?1", id)); });
  auto start = call(&S::handleStartContainer, StartContainerOp{{"old"}});
  EXPECT_EQ(start->kind(), ErrorKind::Forbidden);
  EXPECT_NE(start->error().find("created by an earlier dockerbox"), std::string::npos) << start->error();
}

TEST_F(MonitorTest, ActsReachOnlyTheContainersOwnRun) {
  std::string a = create({.name = "ca", .cmd = std::vector<std::string>{"sleep", "300"}});
  std::string b = create({.name = "cb", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(a));
  ASSERT_TRUE(start(b));
  const std::string runOfA = *container(a).miniboxId;
  // b's record now names a's miniboxd container.
  tamper([&](state::Db& db) {
    ASSERT_TRUE(db.exec("UPDATE containers SET minibox_id = NULL WHERE docker_id = ?1", a));
    ASSERT_TRUE(db.exec("UPDATE containers SET minibox_id = ?1 WHERE docker_id = ?2", runOfA, b));
  });
  auto pause = call(&S::handlePauseContainer, PauseContainerOp{{"cb"}});
  EXPECT_FALSE(pause->ok()) << "a run the monitor holds for another container";
  EXPECT_EQ(rawState(runOfA), "Running");

  // After a restart the monitor holds no run: miniboxd's names tell them apart.
  restart();
  pause = call(&S::handlePauseContainer, PauseContainerOp{{"cb"}});
  EXPECT_FALSE(pause->ok()) << "a run named for another container";
  auto stop = call(&S::handleStopContainer, StopContainerOp{{"cb"}, std::nullopt, std::nullopt});
  EXPECT_EQ(rawState(runOfA), "Running");
}

TEST_F(MonitorTest, OnlyTheJudgedConfigIsSealed) {
  auto op = createOp({.name = "x", .cmd = std::vector<std::string>{"true"}});
  const state::Blob judged = blobFromWords(op.canonicalConfig);
  Caller who = who_;
  EXPECT_FALSE(await(monitor_->sealContainer(who, std::string(64, 'c'), judged, std::nullopt))) << "nothing was judged";
  who.judgedConfig = judged;
  EXPECT_TRUE(await(monitor_->sealContainer(who, std::string(64, 'c'), judged, std::nullopt)));
  state::Blob other = judged;
  other.push_back(0);
  EXPECT_FALSE(await(monitor_->sealContainer(who, std::string(64, 'c'), other, std::nullopt)));
  EXPECT_FALSE(await(monitor_->sealContainer(who, "not-an-id", judged, std::nullopt)));
}

TEST_F(MonitorTest, ImageDefaultsAreMergedAndJudgedBeforeTheSeal) {
  auto op = createOp({.name = "img", .env = {"MINE=1", "SHARED=user"}});
  const state::Blob judged = blobFromWords(op.canonicalConfig);
  Caller who = who_;
  who.judgedConfig = judged;
  ImageDefaults image;
  image.entrypoint = std::vector<std::string>{"/bin/echo"};
  image.cmd = std::vector<std::string>{"from", "image"};
  image.env = {"SHARED=image", "PATH=/bin"};
  image.user = "1000";
  auto seal = await(monitor_->sealContainer(who, std::string(64, 'd'), judged, image));
  ASSERT_TRUE(seal) << seal.error().message;
  auto merged = mergeImageDefaults(judged, image);
  ASSERT_TRUE(merged);
  // The seal is over the merged config, the one the engine stores (start checks it).
  Sealer sealer([] {
    Sealer::Key key{};
    key.fill(0x5a);
    return key;
  }());
  EXPECT_TRUE(sealer.verify(SealKind::Container, SealedRecord{std::string(64, 'd'), "", who.uid, who.gid, *merged, *seal}));
  EXPECT_FALSE(sealer.verify(SealKind::Container, SealedRecord{std::string(64, 'd'), "", who.uid, who.gid, judged, *seal}));
}

TEST(MergeImageDefaults, FollowsDockersRules) {
  auto configOf = [](std::optional<std::vector<std::string>> entrypoint, std::optional<std::vector<std::string>> cmd) {
    capnp::MallocMessageBuilder message;
    auto c = message.initRoot<ipc::wire::ContainerConfig>();
    c.setImage("alpine");
    if (entrypoint) {
      c.setHasEntrypoint(true);
      auto l = c.initEntrypoint(static_cast<unsigned>(entrypoint->size()));
      for (unsigned i = 0; i < entrypoint->size(); ++i) l.set(i, (*entrypoint)[i]);
    }
    if (cmd) {
      c.setHasCmd(true);
      auto l = c.initCmd(static_cast<unsigned>(cmd->size()));
      for (unsigned i = 0; i < cmd->size(); ++i) l.set(i, (*cmd)[i]);
    }
    auto env = c.initEnv(1);
    env.set(0, "A=user");
    auto labels = c.initLabels(1);
    labels[0].setKey("k");
    labels[0].setValue("user");
    c.setStopSignal("SIGUSR1");
    auto words = capnp::messageToFlatArray(message);
    return state::Blob(words.asBytes().begin(), words.asBytes().end());
  };
  ImageDefaults image;
  image.entrypoint = std::vector<std::string>{"/entry"};
  image.cmd = std::vector<std::string>{"image-cmd"};
  image.env = {"A=image", "B=image"};
  image.labels = {{"k", "image"}, {"l", "image"}};
  image.workingDir = "/w";
  image.user = "u";
  image.stopSignal = "SIGINT";
  image.exposedPorts = {"80/tcp"};
  using V = std::vector<std::string>;
  auto run = [&](std::optional<V> entrypoint, std::optional<V> cmd) {
    auto merged = mergeImageDefaults(configOf(std::move(entrypoint), std::move(cmd)), image);
    EXPECT_TRUE(merged);
    auto config = readRunConfig(*merged);
    EXPECT_TRUE(config);
    return *config;
  };
  // Nothing given: both of the image's.
  auto none = run(std::nullopt, std::nullopt);
  EXPECT_EQ(none.entrypoint, V{"/entry"});
  EXPECT_EQ(none.cmd, V{"image-cmd"});
  EXPECT_EQ(none.env, (V{"A=user", "B=image"}));
  EXPECT_EQ(none.workingDir, "/w");
  EXPECT_EQ(none.user, "u");
  // A Cmd given: the image's Entrypoint with it.
  auto cmd = run(std::nullopt, V{"mine"});
  EXPECT_EQ(cmd.entrypoint, V{"/entry"});
  EXPECT_EQ(cmd.cmd, V{"mine"});
  // An Entrypoint given: the image's Cmd is not taken.
  auto entry = run(V{"/mine"}, std::nullopt);
  EXPECT_EQ(entry.entrypoint, V{"/mine"});
  EXPECT_FALSE(entry.cmd && !entry.cmd->empty());
  // --entrypoint "": no Entrypoint, and still not the image's Cmd.
  auto reset = run(V{""}, std::nullopt);
  EXPECT_FALSE(reset.entrypoint && !reset.entrypoint->empty());
  EXPECT_FALSE(reset.cmd && !reset.cmd->empty());
  auto resetWithCmd = run(V{""}, V{"/bin/true"});
  EXPECT_EQ(resetWithCmd.cmd, V{"/bin/true"});
  EXPECT_FALSE(resetWithCmd.entrypoint && !resetWithCmd.entrypoint->empty());
  // Labels: the user's win, the image's fill in; StopSignal: the user's kept.
  auto merged = mergeImageDefaults(configOf(std::nullopt, std::nullopt), image);
  ASSERT_TRUE(merged);
  auto again = mergeImageDefaults(configOf(std::nullopt, std::nullopt), image);
  EXPECT_EQ(*merged, *again) << "the engine and the monitor must get the same bytes";
}

TEST(ImageDefaults, TheImagesVolumesBecomeAnonymousVolumesWhereNothingIsMounted) {
  auto op = decode::createContainer([] {
    static capnp::MallocMessageBuilder message;
    auto c = message.initRoot<wire::ContainerConfig>();
    c.setImage("alpine");
    c.setStopTimeout(-1);
    auto m = c.initHost().initMounts(1)[0];
    m.setType(wire::MountType::VOLUME);
    m.setSource("mine");
    m.setTarget("/data/");
    return c.asReader();
  }());
  ASSERT_TRUE(op) << op.error().message;
  ImageDefaults image;
  image.volumes = {"/data", "/cache", "relative", "/cache/"};
  auto merged = mergeImageDefaults(blobFromWords(op->canonicalConfig), image);
  ASSERT_TRUE(merged) << merged.error().message;
  auto run = readRunConfig(*merged);
  ASSERT_TRUE(run);
  ASSERT_EQ(run->volumes.size(), 2U);
  EXPECT_EQ(run->volumes[0].name, "mine");  // the user's mount covers /data
  EXPECT_EQ(run->volumes[1].name, "");      // anonymous
  EXPECT_EQ(run->volumes[1].containerPath, "/cache");
}

TEST(ImageDefaults, TheImagesHealthcheckFillsWhatTheCreateLeavesEmpty) {
  auto blobWith = [](std::optional<HealthcheckSpec> given) {
    capnp::MallocMessageBuilder message;
    auto c = message.initRoot<wire::ContainerConfig>();
    c.setImage("alpine");
    if (given) {
      c.setHasHealthcheck(true);
      writeHealthcheck(*given, c.initHealthcheck());
    }
    auto words = capnp::messageToFlatArray(message);
    return state::Blob(words.asBytes().begin(), words.asBytes().end());
  };
  ImageDefaults image;
  image.healthcheck = HealthcheckSpec{{"CMD", "/check"}, 5'000'000'000, 2'000'000'000, 0, 0, 7};
  auto merge = [&](std::optional<HealthcheckSpec> given) {
    auto merged = mergeImageDefaults(blobWith(std::move(given)), image);
    EXPECT_TRUE(merged);
    auto run = readRunConfig(*merged);
    EXPECT_TRUE(run && run->healthcheck);
    return *run->healthcheck;
  };
  auto all = merge(std::nullopt);
  EXPECT_EQ(all.test, (std::vector<std::string>{"CMD", "/check"}));
  EXPECT_EQ(all.retries, 7);
  // Field by field: the create's test and interval, the image's timeout and retries.
  auto mixed = merge(HealthcheckSpec{{"CMD-SHELL", "true"}, 1'000'000'000, 0, 0, 0, 0});
  EXPECT_EQ(mixed.test, (std::vector<std::string>{"CMD-SHELL", "true"}));
  EXPECT_EQ(mixed.interval, 1'000'000'000);
  EXPECT_EQ(mixed.timeout, 2'000'000'000);
  EXPECT_EQ(mixed.retries, 7);
  // --no-healthcheck: NONE wins, and nothing runs.
  auto none = merge(HealthcheckSpec{{"NONE"}, 0, 0, 0, 0, 0});
  RunConfig config;
  config.healthcheck = none;
  EXPECT_FALSE(healthProbeOf(config));
  config.healthcheck = mixed;
  auto probe = healthProbeOf(config);
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->argv, (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_EQ(probe->retries, 7);
  EXPECT_EQ(probe->startInterval, std::chrono::seconds(5));  // Docker's default
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing

namespace dockerbox::broker::containers::testing {
namespace {

TEST_F(MonitorTest, AnActIsServedOnlyWithinARequestThatNeedsIt) {
#ifndef DOCKERBOX_TEST_ACTS_CHANNEL
  GTEST_SKIP() << "the acts channel is exercised by containers_acts_test";
#else
  std::string id = create({.name = "mine", .cmd = std::vector<std::string>{"sleep", "300"}});
  ASSERT_TRUE(start(id));
  const auto c = container(id);
  // The caller's own container, but the request in flight is an inspect: no stop within it,
  // and no act at all for a request number nobody registered.
  Caller who = who_;
  auto inspecting = callers_.add(who, "containers.inspect");
  // Named arguments (g++ 12 and coroutine arguments from temporaries, see service_exec.cpp).
  SealedRecord record = sealedOf(c);
  std::string run = *c.miniboxId;
  auto refused = await(remote_->stop(who, record, run));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Forbidden);
  who.requestId = 999'999;
  EXPECT_FALSE(await(remote_->pause(who, record, run)));
  EXPECT_EQ(container(id).state, state::ContainerState::Running);
  // Within a stop it is served.
  Caller stopper = who_;
  auto stopping = callers_.add(stopper, "containers.stop");
  EXPECT_TRUE(await(remote_->stop(stopper, record, run)));
#endif
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
