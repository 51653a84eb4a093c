// The monitor's per-run FIFOs (broker/monitor/run_io.hpp): what dockerbox-init finds in the
// directory miniboxd mounts for it, and what passes through them. The init's side is played
// here by plain opens of the FIFOs.
#include "broker/monitor/run_io.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace dockerbox::broker::monitor {
namespace {

namespace asio = boost::asio;

class RunIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dbxioXXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    ioDir_ = root_ + "/io";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::shared_ptr<RunIo> make(bool in, bool terminal, bool output) {
    auto made = RunIo::create(io_.get_executor(), ioDir_, id_, in, terminal, output);
    EXPECT_TRUE(made) << (made ? "" : made.error().context);
    return made ? std::shared_ptr<RunIo>(std::move(*made)) : nullptr;
  }
  /// The init's end of one FIFO.
  UniqueFd open(const char* name, int access) {
    return UniqueFd(::open((ioDir_ + "/" + id_ + "/" + name).c_str(), access | O_NONBLOCK | O_CLOEXEC));
  }
  template <class T>
  T run(asio::awaitable<T> task) {
    auto future = asio::co_spawn(io_, std::move(task), asio::use_future);
    io_.restart();
    io_.run();
    return future.get();
  }

  asio::io_context io_;
  std::string root_, ioDir_;
  std::string id_ = std::string(64, 'c');
};

