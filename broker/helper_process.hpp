// Starting and restarting the unprivileged helpers (the frontend's zygote, the engine).
// Runs as root. Input: the administrator's settings only.
#pragma once

#include "common/result.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace dockerbox::broker {

/// fork + exec of `argv[0]` as root with `fds` as descriptors 3, 4, ... (and stderr kept,
/// stdin /dev/null, nothing else), a minimal environment, default signal dispositions, an
/// empty signal mask and SIGKILL when dockerboxd dies. The helper enters its own sandbox.
[[nodiscard]] Result<pid_t> spawnHelper(const std::vector<std::string>& argv, std::span<const int> fds);

/// When to restart a helper that died: at once, unless it keeps dying within a second of
/// its start (a crash loop), which is then retried once a second instead of spinning.
class RestartSchedule {
 public:
  explicit RestartSchedule(boost::asio::io_context& io) : timer_(io) {}

  /// A new helper process is running.
  void started() { startedAt_ = std::chrono::steady_clock::now(); }

  /// The helper died: runs `restart` now or after the back-off. A restart that fails
  /// counts as a quick death and is retried the same way.
  void died(std::function<Result<void>()> restart, const char* what);

 private:
  static constexpr auto kQuickDeath = std::chrono::seconds(1);
  static constexpr int kMaxQuickDeaths = 5;
  static constexpr auto kBackoff = std::chrono::seconds(1);

  void schedule(std::function<Result<void>()> restart, const char* what);

  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point startedAt_{};
  int quickDeaths_ = 0;  // helpers that died within kQuickDeath of starting, in a row
};

}  // namespace dockerbox::broker
