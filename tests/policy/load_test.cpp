#include "policy/policy.hpp"

#include "policy_test_support.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace dockerbox::policy::test {
namespace {

class LoadPolicyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "polXXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode) {
    auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::filesystem::path dir_;
};

constexpr const char* kValid = "[[rule]]\nname='r'\nusers=['0']\nallow=['*']\n";

TEST_F(LoadPolicyFile, ReadsAndLabelsWithThePath) {
  auto path = write("ok.toml", kValid, 0644);
  EXPECT_TRUE(loadPolicyFile(path, kOperations, FileTrust::AnyOwner));
  auto bad = write("bad.toml", "nope = 1\n", 0644);
  auto result = loadPolicyFile(bad, kOperations, FileTrust::AnyOwner);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().diagnostics.at(0).toString().rfind(bad + ":1:1: ", 0), 0U)
      << result.error().toString();
}

TEST_F(LoadPolicyFile, RefusesWhatRootCannotTrust) {
  auto writable = write("w.toml", kValid, 0666);
  EXPECT_FALSE(loadPolicyFile(writable, kOperations, FileTrust::RequireRootOwned));
  EXPECT_TRUE(loadPolicyFile(writable, kOperations, FileTrust::AnyOwner));
  auto strict = write("s.toml", kValid, 0644);
  EXPECT_EQ(static_cast<bool>(loadPolicyFile(strict, kOperations, FileTrust::RequireRootOwned)),
            ::geteuid() == 0);
}

TEST_F(LoadPolicyFile, RefusesSymlinksDirectoriesMissingAndHugeFiles) {
  auto target = write("t.toml", kValid, 0644);
  auto link = (dir_ / "link.toml").string();
  std::filesystem::create_symlink(target, link);
  EXPECT_FALSE(loadPolicyFile(link, kOperations, FileTrust::AnyOwner));
  EXPECT_FALSE(loadPolicyFile(dir_.string(), kOperations, FileTrust::AnyOwner));
  EXPECT_FALSE(loadPolicyFile((dir_ / "missing").string(), kOperations, FileTrust::AnyOwner));
  auto huge = write("huge.toml", std::string(kMaxPolicyBytes + 1, '#'), 0644);
  auto result = loadPolicyFile(huge, kOperations, FileTrust::AnyOwner);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().toString().find("larger than"), std::string::npos);
}

// The fuzz seed corpus doubles as examples: valid-* must load, broken-* must be refused
// with every diagnostic placed, so a seed that silently changed meaning is noticed.
TEST(PolicyCorpus, ValidAndBrokenSeedsMeanWhatTheirNamesSay) {
  std::size_t valid = 0, broken = 0;
  for (const auto& entry : std::filesystem::directory_iterator(DOCKERBOX_POLICY_CORPUS)) {
    auto name = entry.path().filename().string();
    auto result = loadPolicyFile(entry.path().string(), kOperations, FileTrust::AnyOwner);
    if (name.starts_with("valid-")) {
      ++valid;
      EXPECT_TRUE(result) << name << ":\n" << (result ? "" : result.error().toString());
    } else if (name.starts_with("broken-")) {
      ++broken;
      ASSERT_FALSE(result) << name;
      for (const auto& d : result.error().diagnostics) EXPECT_GT(d.line, 0U) << d.toString();
    }
  }
  EXPECT_GE(valid, 3U);
  EXPECT_GE(broken, 5U);
}

}  // namespace
}  // namespace dockerbox::policy::test
