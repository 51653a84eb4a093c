// Runs in: dockerbox-proxy (see run_context.hpp).
#include "proxy/run_context.hpp"

#include <boost/asio/post.hpp>

#include <utility>

namespace dockerbox::proxy {

RunContext::RunContext(boost::asio::any_io_executor executor, std::string run, Limits limits,
                       std::function<void()> onGone)
    : executor_(std::move(executor)),
      name_(run.substr(0, 12)),
      limits_(limits),
      onGone_(std::move(onGone)),
      init_(std::make_shared<InitChannel>(executor_, name_, limits_.maxWaitingForInit)) {}

RunContext::~RunContext() {
  close();
  // Posted, not called: this runs inside whatever dropped the last reference (a coroutine
  // frame being destroyed, the monitor's command handler), which must not be re-entered.
  if (onGone_) boost::asio::post(executor_, std::move(onGone_));
}

std::optional<std::uint64_t> RunContext::track(std::function<void()> close) {
  if (closed_) return std::nullopt;
  const std::uint64_t id = nextId_++;
  holders_.emplace(id, std::move(close));
  return id;
}

void RunContext::untrack(std::uint64_t id) { holders_.erase(id); }

void RunContext::close() {
  if (closed_) return;
  closed_ = true;
  init_->close();
  // A holder's close may untrack others (a port closing its connections): take the map.
  auto holders = std::exchange(holders_, {});
  for (auto& [id, closeHolder] : holders) closeHolder();
}

}  // namespace dockerbox::proxy
