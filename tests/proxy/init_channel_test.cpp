// The request/answer queue to a container's init (proxy/init_channel.cpp), driven directly
// on the test's thread: the test plays pid 1 on the other end of a socketpair and answers
// as a well-behaved init would, and as a hostile one might.
#include "proxy/init_channel.hpp"

#include "ipc/fd_passing.hpp"
#include "proxy/limits.hpp"
#include "tests/proxy/proxy_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>

namespace dockerbox::proxy::test {
namespace {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;
constexpr auto kLong = std::chrono::seconds(30);

struct Answer {
  std::optional<Result<UniqueFd>> result;
};

asio::awaitable<void> askFor(std::shared_ptr<InitChannel> channel, ContainerSocket kind,
                             std::chrono::steady_clock::duration timeout, std::shared_ptr<Answer> answer) {
  answer->result = co_await channel->request(kind, timeout);
}

std::size_t openDescriptors() {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                                std::filesystem::directory_iterator()));
}

int socketType(int fd) {
  int type = 0;
  socklen_t length = sizeof type;
  return ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 ? type : -1;
}

class InitChannelTest : public ::testing::Test {
 protected:
  InitChannelTest() : channel(std::make_shared<InitChannel>(io.get_executor(), "test", 2)) {
    int ends[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), 0);
    init_ = UniqueFd(ends[0]);
    proxyEnd_ = UniqueFd(ends[1]);
    boundBlocking(init_.get());
  }

  void attach() {
    channel->attach(Local::socket(io, Local(), proxyEnd_.release()), [this] { ended = true; });
  }

  std::shared_ptr<Answer> ask(ContainerSocket kind, std::chrono::steady_clock::duration timeout = kLong) {
    auto answer = std::make_shared<Answer>();
    asio::co_spawn(io, askFor(channel, kind, timeout, answer), asio::detached);
    io.poll();  // runs the request up to its wait: its byte is written if the init is there
    return answer;
  }

  /// Runs the proxy side until `answer` has its result (bounded).
  void await(const std::shared_ptr<Answer>& answer) {
    const auto deadline = std::chrono::steady_clock::now() + kIoTimeout;
    while (!answer->result && std::chrono::steady_clock::now() < deadline) io.run_one_for(kIoTimeout);
    ASSERT_TRUE(answer->result) << "no answer";
  }

  std::string requestsSeen(std::size_t n) { return readExactly(init_.get(), n).value_or("(none)"); }

  void answerWith(int code, std::vector<int> fds = {}) {
    const std::byte byte{static_cast<unsigned char>(code)};
    if (fds.empty()) {
      ASSERT_EQ(::send(init_.get(), &byte, 1, MSG_NOSIGNAL), 1);
    } else {
      ASSERT_TRUE(ipc::sendWithFds(init_.get(), std::span(&byte, 1), fds));
    }
  }

  void answerWithNew(int domain, int type) {
    UniqueFd socket(::socket(domain, type | SOCK_CLOEXEC, 0));
    answerWith(0, {socket.get()});
  }

  asio::io_context io;
  // Keeps `io` from stopping when it runs out of work between the steps of a test.
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::shared_ptr<InitChannel> channel;
  bool ended = false;
  UniqueFd init_;
  UniqueFd proxyEnd_;
};

TEST_F(InitChannelTest, AnswersGoToTheirRequestsInOrder) {
  attach();
  auto stream = ask(ContainerSocket::Tcp4);
  auto datagram = ask(ContainerSocket::Udp4);
  auto stream6 = ask(ContainerSocket::Tcp6);
  ASSERT_EQ(requestsSeen(3), "tuT");
  answerWithNew(AF_INET, SOCK_STREAM);
  answerWithNew(AF_INET, SOCK_DGRAM);
  answerWithNew(AF_INET6, SOCK_STREAM);
  await(stream6);
  ASSERT_TRUE(stream->result && *stream->result && datagram->result && *datagram->result && *stream6->result);
  EXPECT_EQ(socketType(stream->result->value().get()), SOCK_STREAM);
  EXPECT_EQ(socketType(datagram->result->value().get()), SOCK_DGRAM);
  EXPECT_FALSE(ended);
}

TEST_F(InitChannelTest, RequestsBeforeTheInitConnectsGoOutWhenItDoes) {
  auto first = ask(ContainerSocket::Udp4);
  auto second = ask(ContainerSocket::Tcp4);
  auto third = ask(ContainerSocket::Tcp4);  // over the limit of 2 waiting
  await(third);
  EXPECT_FALSE(*third->result);
  attach();
  ASSERT_EQ(requestsSeen(2), "ut");
  answerWithNew(AF_INET, SOCK_DGRAM);
  answerWithNew(AF_INET, SOCK_STREAM);
  await(second);
  EXPECT_TRUE(*first->result);
  EXPECT_TRUE(*second->result);
}

