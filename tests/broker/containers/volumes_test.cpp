// Volumes in the container service and the monitor (issue 11, item 3): create, inspect,
// list, remove and prune; a container's volumes made at create, refused removal while in
// use, `rm -v`; another user's volume does not exist for the caller.
#include "tests/broker/containers/service_fixture.hpp"

#include <filesystem>

namespace dockerbox::broker::containers::testing {
namespace {

using S = ContainerService;
namespace fs = std::filesystem;

class VolumesTest : public ServiceTest {
 protected:
  std::vector<std::string> listed(KeyValues filters = {}) {
    auto c = call(&S::handleListVolumes, ListVolumesOp{std::move(filters)});
    EXPECT_TRUE(c->ok()) << c->error();
    std::vector<std::string> names;
    if (c->ok()) {
      for (auto v : c->reply().getVolumeList()) names.emplace_back(v.getName());
    }
    return names;
  }
  std::shared_ptr<Call> createVolume(std::string name, KeyValues labels = {}) {
    return call(&S::handleCreateVolume, CreateVolumeOp{std::move(name), "", {}, std::move(labels)});
  }
  bool onDisk(const std::string& name) { return fs::is_directory(volumesDir() + "/" + name + "/_data"); }
};

TEST_F(VolumesTest, CreateInspectListRemove) {
  auto created = createVolume("data", {{"team", "blue"}});
  ASSERT_TRUE(created->ok()) << created->error();
  EXPECT_EQ(std::string(created->reply().getVolume().getName()), "data");
  EXPECT_EQ(std::string(created->reply().getVolume().getMountpoint()), volumesDir() + "/data/_data");
  EXPECT_TRUE(onDisk("data"));
  // Docker answers a create of an existing volume with that volume.
  auto again = createVolume("data");
  ASSERT_TRUE(again->ok()) << again->error();
  EXPECT_EQ(again->reply().getVolume().getLabels().size(), 1U);
  auto inspected = call(&S::handleInspectVolume, InspectVolumeOp{"data"});
  ASSERT_TRUE(inspected->ok()) << inspected->error();
  EXPECT_EQ(std::string(inspected->reply().getVolume().getDriver()), "local");
  EXPECT_EQ(listed(), std::vector<std::string>{"data"});
  EXPECT_EQ(listed({{"label", "team=blue"}}), std::vector<std::string>{"data"});
  EXPECT_TRUE(listed({{"label", "team=red"}}).empty());
  EXPECT_TRUE(listed({{"name", "nothing"}}).empty());
  EXPECT_EQ(call(&S::handleListVolumes, ListVolumesOp{{{"colour", "x"}}})->kind(), ErrorKind::BadRequest);
  ASSERT_TRUE(call(&S::handleRemoveVolume, RemoveVolumeOp{"data", false})->ok());
  EXPECT_FALSE(fs::exists(volumesDir() + "/data"));
  EXPECT_EQ(call(&S::handleRemoveVolume, RemoveVolumeOp{"data", false})->kind(), ErrorKind::NotFound);
  EXPECT_TRUE(call(&S::handleRemoveVolume, RemoveVolumeOp{"data", true})->ok());
  EXPECT_EQ(call(&S::handleInspectVolume, InspectVolumeOp{"data"})->kind(), ErrorKind::NotFound);
}

TEST_F(VolumesTest, AnUnnamedCreateGetsARandomName) {
  auto created = createVolume("");
  ASSERT_TRUE(created->ok()) << created->error();
  const std::string name = created->reply().getVolume().getName();
  EXPECT_EQ(name.size(), 64U);
  EXPECT_TRUE(onDisk(name));
}

TEST_F(VolumesTest, OtherDriversAndDriverOptionsAreRefused) {
  auto nfs = call(&S::handleCreateVolume, CreateVolumeOp{"data", "nfs", {}, {}});
  EXPECT_EQ(nfs->kind(), ErrorKind::NotImplemented);
  auto options = call(&S::handleCreateVolume, CreateVolumeOp{"data", "local", {{"type", "tmpfs"}}, {}});
  EXPECT_EQ(options->kind(), ErrorKind::NotImplemented);
  EXPECT_FALSE(fs::exists(volumesDir() + "/data"));
}

TEST_F(VolumesTest, AContainersVolumesAreMadeAtCreateAndKeptWhileItExists) {
  const std::string id = create({.cmd = std::vector<std::string>{"true"}, .volumes = {{"data", "/data"}, {"", "/anon"}}});
  ASSERT_FALSE(id.empty());
  const std::string anonymous = anonymousVolumeName(id, "/anon");
  EXPECT_TRUE(onDisk("data"));
  EXPECT_TRUE(onDisk(anonymous));
  auto names = listed();
  EXPECT_EQ(names.size(), 2U);
  // inspect names the anonymous volume as `volume ls` does.
  auto inspected = call(&S::handleInspectContainer, InspectContainerOp{{id}});
  ASSERT_TRUE(inspected->ok()) << inspected->error();
  auto mounts = inspected->reply().getContainerInspect().getConfig().getHost().getMounts();
  ASSERT_EQ(mounts.size(), 2U);
  EXPECT_EQ(std::string(mounts[0].getSource()), "data");
  EXPECT_EQ(std::string(mounts[1].getSource()), anonymous);
  EXPECT_EQ(listed({{"dangling", "true"}}).size(), 0U);
  auto busy = call(&S::handleRemoveVolume, RemoveVolumeOp{"data", false});
  EXPECT_EQ(busy->kind(), ErrorKind::Conflict);
  EXPECT_NE(busy->error().find("volume is in use - [" + id + "]"), std::string::npos) << busy->error();
  EXPECT_EQ(call(&S::handleRemoveVolume, RemoveVolumeOp{"data", true})->kind(), ErrorKind::Conflict);
  // Not used by a running container, and not pruned while its container exists.
  auto pruned = call(&S::handlePruneVolumes, PruneVolumesOp{{{"all", "true"}}});
  ASSERT_TRUE(pruned->ok()) << pruned->error();
  EXPECT_EQ(pruned->reply().getVolumesPruned().getDeleted().size(), 0U);
  // rm -v: the anonymous volume goes with the container, the named one stays.
  ASSERT_TRUE(call(&S::handleRemoveContainer, RemoveContainerOp{{id}, false, true})->ok());
  EXPECT_FALSE(onDisk(anonymous));
  EXPECT_TRUE(onDisk("data"));
  EXPECT_EQ(listed(), std::vector<std::string>{"data"});
}

TEST_F(VolumesTest, PruneTakesUnusedAnonymousVolumesAndNamedOnesOnlyWithAll) {
  ASSERT_TRUE(createVolume("named")->ok());
  const std::string id = create({.cmd = std::vector<std::string>{"true"}, .volumes = {{"", "/anon"}}});
  ASSERT_TRUE(call(&S::handleRemoveContainer, RemoveContainerOp{{id}, false, false})->ok());
  const std::string anonymous = anonymousVolumeName(id, "/anon");
  EXPECT_TRUE(onDisk(anonymous));  // plain rm keeps it, as Docker does
  auto pruned = call(&S::handlePruneVolumes, PruneVolumesOp{});
  ASSERT_TRUE(pruned->ok()) << pruned->error();
  ASSERT_EQ(pruned->reply().getVolumesPruned().getDeleted().size(), 1U);
  EXPECT_EQ(std::string(pruned->reply().getVolumesPruned().getDeleted()[0]), anonymous);
  EXPECT_EQ(listed(), std::vector<std::string>{"named"});
  auto all = call(&S::handlePruneVolumes, PruneVolumesOp{{{"all", "true"}}});
  ASSERT_TRUE(all->ok()) << all->error();
  EXPECT_EQ(all->reply().getVolumesPruned().getDeleted().size(), 1U);
  EXPECT_TRUE(listed().empty());
}

TEST_F(VolumesTest, AnotherUsersVolumeDoesNotExistForTheCallerAndItsNameIsTaken) {
  ASSERT_TRUE(createVolume("mine")->ok());
  who_ = Caller(Identity{2000, 2000, 1, {}, std::nullopt}, policy::Visibility::Own);
  EXPECT_TRUE(listed().empty());
  EXPECT_EQ(call(&S::handleInspectVolume, InspectVolumeOp{"mine"})->kind(), ErrorKind::NotFound);
  EXPECT_EQ(call(&S::handleRemoveVolume, RemoveVolumeOp{"mine", false})->kind(), ErrorKind::NotFound);
  auto taken = createVolume("mine");
  EXPECT_EQ(taken->kind(), ErrorKind::Conflict);
  auto mounted = call(&S::handleCreateContainer,
                      createOp({.cmd = std::vector<std::string>{"true"}, .volumes = {{"mine", "/x"}}}));
  EXPECT_EQ(mounted->kind(), ErrorKind::Conflict);
  EXPECT_TRUE(onDisk("mine"));
}

TEST_F(VolumesTest, ABadNameIsRefusedAtCreate) {
  auto bad = call(&S::handleCreateContainer,
                  createOp({.cmd = std::vector<std::string>{"true"}, .volumes = {{"a", "/x"}}}));
  EXPECT_EQ(bad->kind(), ErrorKind::BadRequest);
  EXPECT_NE(bad->error().find("invalid characters for a local volume name"), std::string::npos) << bad->error();
}

}  // namespace
}  // namespace dockerbox::broker::containers::testing
