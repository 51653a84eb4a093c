// dockerbox's own durable state: exec records. Runs in the engine (dockerbox-engine,
// unprivileged). Input: ids the broker resolved and values it built from validated
// requests.
#include "engine/state/container_rows.hpp"
#include "engine/state/state_store.hpp"

namespace dockerbox::broker::state {
namespace {

#define DOCKERBOX_EXEC_COLUMNS                                                                \
  "SELECT exec_id, container_id, creator_uid, creator_gid, config, running, exit_code, pid, " \
  "created_at, seal FROM execs "

Result<std::vector<Exec>> readExecRows(Stmt& stmt) {
  std::vector<Exec> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) break;
    Exec e;
    e.execId = stmt.text(0);
    e.containerDockerId = stmt.text(1);
    e.creatorUid = static_cast<std::uint32_t>(stmt.int64(2));
    e.creatorGid = static_cast<std::uint32_t>(stmt.int64(3));
    e.config = stmt.blob(4);
    e.running = stmt.int64(5) != 0;
    if (auto code = stmt.optionalInt64(6)) e.exitCode = static_cast<int>(*code);
    e.pid = stmt.optionalInt64(7);
    e.createdAt = stmt.int64(8);
    e.seal = stmt.text(9);
    out.push_back(std::move(e));
  }
  return out;
}

Error noSuchExec(std::string_view execId) {
  return fail(ErrorKind::NotFound, "No such exec instance: " + std::string(execId));
}

}  // namespace

Result<Exec> StateStore::createExec(const NewExec& spec) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto container =
      existsLocked(db_, "SELECT 1 FROM containers WHERE docker_id = ?1", spec.containerDockerId);
  if (!container) return container.error();
  if (!*container) return noSuchContainer(spec.containerDockerId);
  Result<std::string> id = spec.execId;
  if (spec.execId.empty()) id = freshIdLocked("SELECT 1 FROM execs WHERE exec_id = ?1");
  if (!id) return id.error();
  if (!isFullId(*id)) return fail(ErrorKind::Internal, "state database error", "bad exec id " + *id);
  auto inserted = db_.exec(
      "INSERT INTO execs (exec_id, container_id, creator_uid, creator_gid, config, running, "
      "created_at, seal) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
      *id, spec.containerDockerId, std::int64_t{spec.creatorUid}, std::int64_t{spec.creatorGid},
      spec.config, spec.createdAt, spec.seal);
  if (!inserted) return inserted.error();
  // Keep the newest kMaxFinishedExecsPerContainer finished execs (the new one is not
  // running yet, so it counts and is the newest).
  auto pruned = db_.exec(
      "DELETE FROM execs WHERE container_id = ?1 AND running = 0 AND seq NOT IN "
      "(SELECT seq FROM execs WHERE container_id = ?1 AND running = 0 "
      "ORDER BY seq DESC LIMIT ?2)",
      spec.containerDockerId, kMaxFinishedExecsPerContainer);
  if (!pruned) return pruned.error();
  auto committed = tx->commit();
  if (!committed) return committed.error();
  Exec record;
  record.execId = std::move(*id);
  record.containerDockerId = spec.containerDockerId;
  record.creatorUid = spec.creatorUid;
  record.creatorGid = spec.creatorGid;
  record.config = spec.config;
  record.createdAt = spec.createdAt;
  record.seal = spec.seal;
  return record;
}

Result<Exec> StateStore::getExec(std::string_view execId) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_EXEC_COLUMNS "WHERE exec_id = ?1");
  if (!stmt) return stmt.error();
  stmt->bind(1, execId);
  auto rows = readExecRows(*stmt);
  if (!rows) return rows.error();
  if (rows->empty()) return noSuchExec(execId);
  return std::move(rows->front());
}

Result<std::vector<Exec>> StateStore::listExecs(std::string_view containerDockerId) {
  std::lock_guard lock(mutex_);
  auto stmt = db_.prepare(DOCKERBOX_EXEC_COLUMNS "WHERE container_id = ?1 ORDER BY seq");
  if (!stmt) return stmt.error();
  stmt->bind(1, containerDockerId);
  return readExecRows(*stmt);
}

#undef DOCKERBOX_EXEC_COLUMNS

Result<void> StateStore::setExecRunning(std::string_view execId, std::int64_t pid) {
  std::lock_guard lock(mutex_);
  auto updated = db_.exec("UPDATE execs SET running = 1, pid = ?2 WHERE exec_id = ?1", execId, pid);
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchExec(execId);
  return {};
}

Result<void> StateStore::setExecExited(std::string_view execId, int exitCode) {
  std::lock_guard lock(mutex_);
  auto updated = db_.exec("UPDATE execs SET running = 0, exit_code = ?2 WHERE exec_id = ?1", execId,
                          std::int64_t{exitCode});
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchExec(execId);
  return {};
}

Result<std::int64_t> StateStore::clearRunningExecs() {
  std::lock_guard lock(mutex_);
  auto updated = db_.exec("UPDATE execs SET running = 0 WHERE running = 1");
  if (!updated) return updated.error();
  return db_.changes();
}

}  // namespace dockerbox::broker::state
