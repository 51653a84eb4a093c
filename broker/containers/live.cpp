// Runs as root, in the broker. Input: container output bytes, passed through unparsed.
#include "broker/containers/live.hpp"

#include <algorithm>
#include <chrono>

namespace dockerbox::broker::containers {

std::int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void OutputTap::push(const OutputChunk& chunk) {
  if (endedAt_ || lagged_) return;  // a lagging tap resynchronises from the LogStore
  if (queue_.size() >= kTapQueueChunks) {
    lagged_ = true;
  } else {
    queue_.push_back(chunk);
  }
  notifier_.notifyAll();
}

void OutputTap::endRun(std::int64_t atNanos) {
  if (!endedAt_) endedAt_ = atNanos;
  notifier_.notifyAll();
}

std::int64_t LiveContainer::nextChunkTime() {
  lastChunkNanos_ = std::max(nowNanos(), lastChunkNanos_ + 1);
  return lastChunkNanos_;
}

std::int64_t LiveContainer::followFrom() const { return std::max(lastChunkNanos_, nowNanos() - 1); }

void LiveContainer::publish(const OutputChunk& chunk) {
  for (auto* tap : taps) tap->push(chunk);
}

void LiveContainer::endRun(std::int64_t atNanos) {
  for (auto* tap : taps) tap->endRun(atNanos);
  changed.notifyAll();
}

TapSubscription::TapSubscription(std::shared_ptr<LiveContainer> live, boost::asio::any_io_executor executor)
    : live_(std::move(live)), tap_(std::move(executor)) {
  live_->taps.push_back(&tap_);
}

TapSubscription::~TapSubscription() { std::erase(live_->taps, &tap_); }

std::shared_ptr<LiveContainer> LiveRegistry::get(const std::string& dockerId) {
  auto& entry = entries_[dockerId];
  if (!entry) entry = std::make_shared<LiveContainer>(executor_, dockerId);
  return entry;
}

std::shared_ptr<LiveContainer> LiveRegistry::find(const std::string& dockerId) const {
  auto found = entries_.find(dockerId);
  return found == entries_.end() ? nullptr : found->second;
}

void LiveRegistry::erase(const std::string& dockerId) { entries_.erase(dockerId); }

}  // namespace dockerbox::broker::containers
