// dockerbox's own durable state (P9): containers, execs and events in
// `<stateDir>/state.db`. Runs in the engine (dockerbox-engine, unprivileged). Input: values
// the broker built from validated requests, plus raw references and names from clients
// (resolveContainer, createContainer, rename), which are checked here against Docker's
// rules.
#pragma once

#include "engine/state/limits.hpp"
#include "broker/state/names.hpp"
#include "engine/state/records.hpp"
#include "engine/state/sqlite.hpp"
#include "common/result.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::state {

struct StateStoreOptions {
  IdGenerator idGenerator = randomDockerId;  ///< tests inject ids to control prefixes
  std::int64_t eventRetention = kEventRetention;
};

/// Every public call is one SQLite transaction (or one statement) under one mutex, so each
/// call is atomic both against other threads and against kill -9: after a crash the
/// database holds every call that returned and nothing of the one in flight.
/// The store enforces names, ids and referential integrity; which state transitions are
/// allowed (start a running container, remove without force) is the broker's decision.
class StateStore {
 public:
  /// Creates `stateDir` (0700) if needed, opens or creates `state.db` (0600), configures
  /// the connection and migrates the schema.
  [[nodiscard]] static Result<std::unique_ptr<StateStore>> open(
      const std::filesystem::path& stateDir, StateStoreOptions options = {});

  // ---- containers

  /// Records a new container in state Created with a fresh id. An empty name gets a
  /// generated one. Errors: BadRequest (invalid name, Docker's text), Conflict (name in
  /// use, Docker's text).
  [[nodiscard]] Result<Container> createContainer(const NewContainer& spec);

  /// A Docker-style `adjective_surname` name not held by any container right now.
  [[nodiscard]] Result<std::string> generateName();
  /// A fresh container or exec id not used so far, for a record sealed before it is created.
  [[nodiscard]] Result<std::string> freshContainerId();
  [[nodiscard]] Result<std::string> freshExecId();

  /// Docker's lookup order: exact full id, exact name (with or without '/'), unique id
  /// prefix. Errors: BadRequest `invalid name or ID supplied: ""` for an empty ref,
  /// BadRequest `multiple IDs found with provided prefix: <ref>`, NotFound
  /// `No such container: <ref>`.
  [[nodiscard]] Result<Container> resolveContainer(std::string_view untrustedRef);
  /// The same among the containers `visible` accepts (the caller's, P7): the others do not
  /// exist for this lookup, so they neither match nor make a prefix ambiguous.
  [[nodiscard]] Result<Container> resolveContainer(std::string_view untrustedRef,
                                                   const std::function<bool(const Container&)>& visible);

  /// By exact Docker id. NotFound `No such container: <id>`.
  [[nodiscard]] Result<Container> getContainer(std::string_view dockerId);
  /// The container whose current minibox id this is, if any.
  [[nodiscard]] Result<std::optional<Container>> findByMiniboxId(std::string_view miniboxId);
  /// Every container, newest first.
  [[nodiscard]] Result<std::vector<Container>> listContainers();
  /// Containers whose recorded state assumes a live miniboxd process (Running, Paused,
  /// Restarting): at start-up the broker compares them with miniboxd's List and marks the
  /// vanished ones Exited. Containers are never forgotten by reconciliation.
  [[nodiscard]] Result<std::vector<Container>> containersNeedingReconcile();
  /// Containers left in Removing by a crash between the two halves of a removal.
  [[nodiscard]] Result<std::vector<Container>> containersBeingRemoved();

