// dockerbox's own durable state: what Docker shows of volumes (their directories and owners
// are the monitor's, broker/monitor/volumes.hpp). Runs in the engine (dockerbox-engine,
// unprivileged). Input: names the broker's decoder checked, labels from create requests.
#include "engine/state/state_store.hpp"

namespace dockerbox::broker::state {
namespace {

#define DOCKERBOX_VOLUME_COLUMNS "SELECT name, creator_uid, creator_gid, created_at, anonymous FROM volumes "

Result<std::vector<VolumeRecord>> readVolumeRows(Db& db, Stmt& stmt) {
  std::vector<VolumeRecord> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) break;
    VolumeRecord r;
    r.name = stmt.text(0);
    r.creatorUid = static_cast<std::uint32_t>(stmt.int64(1));
    r.creatorGid = static_cast<std::uint32_t>(stmt.int64(2));
    r.createdAt = stmt.int64(3);
    r.anonymous = stmt.int64(4) != 0;
    out.push_back(std::move(r));
  }
  for (auto& r : out) {
    auto labels = db.prepare("SELECT key, value FROM volume_labels WHERE name = ?1 ORDER BY position");
    if (!labels) return labels.error();
    labels->bind(1, r.name);
    for (;;) {
      auto row = labels->step();
      if (!row) return row.error();
      if (!*row) break;
      r.labels.push_back(KeyValue{labels->text(0), labels->text(1)});
    }
  }
  return out;
}

}  // namespace

Result<void> StateStore::putVolume(const VolumeRecord& volume) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto existing = db_.prepare("SELECT 1 FROM volumes WHERE name = ?1");
  if (!existing) return existing.error();
  existing->bind(1, volume.name);
  auto row = existing->step();
  if (!row) return row.error();
  if (*row) return {};
  auto inserted = db_.exec(
      "INSERT INTO volumes (name, creator_uid, creator_gid, created_at, anonymous) VALUES (?1, ?2, ?3, ?4, ?5)",
      volume.name, static_cast<std::int64_t>(volume.creatorUid), static_cast<std::int64_t>(volume.creatorGid),
      volume.createdAt, static_cast<std::int64_t>(volume.anonymous ? 1 : 0));
  if (!inserted) return inserted.error();
  std::int64_t position = 0;
  for (const KeyValue& label : volume.labels) {
    auto added = db_.exec("INSERT INTO volume_labels (name, position, key, value) VALUES (?1, ?2, ?3, ?4)",
                          volume.name, position++, label.key, label.value);
    if (!added) return added.error();
  }
  return tx->commit();
}

Result<std::optional<VolumeRecord>> StateStore::getVolume(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_VOLUME_COLUMNS "WHERE name = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, name);
  auto rows = readVolumeRows(db_, *stmt);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<VolumeRecord>();
  return std::optional(std::move(rows->front()));
}

Result<std::vector<VolumeRecord>> StateStore::listVolumes() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_VOLUME_COLUMNS "ORDER BY name");
  if (!stmt) return stmt.error();
  return readVolumeRows(db_, *stmt);
}

Result<void> StateStore::removeVolumeRecord(std::string_view name) {
  std::lock_guard lock(mutex_);
  return db_.exec("DELETE FROM volumes WHERE name = ?1", name);
}

}  // namespace dockerbox::broker::state
