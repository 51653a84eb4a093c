// A worker on its own thread between a raw test client and a scripted fake broker, both on
// socketpairs (no network). The test drives the broker step by step: it takes the worker's
// messages in order and sends accepted / output / events / responses when it chooses, so
// orderings such as "the wait head arrives before the result exists" are checked without
// sleeps. Every blocking read has a deadline (SO_RCVTIMEO), so a bug fails, never hangs.
#pragma once

#include "common/unique_fd.hpp"
#include "frontend/worker.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/serialize.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace dockerbox::frontend::testing {

inline std::pair<UniqueFd, UniqueFd> socketPair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Reads on `fd` give up after `seconds` (a missing byte fails the test instead of hanging).
inline void setReadDeadline(int fd, int seconds) {
  timeval tv{seconds, 0};
  EXPECT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
}

/// One message from the worker, owning its words.
class WorkerFrame {
 public:
  explicit WorkerFrame(kj::Array<capnp::word>&& words)
      : words_(std::move(words)), reader_(words_.asPtr(), ipc::readerOptions(ipc::kWorkerTraversalLimitWords)) {}
  ipc::wire::WorkerMessage::Reader root() { return reader_.getRoot<ipc::wire::WorkerMessage>(); }
  ipc::wire::Request::Reader request() { return root().getRequest(); }

 private:
  kj::Array<capnp::word> words_;
  capnp::FlatArrayMessageReader reader_;
};

/// The broker's end of a worker's channel, driven by the test thread.
class ScriptedBroker {
 public:
  explicit ScriptedBroker(UniqueFd channel) : fd_(std::move(channel)), decoder_(ipc::kMaxWorkerFrameBytes) {
    setReadDeadline(fd_.get(), 10);
  }

  /// The worker's next message (request, stdin chunk or cancel); nullptr at EOF or timeout.
  std::unique_ptr<WorkerFrame> next() {
    for (;;) {
      auto frame = decoder_.next();
      if (!frame || !*frame) {
        std::byte buffer[4096];
        ssize_t got = ::read(fd_.get(), buffer, sizeof buffer);
        if (got <= 0) return nullptr;
        EXPECT_TRUE(decoder_.feed(std::span(buffer, static_cast<std::size_t>(got))));
        continue;
      }
      return std::make_unique<WorkerFrame>(std::move(**frame));
    }
  }

  /// The next message, which must be a request with `op`. Returns its id.
  std::uint64_t expectRequest(ipc::wire::Request::Op::Which op) {
    auto frame = next();
    EXPECT_NE(frame, nullptr);
    if (!frame) return 0;
    EXPECT_EQ(frame->root().which(), ipc::wire::WorkerMessage::REQUEST);
    EXPECT_EQ(frame->request().getOp().which(), op);
    last_ = std::move(frame);
    return last_->request().getId();
  }
  /// The last request taken by expectRequest().
  ipc::wire::Request::Reader lastRequest() { return last_->request(); }

  void accepted(std::uint64_t id) {
    capnp::MallocMessageBuilder message;
    message.initRoot<ipc::wire::BrokerMessage>().setAccepted(id);
    send(message);
  }
  void output(std::uint64_t id, ipc::wire::StreamKind kind, std::string_view data, std::int64_t timeNanos = 0) {
    capnp::MallocMessageBuilder message;
    auto chunk = message.initRoot<ipc::wire::BrokerMessage>().initStreamOutput();
    chunk.setRequestId(id);
    chunk.setKind(kind);
    chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(data.data()), data.size()));
    chunk.setTimeNanos(timeNanos);
    send(message);
  }
  void event(std::uint64_t id, std::function<void(ipc::wire::Event::Builder)> fill) {
    capnp::MallocMessageBuilder message;
    auto event = message.initRoot<ipc::wire::BrokerMessage>().initEvent();
    event.setRequestId(id);
    fill(event);
    send(message);
  }
  void respond(std::uint64_t id, std::function<void(ipc::wire::Response::Result::Builder)> fill) {
    capnp::MallocMessageBuilder message;
    auto response = message.initRoot<ipc::wire::BrokerMessage>().initResponse();
    response.setId(id);
    fill(response.initResult());
    send(message);
  }
  void respondError(std::uint64_t id, ipc::wire::ErrorKind kind, std::string_view text) {
    respond(id, [&](ipc::wire::Response::Result::Builder result) {
      auto error = result.initError();
      error.setKind(kind);
      error.setMessage(std::string(text));
    });
  }

 private:
  void send(capnp::MallocMessageBuilder& message) {
    auto frame = ipc::encodeFrame(message);
    ASSERT_EQ(::write(fd_.get(), frame.data(), frame.size()), static_cast<ssize_t>(frame.size()));
  }

  UniqueFd fd_;
  ipc::FrameDecoder decoder_;
  std::unique_ptr<WorkerFrame> last_;
};

/// The Docker client's end: raw bytes, so heads can be compared byte for byte.
class RawClient {
 public:
  explicit RawClient(UniqueFd fd) : fd_(std::move(fd)) { setReadDeadline(fd_.get(), 10); }
  void send(std::string_view bytes) {
    ASSERT_EQ(::write(fd_.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  /// Reads until `marker` has arrived; returns everything up to and including it.
  std::string readThrough(std::string_view marker) {
    while (buffer_.find(marker) == std::string::npos) {
      if (!fill()) return {};
    }
    auto end = buffer_.find(marker) + marker.size();
    std::string out = buffer_.substr(0, end);
    buffer_.erase(0, end);
    return out;
  }
  std::string readExactly(std::size_t n) {
    while (buffer_.size() < n) {
      if (!fill()) break;
    }
    std::string out = buffer_.substr(0, std::min(n, buffer_.size()));
    buffer_.erase(0, out.size());
    return out;
  }
  /// Everything until the worker closes the connection.
  std::string readToEof() {
    while (fill()) {
    }
    return std::exchange(buffer_, {});
  }
  bool atEof() { return buffer_.empty() && !fill(); }
  void shutdownWrite() { ::shutdown(fd_.get(), SHUT_WR); }
  void close() { fd_ = UniqueFd(); }

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
};

/// serveConnection() on a thread, with a fixed clock.
struct StreamHarness {
  StreamHarness() {
    auto [clientEnd, workerClient] = socketPair();
    auto [brokerEnd, workerChannel] = socketPair();
    broker = std::make_unique<ScriptedBroker>(std::move(brokerEnd));
    client = std::make_unique<RawClient>(std::move(clientEnd));
    worker = std::thread([c = std::move(workerClient), ch = std::move(workerChannel)]() mutable {
      (void)serveConnection(std::move(c), std::move(ch),
                            WorkerOptions{[] { return std::int64_t{1'700'000'000}; }, WorkerSyscalls::Inherited});
    });
  }
  ~StreamHarness() {
    client.reset();
    broker.reset();  // EOF on the channel ends the worker's IPC side too
    worker.join();
  }
  std::unique_ptr<ScriptedBroker> broker;
  std::unique_ptr<RawClient> client;
  std::thread worker;
};

/// Decodes an HTTP/1.1 chunked body (after the head) up to its last chunk.
inline std::string readChunkedBody(RawClient& client) {
  std::string body;
  for (;;) {
    std::string sizeLine = client.readThrough("\r\n");
    if (sizeLine.empty()) return body + "<EOF>";
    std::size_t size = std::stoul(sizeLine, nullptr, 16);
    if (size == 0) {
      client.readThrough("\r\n");
      return body;
    }
    body += client.readExactly(size);
    client.readThrough("\r\n");
  }
}

}  // namespace dockerbox::frontend::testing
