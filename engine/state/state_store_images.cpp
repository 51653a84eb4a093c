// dockerbox's own durable state: the images it pulled itself. Runs in the engine
// (dockerbox-engine, unprivileged). Input: records the engine built from a pull whose
// digests it verified.
#include "engine/state/state_store.hpp"

namespace dockerbox::broker::state {
namespace {

#define DOCKERBOX_IMAGE_COLUMNS \
  "SELECT store_name, reference, repo_digest, manifest_digest, config_digest, config, size, pulled_at FROM images "

Result<std::vector<ImageRecord>> readImageRows(Stmt& stmt) {
  std::vector<ImageRecord> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) break;
    ImageRecord r;
    r.storeName = stmt.text(0);
    r.reference = stmt.text(1);
    r.repoDigest = stmt.text(2);
    r.manifestDigest = stmt.text(3);
    r.configDigest = stmt.text(4);
    r.config = stmt.blob(5);
    r.size = stmt.int64(6);
    r.pulledAt = stmt.int64(7);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<void> StateStore::putImage(const ImageRecord& image) {
  std::lock_guard lock(mutex_);
  return db_.exec(
      "INSERT OR REPLACE INTO images (store_name, reference, repo_digest, manifest_digest, config_digest, config, "
      "size, pulled_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
      image.storeName, image.reference, image.repoDigest, image.manifestDigest, image.configDigest, image.config,
      image.size, image.pulledAt);
}

Result<std::optional<ImageRecord>> StateStore::getImage(std::string_view storeName) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_IMAGE_COLUMNS "WHERE store_name = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, storeName);
  auto rows = readImageRows(*stmt);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<ImageRecord>();
  return std::optional(std::move(rows->front()));
}

Result<std::vector<ImageRecord>> StateStore::listImageRecords() {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_IMAGE_COLUMNS "ORDER BY store_name");
  if (!stmt) return stmt.error();
  return readImageRows(*stmt);
}

Result<void> StateStore::removeImageRecord(std::string_view storeName) {
  std::lock_guard lock(mutex_);
  return db_.exec("DELETE FROM images WHERE store_name = ?1", storeName);
}

}  // namespace dockerbox::broker::state
