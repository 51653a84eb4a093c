// Connection settings and forward-only schema migrations of state.db. Runs in the engine
// (dockerbox-engine, unprivileged). Input: the database file, which only root can write
// (its directory is 0700).
#pragma once

#include "engine/state/sqlite.hpp"
#include "common/result.hpp"

namespace dockerbox::broker::state {

/// The schema version this build writes (`PRAGMA user_version`).
inline constexpr int kSchemaVersion = 5;

/// `PRAGMA application_id` of a dockerbox state database ("DBOX"), so a stray SQLite file
/// at the same path is refused rather than migrated.
inline constexpr int kApplicationId = 0x44424F58;

/// WAL, synchronous=FULL, foreign keys, busy timeout; checks each setting took effect.
[[nodiscard]] Result<void> configureConnection(Db& db);

/// Brings the schema up to kSchemaVersion, one transaction per step, so a kill in the
/// middle leaves the previous version intact. A database newer than this build is refused
/// (downgrades are not supported: an older broker would drop columns it does not know).
[[nodiscard]] Result<void> migrateSchema(Db& db);

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`; an error names what failed.
[[nodiscard]] Result<void> checkIntegrity(Db& db);

}  // namespace dockerbox::broker::state
