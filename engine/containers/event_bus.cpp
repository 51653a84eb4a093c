// Runs in the engine (dockerbox-engine, unprivileged). Input: events built by the container
// service.
#include "engine/containers/event_bus.hpp"

#include "broker/containers/live.hpp"

#include <spdlog/spdlog.h>

namespace dockerbox::broker::containers {

EventBus::EventBus(boost::asio::any_io_executor executor, state::StateStore& store)
    : store_(store), notifier_(std::move(executor)) {}

Result<void> EventBus::open() {
  // Oldest first and bounded by the retention, so page through to the newest.
  for (;;) {
    auto events = store_.listEvents(state::EventQuery{.afterSeq = lastSeq_});
    if (!events) return events.error();
    if (events->empty()) return {};
    lastSeq_ = events->back().seq;
  }
}

void EventBus::publish(state::NewEvent event) {
  if (event.timeNanos == 0) event.timeNanos = nowNanos();
  auto seq = store_.appendEvent(event);
  if (!seq) {
    spdlog::error("event=event_append_failed type={} action={} error=\"{}\"", event.type, event.action,
                  seq.error().context);
    return;
  }
  lastSeq_ = std::max(lastSeq_, *seq);
  notifier_.notifyAll();
}

state::NewEvent containerEvent(const state::Container& container, std::string action, state::KeyValues extra) {
  state::NewEvent e;
  e.type = "container";
  e.action = std::move(action);
  e.actorId = container.dockerId;
  for (const auto& label : container.labels) {
    if (label.key != "image" && label.key != "name") e.attributes.push_back(label);
  }
  e.attributes.push_back({"image", container.image});
  e.attributes.push_back({"name", container.name});
  for (auto& kv : extra) e.attributes.push_back(std::move(kv));
  e.ownerUid = container.creatorUid;
  e.ownerGid = container.creatorGid;
  return e;
}

state::NewEvent imageEvent(std::string action, std::string actorId, std::string name, std::uint32_t uid,
                           std::uint32_t gid) {
  state::NewEvent e;
  e.type = "image";
  e.action = std::move(action);
  e.actorId = std::move(actorId);
  e.attributes.push_back({"name", std::move(name)});
  e.ownerUid = uid;
  e.ownerGid = gid;
  return e;
}

}  // namespace dockerbox::broker::containers
