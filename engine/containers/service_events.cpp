// Runs in the engine (dockerbox-engine, unprivileged). Input: a validated events request
// (times checked by the decoder, filter keys checked here) and the broker's own event log.
//
// Replays stored events in [since, until], then streams new ones until `until` (or until
// the client leaves). Both phases read the StateStore by sequence number, so nothing is
// missed or repeated between them, however slow the client is.
#include "engine/containers/event_filter.hpp"
#include "engine/containers/service.hpp"

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

/// Rows read from the store per query; a backlog is read in pages of this size.
constexpr std::int64_t kEventPage = 500;

/// Events of objects the caller cannot see are not theirs to know (P7); events of objects
/// nobody owns (images) are.
bool visibleTo(const Caller& who, const state::Event& e) {
  return !e.ownerUid || who.canSee(*e.ownerUid, e.ownerGid.value_or(static_cast<std::uint32_t>(-1)));
}

EventRecord toRecord(const state::Event& e) {
  EventRecord r{e.type, e.action, e.actorId, {}, e.timeNanos};
  for (const auto& kv : e.attributes) r.attributes.emplace_back(kv.key, kv.value);
  return r;
}

}  // namespace

asio::awaitable<Result<void>> ContainerService::handleEvents(const Caller& who, const EventsOp& op, StreamSink& sink,
                                                             Out out) {
  auto filter = EventFilter::parse(op.filters);
  if (!filter) co_return filter.error();
  if (op.sinceNanos != 0 && op.untilNanos != 0 && op.untilNanos < op.sinceNanos) {
    co_return fail(ErrorKind::BadRequest, "`since` time cannot be after `until` time");
  }
  // Everything up to lastSeq is either replayed now or outside [since, until]; later events
  // are streamed below. No suspension between the two reads keeps the boundary exact.
  std::int64_t lastSeq = bus_.lastSeq();
  std::vector<state::Event> replay;
  if (op.sinceNanos != 0) {
    state::EventQuery query{.sinceNanos = op.sinceNanos, .untilNanos = op.untilNanos, .limit = kEventPage};
    for (;;) {
      auto page = bus_.store().listEvents(query);
      if (!page) co_return page.error();
      for (auto& e : *page) {
        query.afterSeq = e.seq;
        if (e.seq <= lastSeq) replay.push_back(std::move(e));
      }
      if (static_cast<std::int64_t>(page->size()) < kEventPage || query.afterSeq >= lastSeq) break;
    }
  }
  if (!co_await sink.accepted()) co_return fail(ErrorKind::Unavailable, "the client went away");
  for (const auto& e : replay) {
    if (visibleTo(who, e) && filter->matches(e) && !co_await sink.event(toRecord(e))) {
      co_return fail(ErrorKind::Unavailable, "the client went away");
    }
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (op.untilNanos != 0) {
    const std::int64_t left = op.untilNanos - nowNanos();
    if (left <= 0) {
      out.setStreamEnded();
      co_return Result<void>();
    }
    deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(left);
  }
  for (;;) {
    auto page = bus_.store().listEvents(
        {.afterSeq = lastSeq, .sinceNanos = op.sinceNanos, .untilNanos = op.untilNanos, .limit = kEventPage});
    if (!page) co_return page.error();
    for (const auto& e : *page) {
      lastSeq = e.seq;
      if (visibleTo(who, e) && filter->matches(e) && !co_await sink.event(toRecord(e))) {
        co_return fail(ErrorKind::Unavailable, "the client went away");
      }
    }
    if (static_cast<std::int64_t>(page->size()) == kEventPage) continue;
    auto woke = co_await bus_.notifier().wait(deadline);
    if (woke == WakeReason::Cancelled) co_return fail(ErrorKind::Unavailable, "the client went away");
    if (woke == WakeReason::TimedOut) break;
  }
  out.setStreamEnded();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
