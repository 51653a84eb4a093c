// A hostile worker on a real channel: the broker refuses bad frames by closing the channel,
// keeps serving other channels, and answers good requests with a Docker-shaped error when
// miniboxd is absent.
#include "broker/channel.hpp"

#include "broker/authz.hpp"
#include "broker/gate.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/handlers.hpp"
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "tests/broker/in_process_engine.hpp"
#include "common/unique_fd.hpp"
#include "ipc/dockerbox.capnp.h"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

namespace dockerbox::broker {
namespace {

namespace asio = boost::asio;
namespace wire = ipc::wire;
using Local = asio::local::stream_protocol;

class ChannelTest : public ::testing::Test {
 protected:
  ChannelTest() {
    config_.miniboxSocket = "/nonexistent-dockerbox-test/miniboxd.sock";
    handlers_ = std::make_unique<Handlers>(io_.get_executor(), config_);
    engine_ = std::make_unique<InProcessEngine>(io_.get_executor(), *handlers_);
    char tmpl[] = "/tmp/dbxchXXXXXX";
    dir_ = ::mkdtemp(tmpl);
    audit::AuditLogOptions options;
    options.path = dir_ + "/audit.log";
    auto log = audit::AuditLog::open(std::move(options));
    EXPECT_TRUE(log);
    // The worker's peer (uid 1000) may do everything: these tests are about the channel.
    std::ofstream(dir_ + "/policy.toml")
        << "[[rule]]\nname = \"everyone\"\nusers = [\"1000\", \"1001\"]\nallow = [\"*\"]\nvisibility = \"own\"\n";
    policy_ = std::make_unique<PolicyHolder>(dir_ + "/policy.toml", policy::FileTrust::AnyOwner);
    EXPECT_TRUE(policy_->hasValidPolicy());
    gate_ = std::make_unique<Gate>(std::move(*log), *policy_);
  }
  ~ChannelTest() override { std::filesystem::remove_all(dir_); }

  // Starts serveWorker on one end of a socketpair; returns the "worker" end.
  UniqueFd openChannel() { return openChannelAs(Identity{1000, 1000, 1, {}, std::nullopt}); }