  /// Running with a new minibox id. Clears exit code, OOM flag and error, like Docker; the
  /// minibox id is taken away from any other record that still held it.
  [[nodiscard]] Result<void> setRunning(std::string_view dockerId, std::string_view miniboxId,
                                        std::int64_t startedAt);
  [[nodiscard]] Result<void> setPaused(std::string_view dockerId);
  [[nodiscard]] Result<void> setUnpaused(std::string_view dockerId);
  /// Restarting and restartCount + 1.
  [[nodiscard]] Result<void> setRestarting(std::string_view dockerId);
  /// A restart its policy had planned will not happen: Restarting becomes Exited again
  /// (with the last run's status). Nothing changes in any other state.
  [[nodiscard]] Result<void> cancelRestart(std::string_view dockerId);
  /// Docker's HasBeenManuallyStopped (records.hpp).
  [[nodiscard]] Result<void> setManuallyStopped(std::string_view dockerId, bool stopped);
  /// A client starts the container: restart count 0 and not manually stopped, as Docker.
  [[nodiscard]] Result<void> resetRestarts(std::string_view dockerId);
  /// Exited with the given status. The minibox id is kept for late events.
  [[nodiscard]] Result<void> setExited(std::string_view dockerId, const ExitStatus& status);
  [[nodiscard]] Result<void> setRemoving(std::string_view dockerId);
  /// Dead (miniboxd reports Failed/Orphaned, or a removal failed half-way).
  [[nodiscard]] Result<void> setDead(std::string_view dockerId, std::string_view error,
                                     std::int64_t finishedAt);

  /// Renames. Errors: BadRequest (invalid name; same as the current name, Docker's text
  /// `Renaming a container with the same name as its current name`), Conflict (taken),
  /// NotFound.
  [[nodiscard]] Result<void> rename(std::string_view dockerId, std::string_view untrustedName);

  /// Deletes the record with its labels and execs. Events stay. NotFound if absent.
  [[nodiscard]] Result<void> removeContainer(std::string_view dockerId);

  // ---- execs

  /// Records an exec of an existing container with a fresh id, pruning the oldest finished
  /// execs of that container beyond kMaxFinishedExecsPerContainer. NotFound if the
  /// container is gone.
  [[nodiscard]] Result<Exec> createExec(const NewExec& spec);
  /// By exact id. NotFound `No such exec instance: <id>`.
  [[nodiscard]] Result<Exec> getExec(std::string_view execId);
  /// A container's execs, oldest first.
  [[nodiscard]] Result<std::vector<Exec>> listExecs(std::string_view containerDockerId);
  [[nodiscard]] Result<void> setExecRunning(std::string_view execId, std::int64_t pid);
  [[nodiscard]] Result<void> setExecExited(std::string_view execId, int exitCode);
  /// At start-up: no exec survives the broker (it held their streams), so every exec still
  /// marked running is marked finished with no exit code. Returns how many.
  [[nodiscard]] Result<std::int64_t> clearRunningExecs();

  // ---- events

  /// Appends an event and trims the log to the newest `eventRetention` in the same
  /// transaction. Returns its seq.
  [[nodiscard]] Result<std::int64_t> appendEvent(const NewEvent& event);
  /// Stored events matching `query`, oldest first.
  [[nodiscard]] Result<std::vector<Event>> listEvents(const EventQuery& query);

  /// SQLite's integrity_check and foreign_key_check. Meant for start-up and tests.
  [[nodiscard]] Result<void> checkIntegrity();

  // Volumes (state_store_volumes.cpp). putVolume keeps an existing record of the name.
  [[nodiscard]] Result<void> putVolume(const VolumeRecord& volume);
  [[nodiscard]] Result<std::optional<VolumeRecord>> getVolume(std::string_view name);
  [[nodiscard]] Result<std::vector<VolumeRecord>> listVolumes();
  [[nodiscard]] Result<void> removeVolumeRecord(std::string_view name);

  // Images pulled through dockerbox (state_store_images.cpp).
  /// Records (or replaces) what a pull verified.
  [[nodiscard]] Result<void> putImage(const ImageRecord& image);
  [[nodiscard]] Result<std::optional<ImageRecord>> getImage(std::string_view storeName);
  [[nodiscard]] Result<std::vector<ImageRecord>> listImageRecords();
  [[nodiscard]] Result<void> removeImageRecord(std::string_view storeName);

 private:
  StateStore(Db&& db, StateStoreOptions&& options);

  // Callers hold mutex_; these run inside the caller's transaction where there is one.
  Result<std::optional<Container>> loadContainerLocked(Sql sql, std::string_view key);
  Result<std::vector<Container>> loadContainersLocked(Sql sql, std::string_view key);
  Result<std::string> freshIdLocked(Sql existsSql);
  Result<std::string> generateNameLocked();
  Result<void> updateOneLocked(Sql sql, std::string_view dockerId);

  std::mutex mutex_;
  Db db_;
  StateStoreOptions options_;
};

}  // namespace dockerbox::broker::state
