// Tests of captured-output storage. Runs as the test user. Input: generated output, and
// log files damaged on purpose.
#include "engine/state/log_store.hpp"

#include "engine/state/limits.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

namespace dockerbox::broker::state {
namespace {

using testing::TempDir;

const std::string kId(64, 'c');

class LogStoreTest : public ::testing::Test {
 protected:
  void openStore(std::uint64_t maxFileBytes = kMaxLogFileBytes) {
    auto opened = LogStore::open(dir_.path(), LogStoreOptions{maxFileBytes});
    ASSERT_TRUE(opened) << opened.error().context;
    store_ = std::move(*opened);
  }
  void SetUp() override { openStore(); }

  void append(LogStream stream, const std::string& bytes, std::int64_t time) {
    auto appended = store_->append(kId, stream, bytes, time);
    ASSERT_TRUE(appended) << appended.error().context;
  }
  LogReadResult read(const LogReadOptions& options = {}) {
    auto result = store_->read(kId, options);
    EXPECT_TRUE(result) << result.error().context;
    return result ? *result : LogReadResult{};
  }
  static std::string joined(const LogReadResult& result) {
    std::string all;
    for (const auto& e : result.entries) all += e.bytes;
    return all;
  }
  void appendRaw(const std::filesystem::path& file, const std::string& raw) {
    std::ofstream out(file, std::ios::app | std::ios::binary);
    out << raw;
  }

