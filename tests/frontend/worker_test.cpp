// A worker end to end, without the sandbox: HTTP bytes in over one socketpair, typed IPC
// to a fake broker over another, HTTP bytes out.
#include "frontend/worker.hpp"

#include "frontend/limits.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <span>
#include <thread>

namespace dockerbox::frontend {
namespace {

using ipc::wire::Request;
using ipc::wire::Response;

std::pair<UniqueFd, UniqueFd> socketPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Answers each request with whatever `answer` fills in; stops at EOF or when `answer`
/// returns false (it then closes the channel, like a dying broker).
class FakeBroker {
 public:
  using Answer = std::function<bool(Request::Reader, Response::Builder)>;
  FakeBroker(UniqueFd channel, Answer answer)
      : channel_(std::move(channel)), thread_([this, answer = std::move(answer)] { serve(answer); }) {}
  ~FakeBroker() {
    ::shutdown(channel_.get(), SHUT_RDWR);
    thread_.join();
  }
  int requests() const { return requests_; }

 private:
  void serve(const Answer& answer) {
    ipc::FrameDecoder decoder(ipc::kMaxWorkerFrameBytes);
    std::vector<std::byte> buffer(4096);
    for (;;) {
      ssize_t got = ::read(channel_.get(), buffer.data(), buffer.size());
      if (got <= 0) return;
      ASSERT_TRUE(decoder.feed(std::span(buffer.data(), static_cast<std::size_t>(got))));
      for (;;) {
        auto next = decoder.next();
        ASSERT_TRUE(next);
        if (!*next) break;
        capnp::FlatArrayMessageReader reader(**next, ipc::readerOptions(ipc::kWorkerTraversalLimitWords));
        auto request = reader.getRoot<ipc::wire::WorkerMessage>().getRequest();
        ++requests_;
        capnp::MallocMessageBuilder reply;
        auto response = reply.initRoot<ipc::wire::BrokerMessage>().initResponse();
        response.setId(request.getId());
        if (!answer(request, response)) {
          ::shutdown(channel_.get(), SHUT_RDWR);
          return;
        }
        auto frame = ipc::encodeFrame(reply);
        ASSERT_EQ(::write(channel_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
      }
    }
  }

  UniqueFd channel_;
  std::atomic<int> requests_{0};
  std::thread thread_;
};

struct Reply {
  unsigned status = 0;
  std::string head;
  std::string body;
};

/// A small HTTP/1.1 response reader (Content-Length framing only, as the worker sends).
class Client {
 public:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  void send(std::string_view bytes) {
    ASSERT_EQ(::write(fd_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  std::optional<Reply> receive() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    Reply reply;
    auto end = buffer_.find("\r\n\r\n");
    reply.head = buffer_.substr(0, end + 4);
    buffer_.erase(0, end + 4);
    reply.status = static_cast<unsigned>(std::stoi(reply.head.substr(9, 3)));
    std::size_t length = 0;
    if (auto at = reply.head.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(reply.head.substr(at + 16));
    }
    bool head = lastWasHead_;
    if (head) length = 0;
    while (buffer_.size() < length) {
      if (!fill()) return std::nullopt;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return reply;
  }
  bool atEof() { return buffer_.empty() && !fill(); }
  void expectHeadNext(bool head) { lastWasHead_ = head; }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t got = ::read(fd_.get(), chunk, sizeof chunk);
    if (got <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(got));
    return true;
  }
  UniqueFd fd_;
  std::string buffer_;
  bool lastWasHead_ = false;
};

/// One worker on its own thread, with a fake broker and a client.
struct Harness {
  explicit Harness(FakeBroker::Answer answer) {
    auto [clientEnd, workerClient] = socketPair();
    auto [brokerEnd, workerChannel] = socketPair();
    broker = std::make_unique<FakeBroker>(std::move(brokerEnd), std::move(answer));
    client = std::make_unique<Client>(std::move(clientEnd));
    worker = std::thread([this, c = std::move(workerClient), ch = std::move(workerChannel)]() mutable {
      exitStatus = serveConnection(std::move(c), std::move(ch), WorkerOptions{[] { return std::int64_t{1000}; }});
    });
  }
  ~Harness() {
    client.reset();  // EOF ends the session
    worker.join();
  }
  std::unique_ptr<FakeBroker> broker;
  std::unique_ptr<Client> client;
  std::thread worker;
  int exitStatus = -1;
};

bool answerNormally(Request::Reader request, Response::Builder response) {
  switch (request.getOp().which()) {
    case Request::Op::LIST_CONTAINERS: {
      auto c = response.initResult().initContainerList().initContainers(1)[0];
      c.setId(std::string(64, 'a'));
      c.initNames(1).set(0, "/web");
      c.setState(ipc::wire::ContainerState::RUNNING);
      c.setStartedAt(995);
      return true;
    }
    case Request::Op::INFO: {
      auto error = response.initResult().initError();
      error.setKind(ipc::wire::ErrorKind::FORBIDDEN);
      error.setMessage("info denied by policy: rule none");
      return true;
    }
    default: {
      auto version = response.initResult().initVersion();
      version.setArchitecture("amd64");
      return true;
    }
  }
}

TEST(Worker, ServesKeepAliveRequestsLocallyAndThroughTheBroker) {
  Harness h(answerNormally);
  h.client->expectHeadNext(true);
  h.client->send("HEAD /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\n\r\n");
  auto ping = h.client->receive();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200u);
  EXPECT_NE(ping->head.find("Api-Version: 1.50\r\n"), std::string::npos);
  EXPECT_NE(ping->head.find("Content-Length: 0\r\n"), std::string::npos);
  h.client->expectHeadNext(false);

  h.client->send("GET /v1.50/containers/json HTTP/1.1\r\nHost: x\r\n\r\n");
  auto list = h.client->receive();
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200u);
  EXPECT_NE(list->head.find("Content-Type: application/json"), std::string::npos);
  EXPECT_NE(list->body.find("\"Status\":\"Up 5 seconds\""), std::string::npos);
  EXPECT_EQ(list->body.back(), '\n');

  h.client->send("GET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n");
  auto info = h.client->receive();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 403u);
  EXPECT_EQ(info->body, "{\"message\":\"info denied by policy: rule none\"}\n");
  EXPECT_EQ(h.broker->requests(), 2);
}

TEST(Worker, AnswersPipelinedRequestsInOrder) {
  Harness h(answerNormally);
  h.client->send(
      "GET /version HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = h.client->receive();
  auto second = h.client->receive();
  auto third = h.client->receive();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->status, 200u);
  EXPECT_NE(first->body.find("\"Arch\":\"amd64\""), std::string::npos);
  EXPECT_EQ(second->status, 404u);
  EXPECT_EQ(third->body, "OK");
}

TEST(Worker, AnswersChunkedBodiesAndClosesWhenAsked) {
  Harness h(answerNormally);
  h.client->send(
      "GET /_ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n");
  auto reply = h.client->receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200u);
  EXPECT_TRUE(h.client->atEof());
}

TEST(Worker, RefusesAnOversizedHeadWith431AndCloses) {
  Harness h(answerNormally);
  h.client->send("GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(kMaxHeaderBytes + 10, 'a') +
                 "\r\n\r\n");
  auto reply = h.client->receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431u);
  EXPECT_NE(reply->body.find("\"message\""), std::string::npos);
  EXPECT_TRUE(h.client->atEof());
}

TEST(Worker, RefusesAnOversizedBodyWith413AndCloses) {
  Harness h(answerNormally);
  h.client->send("POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                 std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n");
  auto reply = h.client->receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413u);
  EXPECT_TRUE(h.client->atEof());
}

