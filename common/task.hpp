// Completion handlers for coroutines a process starts and does not wait for (co_spawn):
// an exception that escapes one is a bug, and is logged with the task's name and counted,
// never dropped silently (asio::detached would swallow it). Used by dockerboxd, the engine
// and the port proxy; header-only (spdlog).
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <exception>

namespace dockerbox {

/// How many exceptions have escaped a spawned task in this process.
inline std::atomic<std::uint64_t>& escapedTaskExceptions() {
  static std::atomic<std::uint64_t> count{0};
  return count;
}

/// Logs and counts what a spawned task threw; `task` must be a string literal.
inline void reportTaskException(const char* task, const std::exception_ptr& thrown) {
  if (!thrown) return;
  const auto count = ++escapedTaskExceptions();
  try {
    std::rethrow_exception(thrown);
  } catch (const std::exception& e) {
    spdlog::error("event=task_failed task={} error=\"{}\" escaped_total={}", task, e.what(), count);
  } catch (...) {
    spdlog::error("event=task_failed task={} error=\"a non-standard exception\" escaped_total={}", task, count);
  }
}

/// The completion token for co_spawn in place of asio::detached.
inline auto logFailure(const char* task) {
  return [task](const std::exception_ptr& thrown) { reportTaskException(task, thrown); };
}

}  // namespace dockerbox