  TempDir dir_;
  std::unique_ptr<LogStore> store_;
};

TEST_F(LogStoreTest, SplitsLinesLikeJsonFile) {
  append(LogStream::Stdout, "a\nb\nc", 10);
  auto result = read();
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(result.entries[0], (LogEntry{LogStream::Stdout, 10, "a\n"}));
  EXPECT_EQ(result.entries[1], (LogEntry{LogStream::Stdout, 10, "b\n"}));
  EXPECT_EQ(result.entries[2], (LogEntry{LogStream::Stdout, 10, "c"}));  // partial, own record
  EXPECT_EQ(result.malformedLines, 0U);

  std::ifstream file(store_->logPath(kId));
  std::string first;
  std::getline(file, first);
  EXPECT_EQ(first, R"({"log":"a\n","stream":"stdout","time":"1970-01-01T00:00:00.000000010Z"})");
}

TEST_F(LogStoreTest, KeepsTheLayoutAndPermissionsPrivate) {
  append(LogStream::Stdout, "x\n", 1);
  const auto path = store_->logPath(kId);
  EXPECT_EQ(path, dir_.path() / "containers" / kId / (kId + "-json.log"));
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600U);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700U);
  ASSERT_EQ(::stat((dir_.path() / "containers").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0700U);
}

TEST_F(LogStoreTest, PartialLinesAcrossAppendsReassemble) {
  append(LogStream::Stdout, "hel", 1);
  append(LogStream::Stdout, "lo\nwor", 2);
  append(LogStream::Stdout, "ld\n", 3);
  auto result = read();
  EXPECT_EQ(result.entries.size(), 4U);
  EXPECT_EQ(joined(result), "hello\nworld\n");
}

TEST_F(LogStoreTest, CutsLongLinesIntoBoundedRecords) {
  const std::string line(kMaxLogRecordBytes * 2 + 5, 'x');
  append(LogStream::Stdout, line + "\n", 1);
  auto result = read();
  ASSERT_EQ(result.entries.size(), 3U);
  EXPECT_EQ(result.entries[0].bytes.size(), kMaxLogRecordBytes);
  EXPECT_EQ(result.entries[2].bytes.size(), 6U);
  EXPECT_EQ(joined(result), line + "\n");
}

TEST_F(LogStoreTest, SelectsStreamsTimesAndTail) {
  for (int i = 1; i <= 6; ++i) {
    append(i % 2 == 0 ? LogStream::Stderr : LogStream::Stdout, "line" + std::to_string(i) + "\n",
           i * 100);
  }
  EXPECT_EQ(joined(read()), "line1\nline2\nline3\nline4\nline5\nline6\n");
  EXPECT_EQ(joined(read({.stderrStream = false})), "line1\nline3\nline5\n");
  EXPECT_EQ(joined(read({.stdoutStream = false})), "line2\nline4\nline6\n");
  EXPECT_EQ(joined(read({.sinceNanos = 300})), "line3\nline4\nline5\nline6\n");
  EXPECT_EQ(joined(read({.untilNanos = 200})), "line1\nline2\n");
  EXPECT_EQ(joined(read({.sinceNanos = 200, .untilNanos = 400})), "line2\nline3\nline4\n");
  EXPECT_EQ(joined(read({.tail = 2})), "line5\nline6\n");
  EXPECT_EQ(joined(read({.tail = 0})), "");
  EXPECT_EQ(joined(read({.tail = 100})), joined(read()));
  EXPECT_EQ(joined(read({.stderrStream = false, .tail = 1})), "line5\n");
  EXPECT_EQ(joined(read({.untilNanos = 300, .tail = 1})), "line3\n");
  EXPECT_EQ(joined(read({.tail = 1, .timestamps = true})),
            "1970-01-01T00:00:00.000000600Z line6\n");
}

TEST_F(LogStoreTest, RotatesToDotOneAndReadsBothInOrder) {
  openStore(400);  // each record is ~75 bytes
  for (int i = 0; i < 12; ++i) append(LogStream::Stdout, "n" + std::to_string(i) + "\n", i + 1);
  const auto current = store_->logPath(kId);
  auto rotated = current;
  rotated += ".1";
  ASSERT_TRUE(std::filesystem::exists(rotated));
  EXPECT_LE(std::filesystem::file_size(current), 400U);
  EXPECT_LE(std::filesystem::file_size(rotated), 400U);
  auto result = read();
  EXPECT_EQ(result.malformedLines, 0U);
  ASSERT_FALSE(result.entries.empty());
  // The oldest were rotated away; what is left is contiguous and ends with the newest.
  EXPECT_EQ(result.entries.back().bytes, "n11\n");
  for (std::size_t i = 1; i < result.entries.size(); ++i) {
    EXPECT_EQ(result.entries[i].timeNanos, result.entries[i - 1].timeNanos + 1);
  }
  EXPECT_LT(result.entries.size(), 12U);
}

TEST_F(LogStoreTest, SkipsAndCountsMalformedLines) {
  append(LogStream::Stdout, "one\n", 1);
  appendRaw(store_->logPath(kId),
            "not json\n{\"log\":\"x\"}\n\n" + std::string(200000, '{') + "\n");
  append(LogStream::Stdout, "two\n", 2);
  auto result = read();
  EXPECT_EQ(joined(result), "one\ntwo\n");
  EXPECT_EQ(result.malformedLines, 3U);  // the blank line is not counted
}

TEST_F(LogStoreTest, ATornLastRecordDoesNotSwallowTheNextOne) {
  append(LogStream::Stdout, "one\n", 1);
  appendRaw(store_->logPath(kId), R"({"log":"tw)");  // as a kill -9 mid-write leaves it
  auto torn = read();
  EXPECT_EQ(joined(torn), "one\n");
  EXPECT_EQ(torn.malformedLines, 1U);
  append(LogStream::Stdout, "three\n", 3);
  auto result = read();
  EXPECT_EQ(joined(result), "one\nthree\n");
  EXPECT_EQ(result.malformedLines, 1U);
}

TEST_F(LogStoreTest, RemoveDeletesEverything) {
  openStore(200);
  for (int i = 0; i < 10; ++i) append(LogStream::Stdout, "x\n", i);
  ASSERT_TRUE(store_->remove(kId));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "containers" / kId));
  EXPECT_TRUE(read().entries.empty());
  EXPECT_TRUE(store_->remove(kId));  // absent is fine
}

TEST_F(LogStoreTest, RefusesIdsThatAreNotIds) {
  for (const char* bad : {"../../etc/passwd", "", "abc", "/tmp"}) {
    EXPECT_FALSE(store_->append(bad, LogStream::Stdout, "x", 1)) << bad;
    EXPECT_FALSE(store_->read(bad, {})) << bad;
    EXPECT_FALSE(store_->remove(bad)) << bad;
  }
}

TEST_F(LogStoreTest, EmptyAppendWritesNothing) {
  append(LogStream::Stdout, "", 1);
  EXPECT_FALSE(std::filesystem::exists(store_->logPath(kId)));
}

}  // namespace
}  // namespace dockerbox::broker::state
