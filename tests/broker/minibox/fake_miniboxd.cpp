#include "fake_miniboxd.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace dockerbox::broker::minibox::testing {
namespace {

namespace asio = boost::asio;
using Socket = asio::local::stream_protocol::socket;
using asio::awaitable;
using asio::use_awaitable;

awaitable<void> serve(std::shared_ptr<Socket> socket, std::size_t index, Script script,
                      std::shared_ptr<FakeMiniboxd::State> state) {
  std::string buffer;
  for (;;) {
    boost::system::error_code ec;
    const std::size_t length = co_await asio::async_read_until(
        *socket, asio::dynamic_buffer(buffer), '\n', asio::redirect_error(use_awaitable, ec));
    if (ec == asio::error::eof) ++state->closedByClient;
    if (ec) co_return;  // EOF, or closeAll() closed the socket
    std::string line = buffer.substr(0, length - 1);
    buffer.erase(0, length);
    state->requests.push_back(line);
    Response response = script(index, line);
    for (const auto& reply : response.lines) {
      co_await asio::async_write(*socket, asio::buffer(reply + "\n"),
                                 asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
    }
    if (response.closeAfter) {
      socket->close();
      co_return;
    }
  }
}

awaitable<void> acceptLoop(asio::local::stream_protocol::acceptor& acceptor, Script script,
                           FakeMode mode, std::shared_ptr<FakeMiniboxd::State> state) {
  for (;;) {
    boost::system::error_code ec;
    auto socket = std::make_shared<Socket>(
        co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec)));
    if (ec) co_return;
    const std::size_t index = state->accepted++;
    if (mode == FakeMode::Gate) {
      socket->close();  // no bytes at all, like miniboxd refusing a non-root peer
      continue;
    }
    state->sockets.push_back(socket);
    asio::co_spawn(acceptor.get_executor(), serve(socket, index, script, state), asio::detached);
  }
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = "/tmp/mbtest.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // best effort: a leftover temp dir must not fail a test
  std::filesystem::remove_all(path_, ignored);
}

namespace {
/// Like miniboxd, delete a stale socket file before binding (protocol 1.2).
std::string removeStale(std::string path) {
  std::error_code ignored;  // absent is the usual case
  std::filesystem::remove(path, ignored);
  return path;
}
}  // namespace

FakeMiniboxd::FakeMiniboxd(asio::io_context& io, std::string path, Script script, FakeMode mode)
    : path_(removeStale(std::move(path))),
      state_(std::make_shared<State>()),
      acceptor_(io, asio::local::stream_protocol::endpoint(path_)) {
  asio::co_spawn(io, acceptLoop(acceptor_, std::move(script), mode, state_), asio::detached);
}

FakeMiniboxd::~FakeMiniboxd() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  closeAll();
}

void FakeMiniboxd::closeAll() {
  for (auto& socket : state_->sockets) {
    boost::system::error_code ignored;
    socket->close(ignored);
  }
}

std::string requestType(const std::string& line) {
  const std::string prefix = "{\"type\":\"";
  if (!line.starts_with(prefix)) return {};
  const std::size_t end = line.find('"', prefix.size());
  return end == std::string::npos ? std::string() : line.substr(prefix.size(), end - prefix.size());
}

Script replyByType(std::vector<std::pair<std::string, std::vector<std::string>>> replies) {
  return [replies = std::move(replies)](std::size_t, const std::string& request) {
    const std::string type = requestType(request);
    for (const auto& [name, lines] : replies) {
      if (name == type) return Response{lines, false};
    }
    return Response{};
  };
}

bool runUntil(asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  if (io.stopped()) io.restart();  // it stops by itself whenever it runs out of work
  while (!done()) {
    if (io.run_one_until(deadline) == 0) break;
  }
  return done();
}

}  // namespace dockerbox::broker::minibox::testing
