// Mapping between Container records and rows of state.db (internal to the state store).
// Runs in the engine (dockerbox-engine, unprivileged). Input: rows of the engine's own
// database.
#pragma once

#include "engine/state/records.hpp"
#include "engine/state/sqlite.hpp"

#include <string_view>
#include <vector>

namespace dockerbox::broker::state {

// Every query below selects the columns readContainerRows() expects, in that order, and
// takes at most one parameter (?1).
#define DOCKERBOX_CONTAINER_COLUMNS                                                    \
  "SELECT docker_id, minibox_id, name, image, image_ref, creator_uid, creator_gid, "   \
  "config, state, exit_code, oom_killed, error, created_at, started_at, finished_at, " \
  "restart_count, auto_remove, tty, seal, manually_stopped FROM containers "

inline constexpr char kSelectContainerById[] = DOCKERBOX_CONTAINER_COLUMNS "WHERE docker_id = ?1";
inline constexpr char kSelectContainerByName[] = DOCKERBOX_CONTAINER_COLUMNS "WHERE name = ?1";
inline constexpr char kSelectContainerByMiniboxId[] =
    DOCKERBOX_CONTAINER_COLUMNS "WHERE minibox_id = ?1";
// Hex digits sort below 'g', so [p, p || 'g') is exactly the ids starting with p, and the
// range uses the unique index on docker_id. All rows: the caller may see only some of them.
inline constexpr char kSelectContainersByIdPrefix[] = DOCKERBOX_CONTAINER_COLUMNS
    "WHERE docker_id >= ?1 AND docker_id < ?1 || 'g' ORDER BY docker_id";
inline constexpr char kSelectAllContainers[] =
    DOCKERBOX_CONTAINER_COLUMNS "ORDER BY created_at DESC, seq DESC";
inline constexpr char kSelectContainersToReconcile[] =
    DOCKERBOX_CONTAINER_COLUMNS "WHERE state IN ('running', 'paused', 'restarting') ORDER BY seq";
inline constexpr char kSelectContainersBeingRemoved[] =
    DOCKERBOX_CONTAINER_COLUMNS "WHERE state = 'removing' ORDER BY seq";

#undef DOCKERBOX_CONTAINER_COLUMNS

/// Reads every row of `stmt` (a query above) and each container's labels.
[[nodiscard]] Result<std::vector<Container>> readContainerRows(Db& db, Stmt& stmt);

/// Inserts the container row and its labels (the caller holds the transaction).
[[nodiscard]] Result<void> insertContainerLocked(Db& db, const Container& record);

/// true if `sql` (a `SELECT 1 ... WHERE x = ?1`) yields a row for `key`.
[[nodiscard]] Result<bool> existsLocked(Db& db, Sql sql, std::string_view key);

}  // namespace dockerbox::broker::state