TEST_F(InitChannelTest, AtMostAWindowOfRequestsIsInFlight) {
  attach();
  std::vector<std::shared_ptr<Answer>> answers;
  for (std::size_t i = 0; i < kMaxRequestsInFlight + 3; ++i) answers.push_back(ask(ContainerSocket::Udp4));
  // pid 1 answers all it reads without waiting for us: only a window's worth is written.
  ASSERT_EQ(requestsSeen(kMaxRequestsInFlight), std::string(kMaxRequestsInFlight, 'u'));
  char more = 0;
  EXPECT_EQ(::recv(init_.get(), &more, 1, MSG_DONTWAIT), -1) << "more than the window was written";
  // Each answer lets one more go out.
  for (std::size_t i = 0; i < 3; ++i) answerWithNew(AF_INET, SOCK_DGRAM);
  await(answers[2]);
  ASSERT_EQ(requestsSeen(3), "uuu");
  for (std::size_t i = 3; i < answers.size(); ++i) answerWithNew(AF_INET, SOCK_DGRAM);
  await(answers.back());
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer->result);
    EXPECT_TRUE(*answer->result);
  }
}

TEST_F(InitChannelTest, ARefusalCarriesTheInitsErrno) {
  attach();
  auto answer = ask(ContainerSocket::Tcp4);
  ASSERT_EQ(requestsSeen(1), "t");
  answerWith(EMFILE);
  await(answer);
  ASSERT_FALSE(*answer->result);
  EXPECT_EQ(answer->result->error().context, std::strerror(EMFILE));
  EXPECT_FALSE(ended);
}

TEST_F(InitChannelTest, WhatWasNotAskedForIsRefusedAndClosed) {
  attach();
  const std::size_t before = openDescriptors();
  auto refused = [&](auto answerIt) {
    auto answer = ask(ContainerSocket::Tcp4);
    EXPECT_EQ(requestsSeen(1), "t");
    answerIt();
    await(answer);
    return answer->result && !*answer->result;
  };
  EXPECT_TRUE(refused([&] { answerWithNew(AF_INET, SOCK_DGRAM); })) << "a datagram socket for 't'";
  EXPECT_TRUE(refused([&] { answerWithNew(AF_INET6, SOCK_STREAM); })) << "an IPv6 socket for 't'";
  EXPECT_TRUE(refused([&] { answerWithNew(AF_UNIX, SOCK_STREAM); })) << "a Unix socket";
  EXPECT_TRUE(refused([&] { answerWith(0); })) << "success without a socket";
  EXPECT_TRUE(refused([&] {
    UniqueFd a(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    UniqueFd b(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    answerWith(0, {a.get(), b.get()});
  })) << "two sockets for one answer";
  EXPECT_TRUE(refused([&] {
    Bound listening = listenTcp();
    answerWith(0, {listening.fd.get()});
  })) << "a listening socket";
  EXPECT_TRUE(refused([&] {
    UniqueFd file(::dup(STDERR_FILENO));
    answerWith(0, {file.get()});
  })) << "not a socket";
  EXPECT_TRUE(refused([&] {
    Bound server = listenTcp();
    UniqueFd connected = connectTcp(server.port);
    answerWith(0, {connected.get()});
  })) << "a connected socket";
  EXPECT_FALSE(ended) << "a bad answer fails its request, not the channel";
  EXPECT_EQ(openDescriptors(), before) << "a refused descriptor was kept";
}

TEST_F(InitChannelTest, ALateAnswerIsClosedUnused) {
  attach();
  const std::size_t before = openDescriptors();
  auto late = ask(ContainerSocket::Tcp4, std::chrono::steady_clock::duration::zero());
  await(late);
  EXPECT_FALSE(*late->result) << "timed out";
  auto next = ask(ContainerSocket::Tcp4);
  ASSERT_EQ(requestsSeen(2), "tt");
  answerWithNew(AF_INET, SOCK_STREAM);  // for the request that gave up
  answerWithNew(AF_INET, SOCK_STREAM);
  await(next);
  ASSERT_TRUE(*next->result);
  // Answers are handled in order: the late one was closed before `next` got its socket.
  EXPECT_EQ(openDescriptors(), before + 1);
}

TEST_F(InitChannelTest, AnAnswerNobodyAskedForEndsTheChannel) {
  attach();
  answerWithNew(AF_INET, SOCK_STREAM);
  const auto deadline = std::chrono::steady_clock::now() + kIoTimeout;
  while (!ended && std::chrono::steady_clock::now() < deadline) io.run_one_for(kIoTimeout);
  EXPECT_TRUE(ended);
  auto after = ask(ContainerSocket::Tcp4);
  await(after);
  EXPECT_FALSE(*after->result);
}

TEST_F(InitChannelTest, EndOfTheChannelFailsEveryWaiter) {
  attach();
  auto first = ask(ContainerSocket::Tcp4);
  auto second = ask(ContainerSocket::Udp4);
  init_.reset();  // pid 1 exits
  await(second);
  EXPECT_FALSE(*first->result);
  EXPECT_FALSE(*second->result);
  EXPECT_TRUE(ended);
}

TEST_F(InitChannelTest, CloseFailsEveryWaiterWithoutCallingOnEnd) {
  attach();
  auto waiting = ask(ContainerSocket::Tcp4);
  channel->close();
  await(waiting);
  EXPECT_FALSE(*waiting->result);
  EXPECT_FALSE(ended);
}

}  // namespace
}  // namespace dockerbox::proxy::test
