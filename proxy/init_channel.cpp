// Runs in: dockerbox-proxy. Input: the container init's answers (untrusted; see
// init_channel.hpp). Whatever pid 1 sends, the worst outcome is a refused connection or a
// closed channel for its own run: an answer is one byte, a descriptor is checked before
// use, and an answer nobody asked for ends the channel.
#include "proxy/init_channel.hpp"

#include "proxy/limits.hpp"
#include "proxy/socket_io.hpp"
#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace dockerbox::proxy {

namespace asio = boost::asio;

struct InitChannel::Waiter {
  Waiter(asio::any_io_executor executor, ContainerSocket k) : wake(std::move(executor)), kind(k) {}
  asio::steady_timer wake;  // cancelled when `outcome` is set; expires at the deadline
  ContainerSocket kind;
  std::optional<Result<UniqueFd>> outcome;
  bool abandoned = false;  // its requester gave up: the answer is closed unused
};

namespace {


/// The answer must be what was asked for: a socket of that family and type that is neither
/// listening nor bound (so not connected either). Anything else came from a container that
/// does not follow the protocol.
Result<void> checkSocket(int fd, ContainerSocket kind) {
  auto facts = socketFacts(fd);
  if (!facts) return fail(ErrorKind::Unavailable, "the container's init sent something other than a socket");
  const int domain = (kind == ContainerSocket::Tcp4 || kind == ContainerSocket::Udp4) ? AF_INET : AF_INET6;
  const int type = (kind == ContainerSocket::Tcp4 || kind == ContainerSocket::Tcp6) ? SOCK_STREAM : SOCK_DGRAM;
  if (facts->domain != domain || facts->type != type || facts->listening || facts->bound) {
    return fail(ErrorKind::Unavailable, "the container's init sent the wrong kind of socket");
  }
  return {};
}

}  // namespace

InitChannel::InitChannel(asio::any_io_executor executor, std::string run, std::size_t maxWaitingForInit)
    : executor_(std::move(executor)), run_(std::move(run)), maxWaitingForInit_(maxWaitingForInit) {}

InitChannel::~InitChannel() = default;

void InitChannel::attach(asio::local::stream_protocol::socket channel, std::function<void()> onEnd) {
  if (closed_ || channel_) return;  // the run closed meanwhile; the channel closes with `channel`
  channel_.emplace(std::move(channel));
  onEnd_ = std::move(onEnd);
  asio::co_spawn(executor_, readAnswers(shared_from_this()), logFailure("init_channel"));
  flush();
}

