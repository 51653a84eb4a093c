#include "init/exec_path.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "init/config.hpp"

namespace dockerbox::init {
namespace {

class ExecPath : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/exec_path_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (auto sub : {"/a", "/b", "/c"}) ASSERT_EQ(::mkdir((dir_ + sub).c_str(), 0755), 0);
    make("/a/plain", 0644);  // exists, not executable
    make("/b/plain", 0755);
    make("/b/tool", 0755);
    ASSERT_EQ(::mkdir((dir_ + "/c/tool").c_str(), 0755), 0);  // a directory is skipped
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  void make(const std::string& name, mode_t mode) {
    std::ofstream(dir_ + name) << "#!/bin/sh\n";
    ASSERT_EQ(::chmod((dir_ + name).c_str(), mode), 0);
  }
  std::string dir_;
};

TEST_F(ExecPath, SearchesEntriesInOrderSkippingWhatCannotRun) {
  auto found = findExecutable("plain", dir_ + "/a:" + dir_ + "/b");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, dir_ + "/b/plain");
  found = findExecutable("tool", dir_ + "/c:" + dir_ + "/missing:" + dir_ + "/b");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, dir_ + "/b/tool");
}

TEST_F(ExecPath, ReportsNotFoundAsDockerDoes) {
  auto found = findExecutable("nothing", dir_ + "/a:" + dir_ + "/b");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(found.error().message, "exec: \"nothing\": executable file not found in $PATH");
  EXPECT_EQ(exitCodeFor(found.error()), 127);
}

TEST_F(ExecPath, ReportsFoundButNotExecutableAs126) {
  // Even root needs one execute bit (CAP_DAC_OVERRIDE does not grant it), so this holds
  // for every uid.
  auto found = findExecutable("plain", dir_ + "/a");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().kind, ErrorKind::Forbidden);
  EXPECT_EQ(exitCodeFor(found.error()), 126);
}

TEST_F(ExecPath, ADirectoryIsNotAProgram) {
  auto found = findExecutable("tool", dir_ + "/c");
  ASSERT_FALSE(found);
  EXPECT_EQ(exitCodeFor(found.error()), 126);
}

TEST_F(ExecPath, EmptyEntryIsTheCurrentDirectory) {
  char* old = ::getcwd(nullptr, 0);
  ASSERT_EQ(::chdir((dir_ + "/b").c_str()), 0);
  auto found = findExecutable("tool", "/nonexistent::/also-not");
  EXPECT_EQ(::chdir(old), 0);
  std::free(old);
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "./tool");
}

TEST(ExecPathNames, ANameWithASlashIsUsedAsIs) {
  auto found = findExecutable("./x/y", "/bin");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "./x/y");
  found = findExecutable("/no/such", "");
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, "/no/such");
}

TEST(ExecPathEnv, AddsPathAndHomeOnlyWhenAbsent) {
  auto env = programEnvironment({"A=1"}, "/home/alice");
  EXPECT_EQ(env, (std::vector<std::string>{"A=1", std::string(kDefaultPathEnv),
                                           "HOME=/home/alice"}));
  env = programEnvironment({"PATH=/x", "HOME=/h"}, "/home/alice");
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/x", "HOME=/h"}));
  env = programEnvironment({"PATHX=1", "HOMEY=2"}, "/");
  EXPECT_EQ(env.size(), 4U);
}

TEST(ExecPathEnv, PathValueIsTheLastDefinition) {
  EXPECT_EQ(pathValue({"PATH=/a", "X=1", "PATH=/b"}), "/b");
  EXPECT_EQ(pathValue({"XPATH=/a"}), "");
}

TEST(ExecPathExec, MapsExecveErrors) {
  Error missing = execProgram("/no/such/program", {"x"}, {});
  EXPECT_EQ(exitCodeFor(missing), 127);
  EXPECT_EQ(missing.message, "exec: \"/no/such/program\": no such file or directory");
  Error directory = execProgram("/", {"x"}, {});
  EXPECT_EQ(exitCodeFor(directory), 126);
}

}  // namespace
}  // namespace dockerbox::init
