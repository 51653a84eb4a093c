// dockerbox's own durable state: container state changes, rename and removal. Runs in the
// engine (dockerbox-engine, unprivileged). Input: Docker ids the broker resolved, and for
// rename a client-supplied name checked here against Docker's rules.
#include "engine/state/container_rows.hpp"
#include "engine/state/state_store.hpp"

namespace dockerbox::broker::state {

Result<void> StateStore::updateOneLocked(Sql sql, std::string_view dockerId) {
  auto updated = db_.exec(sql, dockerId);
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchContainer(dockerId);
  return {};
}

Result<void> StateStore::setRunning(std::string_view dockerId, std::string_view miniboxId,
                                    std::int64_t startedAt) {
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  // miniboxd draws ids at random, so an old record may still hold this one; the newest
  // start wins and the id keeps naming exactly one container.
  auto released =
      db_.exec("UPDATE containers SET minibox_id = NULL WHERE minibox_id = ?1 AND docker_id <> ?2",
               miniboxId, dockerId);
  if (!released) return released;
  auto updated = db_.exec(
      "UPDATE containers SET state = 'running', minibox_id = ?2, started_at = ?3, "
      "exit_code = NULL, oom_killed = 0, error = '' WHERE docker_id = ?1",
      dockerId, miniboxId, startedAt);
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchContainer(dockerId);
  return tx->commit();
}

Result<void> StateStore::setPaused(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return updateOneLocked("UPDATE containers SET state = 'paused' WHERE docker_id = ?1", dockerId);
}

Result<void> StateStore::setUnpaused(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return updateOneLocked("UPDATE containers SET state = 'running' WHERE docker_id = ?1", dockerId);
}

Result<void> StateStore::setRestarting(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return updateOneLocked(
      "UPDATE containers SET state = 'restarting', restart_count = restart_count + 1 "
      "WHERE docker_id = ?1",
      dockerId);
}

Result<void> StateStore::cancelRestart(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return db_.exec("UPDATE containers SET state = 'exited' WHERE docker_id = ?1 AND state = 'restarting'", dockerId);
}

Result<void> StateStore::setManuallyStopped(std::string_view dockerId, bool stopped) {
  std::lock_guard lock(mutex_);
  if (stopped) return updateOneLocked("UPDATE containers SET manually_stopped = 1 WHERE docker_id = ?1", dockerId);
  return updateOneLocked("UPDATE containers SET manually_stopped = 0 WHERE docker_id = ?1", dockerId);
}

Result<void> StateStore::resetRestarts(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return updateOneLocked("UPDATE containers SET restart_count = 0, manually_stopped = 0 WHERE docker_id = ?1",
                         dockerId);
}

Result<void> StateStore::setRemoving(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  return updateOneLocked("UPDATE containers SET state = 'removing' WHERE docker_id = ?1", dockerId);
}

Result<void> StateStore::setExited(std::string_view dockerId, const ExitStatus& status) {
  std::lock_guard lock(mutex_);
  auto updated = db_.exec(
      "UPDATE containers SET state = 'exited', exit_code = ?2, finished_at = ?3, "
      "oom_killed = ?4, error = ?5 WHERE docker_id = ?1",
      dockerId, std::int64_t{status.exitCode}, status.finishedAt, std::int64_t{status.oomKilled},
      status.error);
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchContainer(dockerId);
  return {};
}

Result<void> StateStore::setDead(std::string_view dockerId, std::string_view error,
                                 std::int64_t finishedAt) {
  std::lock_guard lock(mutex_);
  auto updated = db_.exec(
      "UPDATE containers SET state = 'dead', error = ?2, finished_at = ?3 WHERE docker_id = ?1",
      dockerId, error, finishedAt);
  if (!updated) return updated;
  if (db_.changes() == 0) return noSuchContainer(dockerId);
  return {};
}

Result<void> StateStore::rename(std::string_view dockerId, std::string_view untrustedName) {
  if (untrustedName.empty()) {
    return fail(ErrorKind::BadRequest, "Neither old nor new names may be empty");
  }
  auto name = normaliseContainerName(untrustedName);
  if (!name) return name.error();
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto current = loadContainerLocked(kSelectContainerById, dockerId);
  if (!current) return current.error();
  if (!*current) return noSuchContainer(dockerId);
  if ((*current)->name == *name) {
    return fail(ErrorKind::BadRequest,
                "Renaming a container with the same name as its current name");
  }
  auto holder = loadContainerLocked(kSelectContainerByName, *name);
  if (!holder) return holder.error();
  if (*holder) return nameConflict(*name, (*holder)->dockerId);
  auto updated = db_.exec("UPDATE containers SET name = ?2 WHERE docker_id = ?1", dockerId, *name);
  if (!updated) return updated;
  return tx->commit();
}

Result<void> StateStore::removeContainer(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  // One statement: the foreign keys' ON DELETE CASCADE removes labels and execs with it.
  return updateOneLocked("DELETE FROM containers WHERE docker_id = ?1", dockerId);
}

}  // namespace dockerbox::broker::state