TEST_F(RunIoTest, MakesOnlyTheFifosTheRunNeedsWhereOnlyRootReaches) {
  auto io = make(true, false, true);
  ASSERT_TRUE(io);
  struct stat st {};
  ASSERT_EQ(::stat(io->hostDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700U);
  for (const char* name : {"stdin", "stdout", "stderr"}) {
    ASSERT_EQ(::stat((io->hostDir() + "/" + name).c_str(), &st), 0) << name;
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << name;
    EXPECT_EQ(st.st_mode & 07777, 0600U) << name;
  }
  EXPECT_NE(::access((io->hostDir() + "/control").c_str(), F_OK), 0);
  const std::string dir = io->hostDir();
  io.reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST_F(RunIoTest, RefusesAnIoDirOthersCanWrite) {
  ASSERT_EQ(::mkdir(ioDir_.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(ioDir_.c_str(), 0777), 0);
  EXPECT_FALSE(RunIo::create(io_.get_executor(), ioDir_, id_, true, false, false));
}

TEST_F(RunIoTest, StdinCarriesTheBytesThenEof) {
  auto io = make(true, false, false);
  ASSERT_TRUE(io);
  UniqueFd reader = open("stdin", O_RDONLY);
  ASSERT_TRUE(reader);
  std::vector<std::uint8_t> data{'h', 'i', '\n'};
  auto written = run(io->write(data));
  ASSERT_TRUE(written);
  char buffer[16];
  ASSERT_EQ(::read(reader.get(), buffer, sizeof buffer), 3);
  EXPECT_EQ(std::string(buffer, 3), "hi\n");
  io->closeStdin();
  EXPECT_EQ(::read(reader.get(), buffer, sizeof buffer), 0);  // EOF: no writer is left
  EXPECT_FALSE(run(io->write(data)));                          // closed stays closed
}

TEST_F(RunIoTest, InputWrittenAndClosedBeforeTheInitOpensIsStillThere) {
  // `echo data | docker exec -i`: the client's bytes and its EOF can both arrive before the
  // init has opened its end. The FIFO must keep them for it.
  auto io = make(true, false, false);
  ASSERT_TRUE(io);
  std::vector<std::uint8_t> data{'e', 'a', 'r', 'l', 'y'};
  ASSERT_TRUE(run(io->write(data)));
  io->closeStdin();
  UniqueFd reader = open("stdin", O_RDONLY);
  ASSERT_TRUE(reader);
  char buffer[16];
  ASSERT_EQ(::read(reader.get(), buffer, sizeof buffer), 5);
  EXPECT_EQ(std::string(buffer, 5), "early");
  EXPECT_EQ(::read(reader.get(), buffer, sizeof buffer), 0);  // then EOF
}

TEST_F(RunIoTest, AnExecsFifosLiveInTheRunsDirectory) {
  auto run = make(true, false, true);
  ASSERT_TRUE(run);
  const std::string execId(64, 'e');
  auto exec = RunIo::create(io_.get_executor(), run->hostDir(), execId, true, true, false);
  ASSERT_TRUE(exec) << exec.error().context;
  EXPECT_EQ((*exec)->hostDir(), run->hostDir() + "/" + execId);
  struct stat st {};
  ASSERT_EQ(::stat(((*exec)->hostDir() + "/control").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(::stat(((*exec)->hostDir() + "/stdout").c_str(), &st), -1);  // a terminal carries output
  exec->reset();
  EXPECT_FALSE(std::filesystem::exists(run->hostDir() + "/" + execId));
  EXPECT_TRUE(std::filesystem::exists(run->hostDir() + "/stdin"));
}

TEST_F(RunIoTest, ResizeWritesOneRecordAndIgnoresAnEmptySize) {
  auto io = make(false, true, false);
  ASSERT_TRUE(io);
  UniqueFd reader = open("control", O_RDONLY);
  ASSERT_TRUE(reader);
  ASSERT_TRUE(io->resize(0, 80));
  ASSERT_TRUE(io->resize(40, 120));
  std::uint16_t record[4] = {};
  ASSERT_EQ(::read(reader.get(), record, sizeof record), 4);
  EXPECT_EQ(record[0], 40);
  EXPECT_EQ(record[1], 120);
  auto plain = RunIo::create(io_.get_executor(), ioDir_, std::string(64, 'd'), true, false, false);
  ASSERT_TRUE(plain);
  EXPECT_FALSE((*plain)->resize(24, 80));  // no terminal
}

TEST_F(RunIoTest, ThePortChannelIsAListenerInTheRunsDirectory) {
  auto io = make(false, false, true);
  ASSERT_TRUE(io);
  auto listener = io->makePortChannel();
  ASSERT_TRUE(listener) << listener.error().context;
  struct stat st {};
  ASSERT_EQ(::lstat((io->hostDir() + "/ports").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  // What the init does: connect by path; the connection waits in the backlog for the proxy.
  UniqueFd client(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = io->hostDir() + "/ports";
  ASSERT_LT(path.size(), sizeof address.sun_path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::connect(client.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  UniqueFd accepted(::accept4(listener->get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_TRUE(accepted);
}

TEST_F(RunIoTest, OutputKeepsItsStreamAndNothingIsLostAtTheEnd) {
  auto io = make(false, false, true);
  ASSERT_TRUE(io);
  UniqueFd out = open("stdout", O_WRONLY);
  UniqueFd err = open("stderr", O_WRONLY);
  ASSERT_TRUE(out);
  ASSERT_TRUE(err);
  std::string gotOut, gotErr;
  minibox::OutputHandler collect = [&](minibox::OutputStream stream,
                                       std::vector<std::uint8_t> data) -> asio::awaitable<void> {
    (stream == minibox::OutputStream::Stderr ? gotErr : gotOut).append(data.begin(), data.end());
    co_return;
  };
  io->startOutputPumps(collect);
  ASSERT_EQ(::write(out.get(), "one\n", 4), 4);
  ASSERT_EQ(::write(err.get(), "two\n", 4), 4);
  // Written "before the exit" and not yet read: endOutput() must still deliver it.
  std::string big(200000, 'x');
  std::size_t queued = 0;
  while (queued < big.size()) {
    long n = ::write(out.get(), big.data() + queued, big.size() - queued);
    if (n <= 0) break;  // the FIFO is full: the rest would wait for the reader
    queued += static_cast<std::size_t>(n);
  }
  run(io->endOutput());
  EXPECT_EQ(gotOut, "one\n" + big.substr(0, queued));
  EXPECT_EQ(gotErr, "two\n");
}

}  // namespace
}  // namespace dockerbox::broker::monitor
