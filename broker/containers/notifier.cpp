// Runs as root, in the broker. Input: none.
#include "broker/containers/notifier.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

Notifier::Notifier(asio::any_io_executor executor)
    : executor_(std::move(executor)), waiting_(std::make_shared<Waiting>()) {}

asio::awaitable<WakeReason> Notifier::wait(std::optional<std::chrono::steady_clock::time_point> deadline) {
  asio::steady_timer timer(executor_, deadline.value_or(std::chrono::steady_clock::time_point::max()));
  auto waiting = waiting_;
  auto self = waiting->insert(waiting->end(), &timer);
  struct Unregister {
    std::shared_ptr<Waiting> list;
    Waiting::iterator it;
    ~Unregister() { list->erase(it); }
  } unregister{waiting, self};
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  // Read the state directly: co_awaiting another awaitable (or async operation) after
  // cancellation throws operation_aborted (Asio's throw_if_cancelled default).
  asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  if (state.cancelled() != asio::cancellation_type::none) co_return WakeReason::Cancelled;
  co_return ec ? WakeReason::Notified : WakeReason::TimedOut;
}

void Notifier::notifyAll() {
  // cancel() only queues the waiters' completions; they unregister when they resume.
  for (auto* timer : *waiting_) timer->cancel();
}

asio::awaitable<void> parkUntilCancelled() {
  asio::steady_timer park(co_await asio::this_coro::executor, std::chrono::steady_clock::time_point::max());
  boost::system::error_code ec;
  co_await park.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace dockerbox::broker::containers
