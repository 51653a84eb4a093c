#include "init/window_size.hpp"

#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace dockerbox::init {
namespace {

std::string record(std::uint16_t rows, std::uint16_t cols) {
  std::string bytes(kWindowSizeRecordSize, '\0');
  std::memcpy(bytes.data(), &rows, sizeof(rows));
  std::memcpy(bytes.data() + sizeof(rows), &cols, sizeof(cols));
  return bytes;
}

TEST(WindowSizeDecoder, TakesTheLastValidRecordOfABatch) {
  WindowSizeDecoder decoder;
  auto size = decoder.feed(record(24, 80) + record(50, 132));
  ASSERT_TRUE(size);
  EXPECT_EQ(size->rows, 50);
  EXPECT_EQ(size->cols, 132);
  EXPECT_FALSE(decoder.feed(std::string()));
}

TEST(WindowSizeDecoder, IgnoresZeroRowsOrColumns) {
  WindowSizeDecoder decoder;
  EXPECT_FALSE(decoder.feed(record(0, 80)));
  EXPECT_FALSE(decoder.feed(record(24, 0)));
  auto size = decoder.feed(record(24, 80) + record(0, 0));
  ASSERT_TRUE(size);
  EXPECT_EQ(size->rows, 24);
}

TEST(WindowSizeDecoder, CompletesARecordSplitAcrossReads) {
  WindowSizeDecoder decoder;
  std::string bytes = record(33, 77) + record(40, 100);
  EXPECT_FALSE(decoder.feed(bytes.substr(0, 3)));
  auto first = decoder.feed(bytes.substr(3, 2));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->rows, 33);
  EXPECT_EQ(first->cols, 77);
  auto second = decoder.feed(bytes.substr(5));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->cols, 100);
}

class WindowSizePty : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master_ || ::unlockpt(master_.get()) != 0) GTEST_SKIP() << "no pty here";
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    control_ = UniqueFd(fds[0]);
    writer_ = UniqueFd(fds[1]);
  }
  winsize size() const {
    winsize ws{};
    EXPECT_EQ(::ioctl(master_.get(), TIOCGWINSZ, &ws), 0);
    return ws;
  }
  void send(const std::string& bytes) const {
    ASSERT_EQ(::write(writer_.get(), bytes.data(), bytes.size()), static_cast<long>(bytes.size()));
  }
  UniqueFd master_;
  UniqueFd control_;
  UniqueFd writer_;
  WindowSizeDecoder decoder_;
};

TEST_F(WindowSizePty, AppliesTheLastRecordAndStaysOpenUntilEof) {
  EXPECT_EQ(applyWindowSizes(control_.get(), master_.get(), decoder_), ControlFifo::Open);
  EXPECT_EQ(size().ws_row, 0);
  send(record(24, 80) + record(33, 77));
  EXPECT_EQ(applyWindowSizes(control_.get(), master_.get(), decoder_), ControlFifo::Open);
  EXPECT_EQ(size().ws_row, 33);
  EXPECT_EQ(size().ws_col, 77);
  send(record(0, 10));
  EXPECT_EQ(applyWindowSizes(control_.get(), master_.get(), decoder_), ControlFifo::Open);
  EXPECT_EQ(size().ws_col, 77);
  send(record(10, 20));
  writer_.reset();
  EXPECT_EQ(applyWindowSizes(control_.get(), master_.get(), decoder_), ControlFifo::Ended);
  EXPECT_EQ(size().ws_row, 10);
  EXPECT_EQ(size().ws_col, 20);
}

}  // namespace
}  // namespace dockerbox::init
