// dockerbox's own durable state: the event log behind `/events?since=&until=`. Runs in the
// engine (dockerbox-engine, unprivileged). Input: events the broker built from its own
// state changes and from miniboxd's event stream; query bounds the decoder already
// range-checked.
#include "engine/state/state_store.hpp"

#include <algorithm>

namespace dockerbox::broker::state {
namespace {

std::optional<std::int64_t> widen(const std::optional<std::uint32_t>& id) {
  if (!id) return std::nullopt;
  return std::int64_t{*id};
}

std::optional<std::uint32_t> narrow(const std::optional<std::int64_t>& id) {
  if (!id) return std::nullopt;
  return static_cast<std::uint32_t>(*id);
}

// Attributes of the events with seq in [first, last], merged into `events` (sorted by seq).
Result<void> attachAttributes(Db& db, std::vector<Event>& events) {
  if (events.empty()) return {};
  auto stmt = db.prepare(
      "SELECT event_seq, key, value FROM event_attributes "
      "WHERE event_seq BETWEEN ?1 AND ?2 ORDER BY event_seq, position");
  if (!stmt) return stmt.error();
  stmt->bindAll(events.front().seq, events.back().seq);
  auto next = events.begin();
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::int64_t seq = stmt->int64(0);
    // Rows of events the query filtered out (other owners, other times) are skipped.
    next = std::lower_bound(next, events.end(), seq,
                            [](const Event& e, std::int64_t s) { return e.seq < s; });
    if (next == events.end()) break;
    if (next->seq == seq) next->attributes.push_back(KeyValue{stmt->text(1), stmt->text(2)});
  }
  return {};
}

}  // namespace

Result<std::int64_t> StateStore::appendEvent(const NewEvent& event) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto inserted = db_.exec(
      "INSERT INTO events (time_nanos, type, action, actor_id, owner_uid, owner_gid) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      event.timeNanos, event.type, event.action, event.actorId, widen(event.ownerUid),
      widen(event.ownerGid));
  if (!inserted) return inserted.error();
  const std::int64_t seq = db_.lastInsertRowId();
  auto stmt = db_.prepare(
      "INSERT INTO event_attributes (event_seq, position, key, value) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) return stmt.error();
  std::int64_t position = 0;
  for (const KeyValue& attribute : event.attributes) {
    stmt->reset();
    auto done = stmt->bindAll(seq, position++, attribute.key, attribute.value).run();
    if (!done) return done.error();
  }
  // Keep the newest `eventRetention`: everything at or below the seq just past them goes
  // (their attributes cascade). Without that many events the subquery is NULL and the
  // comparison deletes nothing.
  auto trimmed = db_.exec(
      "DELETE FROM events WHERE seq <= "
      "(SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
      options_.eventRetention);
  if (!trimmed) return trimmed.error();
  auto committed = tx->commit();
  if (!committed) return committed.error();
  return seq;
}

Result<std::vector<Event>> StateStore::listEvents(const EventQuery& query) {
  const std::int64_t limit =
      query.limit > 0 ? std::min(query.limit, options_.eventRetention) : options_.eventRetention;
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(
      "SELECT seq, time_nanos, type, action, actor_id, owner_uid, owner_gid FROM events "
      "WHERE seq > ?1 AND time_nanos >= ?2 AND (?3 = 0 OR time_nanos <= ?3) "
      "AND (?4 IS NULL OR owner_uid = ?4) ORDER BY seq LIMIT ?5");
  if (!stmt) return stmt.error();
  stmt->bindAll(query.afterSeq, query.sinceNanos, query.untilNanos, widen(query.ownerUid), limit);
  std::vector<Event> events;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    Event e;
    e.seq = stmt->int64(0);
    e.timeNanos = stmt->int64(1);
    e.type = stmt->text(2);
    e.action = stmt->text(3);
    e.actorId = stmt->text(4);
    e.ownerUid = narrow(stmt->optionalInt64(5));
    e.ownerGid = narrow(stmt->optionalInt64(6));
    events.push_back(std::move(e));
  }
  auto attached = attachAttributes(db_, events);
  if (!attached) return attached.error();
  return events;
}

}  // namespace dockerbox::broker::state
