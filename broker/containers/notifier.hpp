// Runs as root, in the broker. Input: none: an in-process wake-up for coroutines.
//
// The container service is single-threaded (everything runs on the broker's io_context), so
// its waiters need no lock, only a way to sleep until "something changed". A Notifier is
// that: notifyAll() wakes every coroutine in wait(); a waiter re-checks its own condition
// after every wake-up, so a spurious or coalesced wake-up is harmless.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <list>
#include <memory>
#include <optional>

namespace dockerbox::broker::containers {

enum class WakeReason {
  Notified,   // notifyAll() was called
  TimedOut,   // the deadline passed first
  Cancelled,  // the waiting coroutine was cancelled (its client went away)
};

class Notifier {
 public:
  explicit Notifier(boost::asio::any_io_executor executor);
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  /// Sleeps until notifyAll(), the deadline, or cancellation of the calling coroutine
  /// (Asio terminal cancellation through its cancellation slot).
  boost::asio::awaitable<WakeReason> wait(
      std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

  void notifyAll();

 private:
  // Shared with the waiters: a waiter's frame may be destroyed after the Notifier (at
  // shutdown the io_context destroys suspended coroutines last), and it unregisters itself.
  using Waiting = std::list<boost::asio::steady_timer*>;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<Waiting> waiting_;
};

/// Sleeps until the calling coroutine is cancelled (used to park a finished side of a
/// two-sided stream until the other side ends).
boost::asio::awaitable<void> parkUntilCancelled();

}  // namespace dockerbox::broker::containers