TEST(Worker, AnswersMalformedHttpWith400) {
  Harness h(answerNormally);
  h.client->send("NOT HTTP AT ALL\r\n\r\n");
  auto reply = h.client->receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400u);
  EXPECT_TRUE(h.client->atEof());
}

TEST(Worker, AnswersServiceUnavailableWhenTheBrokerDiesThenExits) {
  Harness h([](Request::Reader, Response::Builder) { return false; });
  h.client->send("GET /_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /v1.50/info HTTP/1.1\r\nHost: x\r\n\r\n");
  auto ping = h.client->receive();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200u);
  auto info = h.client->receive();
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 503u);
  EXPECT_NE(info->head.find("Connection: close"), std::string::npos);
  EXPECT_NE(info->body.find("\"message\""), std::string::npos);
  EXPECT_TRUE(h.client->atEof());
}

TEST(Worker, AGarbageBrokerFrameEndsInServiceUnavailable) {
  auto [clientEnd, workerClient] = socketPair();
  auto [brokerEnd, workerChannel] = socketPair();
  std::thread worker([c = std::move(workerClient), ch = std::move(workerChannel)]() mutable {
    (void)serveConnection(std::move(c), std::move(ch), WorkerOptions{});
  });
  Client client(std::move(clientEnd));
  client.send("GET /info HTTP/1.1\r\nHost: x\r\n\r\n");
  // A segment table announcing 2^32 - 1 words: refused before anything is allocated.
  const unsigned char garbage[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  ASSERT_EQ(::write(brokerEnd.get(), garbage, sizeof garbage), static_cast<ssize_t>(sizeof garbage));
  auto reply = client.receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 503u);
  EXPECT_TRUE(client.atEof());
  worker.join();
}

}  // namespace
}  // namespace dockerbox::frontend
