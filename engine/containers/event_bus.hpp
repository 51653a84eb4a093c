// Runs in the engine (dockerbox-engine, unprivileged). Input: events the container service
// builds from validated requests and miniboxd replies.
//
// Every container and image state change is appended to the StateStore's event log (which
// survives restarts and serves `/events?since=`) and wakes the live /events streams, which
// then read the new rows from the store by sequence number. Reading by seq means a slow
// stream never loses or duplicates an event and the broker keeps no per-stream queue.
#pragma once

#include "broker/containers/notifier.hpp"
#include "engine/state/records.hpp"
#include "engine/state/state_store.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <string>

namespace dockerbox::broker::containers {

class EventBus {
 public:
  EventBus(boost::asio::any_io_executor executor, state::StateStore& store);

  /// Learns the newest stored seq, so that streams without `since` start after it.
  [[nodiscard]] Result<void> open();

  /// Appends and wakes the streams. An append that fails is logged, not returned: the state
  /// change it reports has already happened and must not be undone or reported as failed.
  void publish(state::NewEvent event);

  [[nodiscard]] std::int64_t lastSeq() const { return lastSeq_; }
  Notifier& notifier() { return notifier_; }
  state::StateStore& store() { return store_; }

 private:
  state::StateStore& store_;
  Notifier notifier_;
  std::int64_t lastSeq_ = 0;
};

/// A container event as Docker emits it: attributes are the container's labels, then
/// `image` and `name`, then `extra` (e.g. exitCode); owner is the container's creator.
[[nodiscard]] state::NewEvent containerEvent(const state::Container& container, std::string action,
                                             state::KeyValues extra = {});

/// An image event (`pull`, `untag`, `delete`) as Docker emits it: actor `alpine:latest` (or
/// the image id), attribute `name` the repository.
[[nodiscard]] state::NewEvent imageEvent(std::string action, std::string actorId, std::string name,
                                         std::uint32_t uid, std::uint32_t gid);

}  // namespace dockerbox::broker::containers