  UniqueFd openChannelAs(Identity who) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    EXPECT_TRUE(counter_.tryAcquire(who.uid));
    Local::socket broker(io_);
    broker.assign(Local(), pair[0]);
    asio::co_spawn(io_, serveWorker(*handlers_, *gate_, counter_, channels_, std::move(broker), std::move(who)), asio::detached);
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
  std::shared_ptr<ChannelSet> channels_ = std::make_shared<ChannelSet>();
  std::string dir_;
  std::unique_ptr<PolicyHolder> policy_;
  std::unique_ptr<Gate> gate_;
  asio::io_context io_;
  std::unique_ptr<Handlers> handlers_;
  std::unique_ptr<InProcessEngine> engine_;  // after handlers_: it is attached to them
};

std::vector<std::byte> infoRequest(uint64_t id) {
  capnp::MallocMessageBuilder message;
  auto req = message.initRoot<wire::WorkerMessage>().initRequest();
  req.setId(id);
  req.initOp().initInfo();
  return ipc::encodeFrame(message);
}

wire::BrokerMessage::Reader parseReply(const std::vector<std::byte>& bytes, kj::Array<capnp::word>& words,
                                       std::unique_ptr<capnp::FlatArrayMessageReader>& reader) {
  words = kj::heapArray<capnp::word>(bytes.size() / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  reader = std::make_unique<capnp::FlatArrayMessageReader>(words);
  return reader->getRoot<wire::BrokerMessage>();
}

TEST_F(ChannelTest, ADrainEndsAtOnceWhenNothingIsInFlightAndRefusesNewRequests) {
  auto worker = openChannel();
  io_.run_for(std::chrono::milliseconds(20));  // the channel is being served
  io_.restart();
  bool drained = false;
  channels_->drain([&] { drained = true; });
  EXPECT_TRUE(drained);  // an idle keep-alive channel does not hold the shutdown
  send(worker, infoRequest(7));
  auto bytes = readReply(worker);
  ASSERT_FALSE(bytes.empty());
  kj::Array<capnp::word> words;
  std::unique_ptr<capnp::FlatArrayMessageReader> reader;
  auto response = parseReply(bytes, words, reader).getResponse();
  EXPECT_EQ(response.getId(), 7u);
  ASSERT_TRUE(response.getResult().isError());
  EXPECT_EQ(response.getResult().getError().getKind(), wire::ErrorKind::UNAVAILABLE);
  EXPECT_STREQ(response.getResult().getError().getMessage().cStr(), "dockerbox is shutting down");
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

// A compromised worker can send any IPC it likes, but it cannot say who the caller is: the
// identity is the channel's (SO_PEERCRED at accept), and the schema has no field for one.
class ForgedRequestTest : public ChannelTest {
 protected:
  ForgedRequestTest() {
    auto state = state::StateStore::open(dir_ + "/state");
    EXPECT_TRUE(state);
    state_ = std::move(*state);
    auto logs = state::LogStore::open(dir_ + "/state");
    EXPECT_TRUE(logs);
    logs_ = std::move(*logs);
    engine_.reset();
    handlers_ = std::make_unique<Handlers>(io_.get_executor(), config_, policy_.get(),
                                           monitor::Sealer(monitor::Sealer::Key{}));
    engine_ = std::make_unique<InProcessEngine>(io_.get_executor(), *handlers_, *state_, *logs_);
    capnp::MallocMessageBuilder message;
    auto config = message.initRoot<wire::ContainerConfig>();
    config.setImage("alpine");
    config.initHost().setNetworkMode("default");
    auto flat = capnp::messageToFlatArray(message);
    std::vector<std::uint64_t> words(flat.size());
    std::memcpy(words.data(), flat.begin(), flat.asBytes().size());
    state::NewContainer record;
    record.name = "victims";
    record.image = "alpine";
    record.imageRef = "docker.io/library/alpine:latest";
    record.creatorUid = 1000;
    record.creatorGid = 1000;
    record.config = containers::blobFromWords(words);
    auto created = state_->createContainer(record);
    EXPECT_TRUE(created);
    if (created) id_ = created->dockerId;
  }
  ~ForgedRequestTest() override { engine_.reset(); }  // it uses state_ and logs_, ours

  wire::Response::Result::Which send(const Identity& who, const std::function<void(wire::Request::Op::Builder)>& op,
                                     std::string* message = nullptr) {
    auto channel = openChannelAs(who);
    capnp::MallocMessageBuilder request;
    auto req = request.initRoot<wire::WorkerMessage>().initRequest();
    req.setId(7);
    op(req.initOp());
    ChannelTest::send(channel, ipc::encodeFrame(request));
    auto bytes = readReply(channel);
    EXPECT_FALSE(bytes.empty());
    kj::Array<capnp::word> words;
    std::unique_ptr<capnp::FlatArrayMessageReader> reader;
    auto result = parseReply(bytes, words, reader).getResponse().getResult();
    if (message != nullptr && result.isError()) *message = result.getError().getMessage().cStr();
    if (result.isError() && result.getError().getKind() == wire::ErrorKind::NOT_FOUND) {
      return wire::Response::Result::ERROR;
    }
    return result.which();
  }

  std::unique_ptr<state::StateStore> state_;
  std::unique_ptr<state::LogStore> logs_;
  std::string id_;
  Identity owner_{1000, 1000, 1, {}, std::nullopt};
  Identity other_{1001, 1001, 2, {1000}, std::nullopt};
};

TEST_F(ForgedRequestTest, AnotherUsersContainerDoesNotExistForTheCaller) {
  ASSERT_EQ(id_.size(), 64u);
  for (std::string ref : {id_, id_.substr(0, 12), std::string("victims"), std::string("/victims")}) {
    std::string message;
    EXPECT_EQ(send(other_, [&](auto op) { op.initInspectContainer().setRef(ref); }, &message),
              wire::Response::Result::ERROR);
    EXPECT_EQ(message, "No such container: " + ref);
    EXPECT_EQ(send(other_, [&](auto op) {
                auto rm = op.initRemoveContainer();
                rm.setRef(ref);
                rm.setForce(true);
              }),
              wire::Response::Result::ERROR);
    EXPECT_EQ(send(other_, [&](auto op) {
                auto rename = op.initRenameContainer();
                rename.setRef(ref);
                rename.setNewName("mine");
              }),
              wire::Response::Result::ERROR);
  }
  // Still there, still the owner's, and the owner sees it.
  auto kept = state_->getContainer(id_);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->name, "victims");
  EXPECT_EQ(send(owner_, [&](auto op) { op.initInspectContainer().setRef(id_); }),
            wire::Response::Result::CONTAINER_INSPECT);
}

// Walks every struct reachable from WorkerMessage: no field may carry an identity.
void expectNoIdentityFields(capnp::StructSchema schema, std::set<std::uint64_t>& seen) {
  if (!seen.insert(schema.getProto().getId()).second) return;
  for (auto field : schema.getFields()) {
    std::string name = field.getProto().getName().cStr();
    std::string lower;
    for (char c : name) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    auto endsWith = [&](std::string_view tail) {
      return lower.size() >= tail.size() && lower.compare(lower.size() - tail.size(), tail.size(), tail) == 0;
    };
    EXPECT_FALSE(endsWith("uid") || endsWith("gid") || lower == "pid" || lower == "groups")
        << schema.getProto().getDisplayName().cStr() << "." << name;
    for (const char* word : {"caller", "owner", "creator", "identity", "peer", "loginuid"}) {
      EXPECT_EQ(lower.find(word), std::string::npos) << schema.getProto().getDisplayName().cStr() << "." << name;
    }
    auto type = field.getType();
    if (type.isList()) type = type.asList().getElementType();
    if (type.isStruct()) expectNoIdentityFields(type.asStruct(), seen);
  }
}

TEST(IpcSchema, WorkerMessagesCarryNoIdentity) {
  std::set<std::uint64_t> seen;
  expectNoIdentityFields(capnp::Schema::from<wire::WorkerMessage>(), seen);
  EXPECT_GT(seen.size(), 20u);
}

}  // namespace
}  // namespace dockerbox::broker