asio::awaitable<Result<UniqueFd>> InitChannel::request(ContainerSocket kind, std::chrono::steady_clock::duration timeout) {
  auto self = shared_from_this();  // the channel outlives every request in flight
  if (closed_) co_return fail(ErrorKind::Unavailable, "the container's port channel is closed");
  std::erase_if(unsent_, [](const auto& waiter) { return waiter->abandoned; });  // only live ones count
  if (!channel_ && unsent_.size() >= maxWaitingForInit_) {
    co_return fail(ErrorKind::Unavailable, "too many connections wait for the container to start");
  }
  auto waiter = std::make_shared<Waiter>(executor_, kind);
  unsent_.push_back(waiter);
  flush();
  if (!waiter->outcome) {
    waiter->wake.expires_after(timeout);
    boost::system::error_code ec;
    co_await waiter->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (waiter->outcome) co_return std::move(*waiter->outcome);
  waiter->abandoned = true;
  co_return fail(ErrorKind::Unavailable, "the container did not hand out a socket in time");
}

void InitChannel::flush() {
  if (!channel_ || closed_ || writing_) return;
  // A requester that timed out before its byte went out needs no answer.
  std::erase_if(unsent_, [](const auto& waiter) { return waiter->abandoned; });
  while (!unsent_.empty() && answering_.size() < kMaxRequestsInFlight) {
    std::vector<std::byte> batch;
    for (std::size_t i = 0; i < unsent_.size() && answering_.size() + batch.size() < kMaxRequestsInFlight; ++i) {
      batch.push_back(static_cast<std::byte>(unsent_[i]->kind));
    }
    auto sent = sendNonBlocking(channel_->native_handle(), batch);
    if (!sent) {
      end("the channel failed");
      return;
    }
    for (std::size_t i = 0; i < *sent; ++i) {
      answering_.push_back(std::move(unsent_.front()));
      unsent_.pop_front();
    }
    if (*sent < batch.size()) {
      // The init is slow to read: the rest goes out when there is room, still in order.
      writing_ = true;
      asio::co_spawn(executor_, writeWhenReady(shared_from_this()), logFailure("init_channel"));
      return;
    }
  }
}

asio::awaitable<void> InitChannel::writeWhenReady(std::shared_ptr<InitChannel> self) {
  boost::system::error_code ec;
  co_await self->channel_->async_wait(asio::socket_base::wait_write, asio::redirect_error(asio::use_awaitable, ec));
  self->writing_ = false;
  if (self->closed_) co_return;
  if (ec) {
    self->end("waiting to write to the channel failed");
    co_return;
  }
  self->flush();
}

asio::awaitable<void> InitChannel::readAnswers(std::shared_ptr<InitChannel> self) {
  while (!self->closed_) {
    boost::system::error_code ec;
    co_await self->channel_->async_wait(asio::socket_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (self->closed_) co_return;
    if (ec) {
      self->end("waiting to read from the channel failed");
      co_return;
    }
    for (;;) {
      // One byte per call: an answer's descriptor belongs to its byte.
      std::byte value{};
      auto got = receiveNonBlocking(self->channel_->native_handle(), {&value, 1}, 1);
      if (got.status == ReceiveStatus::WouldBlock) break;
      if (got.status == ReceiveStatus::Closed) {
        self->end("the container's init closed the channel");
        co_return;
      }
      if (got.status == ReceiveStatus::Failed) {
        // ECONNRESET: pid 1 exited with requests unread.
        self->end(got.error == ECONNRESET ? "the container's init closed the channel" : "reading the channel failed");
        co_return;
      }
      if (self->answering_.empty()) {
        self->end("the container's init answered a request that was not made");
        co_return;
      }
      self->answer(value, std::move(got.fds), got.truncated);
    }
    self->flush();  // answers free room in the window for requests that wait
  }
}

void InitChannel::answer(std::byte value, std::vector<UniqueFd> fds, bool truncated) {
  auto waiter = std::move(answering_.front());
  answering_.pop_front();
  const int code = std::to_integer<int>(value);
  Result<UniqueFd> outcome = fail(ErrorKind::Unavailable, "the container's init sent a malformed answer");
  if (truncated) {
    spdlog::warn("event=init_answer_refused run={} reason=\"more than one descriptor\"", run_);
  } else if (code != 0) {
    outcome = fail(ErrorKind::Unavailable, "the container refused a socket", std::strerror(code));
  } else if (fds.size() != 1) {
    spdlog::warn("event=init_answer_refused run={} reason=\"no descriptor\"", run_);
  } else if (auto checked = checkSocket(fds.front().get(), waiter->kind); !checked) {
    spdlog::warn("event=init_answer_refused run={} reason=\"{}\"", run_, checked.error().message);
    outcome = checked.error();
  } else {
    outcome = std::move(fds.front());
  }
  if (waiter->abandoned) return;  // its requester timed out; a socket received is closed here
  waiter->outcome = std::move(outcome);
  waiter->wake.cancel();
}

void InitChannel::failAll(const char* why) {
  auto fail1 = [why](std::deque<std::shared_ptr<Waiter>>& waiters) {
    for (auto& waiter : waiters) {
      if (waiter->abandoned || waiter->outcome) continue;
      waiter->outcome = fail(ErrorKind::Unavailable, "no way into the container", why);
      waiter->wake.cancel();
    }
    waiters.clear();
  };
  fail1(unsent_);
  fail1(answering_);
}

void InitChannel::end(const char* why) {
  if (closed_) return;
  closed_ = true;
  spdlog::info("event=port_channel_ended run={} reason=\"{}\"", run_, why);
  if (channel_) {
    boost::system::error_code ignored;
    channel_->close(ignored);
  }
  failAll(why);
  if (auto done = std::exchange(onEnd_, nullptr)) done();
}

void InitChannel::close() {
  if (closed_) return;
  closed_ = true;
  onEnd_ = nullptr;
  if (channel_) {
    boost::system::error_code ignored;
    channel_->close(ignored);
  }
  failAll("the run was closed");
}

}  // namespace dockerbox::proxy
