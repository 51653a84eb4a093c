// A hostile worker on a real channel: the broker refuses bad frames by closing the channel,
// keeps serving other channels, and answers good requests with a Docker-shaped error when
// miniboxd is absent.
#include "broker/channel.hpp"

#include "broker/gate.hpp"
#include "broker/handlers.hpp"
#include "common/unique_fd.hpp"
#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstring>

namespace dockerbox::broker {
namespace {

namespace asio = boost::asio;
namespace wire = ipc::wire;
using Local = asio::local::stream_protocol;

class ChannelTest : public ::testing::Test {
 protected:
  ChannelTest() {
    config_.miniboxSocket = "/nonexistent-dockerbox-test/miniboxd.sock";
    handlers_ = std::make_unique<Handlers>(io_.get_executor(), config_, HostFacts{});
    char tmpl[] = "/tmp/dbxchXXXXXX";
    dir_ = ::mkdtemp(tmpl);
    audit::AuditLogOptions options;
    options.path = dir_ + "/audit.log";
    auto log = audit::AuditLog::open(std::move(options));
    EXPECT_TRUE(log);
    gate_ = std::make_unique<Gate>(std::move(*log));
  }
  ~ChannelTest() override { std::filesystem::remove_all(dir_); }

  // Starts serveWorker on one end of a socketpair; returns the "worker" end.
  UniqueFd openChannel() {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    EXPECT_TRUE(counter_.tryAcquire(1000));
    Local::socket broker(io_);
    broker.assign(Local(), pair[0]);
    asio::co_spawn(io_, serveWorker(*handlers_, *gate_, counter_, std::move(broker), Identity{1000, 1000, 1, {}, std::nullopt}),
                   asio::detached);
    return UniqueFd(pair[1]);
  }

  void send(const UniqueFd& fd, const std::vector<std::byte>& bytes) {
    ASSERT_EQ(::write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  // Runs the broker's loop until `fd` has a reply frame or EOF. Returns the bytes (empty: EOF).
  std::vector<std::byte> readReply(const UniqueFd& fd) {
    ipc::FrameDecoder decoder(ipc::kMaxBrokerFrameBytes);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::vector<std::byte> all;
    while (std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(20));
      io_.restart();
      std::byte buf[4096];
      ssize_t n = ::recv(fd.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return {};
      if (n > 0) {
        all.insert(all.end(), buf, buf + n);
        EXPECT_TRUE(decoder.feed(std::span(buf, static_cast<size_t>(n))));
        auto frame = decoder.next();
        if (frame && *frame) return all;
      }
    }
    ADD_FAILURE() << "no reply and no EOF within the deadline";
    return {};
  }

  // Destroyed in reverse: pending coroutine frames (destroyed with io_) still release
  // their slot in counter_, so it must outlive io_.
  Config config_;
  ConnectionCounter counter_{8};
  std::string dir_;
  std::unique_ptr<Gate> gate_;
  asio::io_context io_;
  std::unique_ptr<Handlers> handlers_;
};

std::vector<std::byte> infoRequest(uint64_t id) {
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::WorkerMessage>().initRequest();
  req.setId(id);
  req.initOp().initInfo();
  return ipc::encodeFrame(message);
}

TEST_F(ChannelTest, AnswersWithUnavailableNamingTheMiniboxSocket) {
  auto worker = openChannel();
  send(worker, infoRequest(42));
  auto bytes = readReply(worker);
  ASSERT_FALSE(bytes.empty());
  auto words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  capnp::FlatArrayMessageReader reader(words);
  auto response = reader.getRoot<wire::BrokerMessage>().getResponse();
  EXPECT_EQ(response.getId(), 42u);
  ASSERT_TRUE(response.getResult().isError());
  EXPECT_EQ(response.getResult().getError().getKind(), wire::ErrorKind::UNAVAILABLE);
  EXPECT_NE(std::string(response.getResult().getError().getMessage().cStr()).find(config_.miniboxSocket),
            std::string::npos);
}

TEST_F(ChannelTest, OversizedFrameClosesTheChannelOnly) {
  auto hostile = openChannel();
  auto honest = openChannel();
  std::vector<std::byte> prefix(8);
  uint32_t zero = 0, words = 1u << 26;
  std::memcpy(prefix.data(), &zero, 4);
  std::memcpy(prefix.data() + 4, &words, 4);
  send(hostile, prefix);
  EXPECT_TRUE(readReply(hostile).empty());  // EOF: refused
  send(honest, infoRequest(1));
  EXPECT_FALSE(readReply(honest).empty());  // the other channel is still served
}

TEST_F(ChannelTest, GarbageClosesTheChannel) {
  auto hostile = openChannel();
  std::vector<std::byte> garbage(64, std::byte{0xff});
  send(hostile, garbage);
  EXPECT_TRUE(readReply(hostile).empty());
}

TEST_F(ChannelTest, ClosedChannelReleasesTheConnectionSlot) {
  {
    auto worker = openChannel();
    EXPECT_EQ(counter_.count(1000), 1u);
  }
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(counter_.count(1000), 0u);
}

}  // namespace
}  // namespace dockerbox::broker
