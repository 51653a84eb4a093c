// Connection settings and forward-only schema migrations of state.db. Runs in the engine
// (dockerbox-engine, unprivileged). Input: the database file, which only root can write
// (its directory is 0700).
#include "engine/state/schema.hpp"

#include "engine/state/limits.hpp"

#include <string>

namespace dockerbox::broker::state {
namespace {

// Version 1. Times are unix nanoseconds (0 = never); ids are 64 lowercase hex; booleans are
// 0/1. Children reference containers/events with ON DELETE CASCADE, so removing a container
// removes its labels and execs in the same statement. Events do not reference containers:
// they are history and outlive what they describe.
constexpr char kSchemaV1[] = R"sql(
CREATE TABLE containers (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, never reused
  docker_id     TEXT    NOT NULL UNIQUE CHECK (length(docker_id) = 64),
  minibox_id    TEXT    UNIQUE,                     -- current miniboxd id, NULL if none
  name          TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 2 AND 255),
  image         TEXT    NOT NULL,
  image_ref     TEXT    NOT NULL,
  creator_uid   INTEGER NOT NULL,
  creator_gid   INTEGER NOT NULL,
  config        BLOB    NOT NULL,                   -- the broker's own encoding, opaque here
  state         TEXT    NOT NULL CHECK (state IN ('created', 'running', 'paused',
                          'restarting', 'removing', 'exited', 'dead')),
  exit_code     INTEGER,
  oom_killed    INTEGER NOT NULL DEFAULT 0 CHECK (oom_killed IN (0, 1)),
  error         TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  started_at    INTEGER NOT NULL DEFAULT 0,
  finished_at   INTEGER NOT NULL DEFAULT 0,
  restart_count INTEGER NOT NULL DEFAULT 0,
  auto_remove   INTEGER NOT NULL DEFAULT 0 CHECK (auto_remove IN (0, 1)),
  tty           INTEGER NOT NULL DEFAULT 0 CHECK (tty IN (0, 1))
);
CREATE INDEX containers_by_state ON containers (state);

CREATE TABLE container_labels (
  docker_id TEXT    NOT NULL REFERENCES containers (docker_id) ON DELETE CASCADE,
  position  INTEGER NOT NULL,                       -- keeps the client's order
  key       TEXT    NOT NULL,
  value     TEXT    NOT NULL,
  PRIMARY KEY (docker_id, position)
) WITHOUT ROWID;

CREATE TABLE execs (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  exec_id      TEXT    NOT NULL UNIQUE CHECK (length(exec_id) = 64),
  container_id TEXT    NOT NULL REFERENCES containers (docker_id) ON DELETE CASCADE,
  creator_uid  INTEGER NOT NULL,
  creator_gid  INTEGER NOT NULL,
  config       BLOB    NOT NULL,
  running      INTEGER NOT NULL DEFAULT 0 CHECK (running IN (0, 1)),
  exit_code    INTEGER,
  pid          INTEGER,
  created_at   INTEGER NOT NULL
);
CREATE INDEX execs_by_container ON execs (container_id, seq);  -- also serves the cascade

CREATE TABLE events (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,     -- the replay cursor, never reused
  time_nanos INTEGER NOT NULL,
  type       TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  actor_id   TEXT    NOT NULL,
  owner_uid  INTEGER,
  owner_gid  INTEGER
);
CREATE INDEX events_by_time ON events (time_nanos);

CREATE TABLE event_attributes (
  event_seq INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
  position  INTEGER NOT NULL,
  key       TEXT    NOT NULL,
  value     TEXT    NOT NULL,
  PRIMARY KEY (event_seq, position)
) WITHOUT ROWID;

PRAGMA application_id = 1145196376;
PRAGMA user_version = 1;
)sql";

// Version 2: the monitor's seals (broker/monitor/seal.hpp). Records of version 1 have none
// and are refused by every act on them (re-create them).
constexpr char kSchemaV2[] = R"sql(
ALTER TABLE containers ADD COLUMN seal TEXT NOT NULL DEFAULT '';
ALTER TABLE execs ADD COLUMN seal TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 2;
)sql";

// Version 3: what dockerbox knows of the images it pulled itself (issue 10): the verified
// image config and digests, keyed by miniboxd's store name (the name Run finds it under).
constexpr char kSchemaV3[] = R"sql(
CREATE TABLE images (
  store_name      TEXT    PRIMARY KEY,          -- library/alpine:latest, ghcr.io/o/x:1
  reference       TEXT    NOT NULL,             -- canonical: docker.io/library/alpine:latest
  repo_digest     TEXT    NOT NULL CHECK (length(repo_digest) = 71),
  manifest_digest TEXT    NOT NULL CHECK (length(manifest_digest) = 71),
  config_digest   TEXT    NOT NULL CHECK (length(config_digest) = 71),
  config          BLOB    NOT NULL,             -- the image config's bytes, digest verified
  size            INTEGER NOT NULL,             -- compressed layers, from the manifest
  pulled_at       INTEGER NOT NULL
) WITHOUT ROWID;
PRAGMA user_version = 3;
)sql";

// Version 4: volumes (issue 11). Their directories and owners are the monitor's
// (broker/monitor/volumes.hpp); this is what Docker shows of them.
constexpr char kSchemaV4[] = R"sql(
CREATE TABLE volumes (
  name        TEXT    PRIMARY KEY CHECK (length(name) BETWEEN 2 AND 255),
  creator_uid INTEGER NOT NULL,
  creator_gid INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  anonymous   INTEGER NOT NULL DEFAULT 0 CHECK (anonymous IN (0, 1))
) WITHOUT ROWID;

CREATE TABLE volume_labels (
  name     TEXT    NOT NULL REFERENCES volumes (name) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  key      TEXT    NOT NULL,
  value    TEXT    NOT NULL,
  PRIMARY KEY (name, position)
) WITHOUT ROWID;
PRAGMA user_version = 4;
)sql";

// Version 5: restart policies (issue 11). Docker's HasBeenManuallyStopped: a container its
// user stopped is not started again by an `unless-stopped` policy when dockerbox starts.
constexpr char kSchemaV5[] = R"sql(
ALTER TABLE containers ADD COLUMN manually_stopped INTEGER NOT NULL DEFAULT 0 CHECK (manually_stopped IN (0, 1));
PRAGMA user_version = 5;
)sql";

struct Migration {
  int version;  // the user_version the script leaves behind
  Sql script;
};

// Append only. A released step is never edited: a new version gets a new entry.
constexpr Migration kMigrations[] = {
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

Result<std::int64_t> readPragmaInt(Db& db, Sql sql) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  auto row = stmt->step();
  if (!row) return row.error();
  if (!*row) return fail(ErrorKind::Internal, "state database error", "pragma returned no row");
  return stmt->int64(0);
}

Result<std::int64_t> userVersion(Db& db) { return readPragmaInt(db, "PRAGMA user_version"); }

}  // namespace

Result<void> configureConnection(Db& db) {
  int rc = sqlite3_busy_timeout(db.handle(), static_cast<int>(kBusyTimeout.count()));
  if (rc != SQLITE_OK) return sqliteError(db.handle(), rc, "busy_timeout");

  auto appId = readPragmaInt(db, "PRAGMA application_id");
  if (!appId) return appId.error();
  if (*appId != 0 && *appId != kApplicationId) {
    return fail(ErrorKind::Internal, "state database error",
                "state.db has application_id " + std::to_string(*appId) +
                    ": not a dockerbox state database");
  }

  // WAL: a commit appends to the -wal file and a reader never sees a half-written page. A
  // process killed at any instant leaves either the old or the new state; the next open
  // replays the committed frames and discards the rest.
  auto mode = db.prepare("PRAGMA journal_mode = WAL");
  if (!mode) return mode.error();
  auto modeRow = mode->step();
  if (!modeRow) return modeRow.error();
  if (!*modeRow || mode->text(0) != "wal") {
    return fail(ErrorKind::Internal, "state database error", "could not enable WAL mode");
  }
  // FULL: every COMMIT fsyncs the WAL before it returns, so a change the broker has
  // answered the client about survives a power cut as well, not only kill -9 (for kill -9
  // alone NORMAL would do, since the kernel keeps the written pages). State writes happen
  // at container lifecycle rate, so the fsync costs little.
  auto sync = db.exec("PRAGMA synchronous = FULL");
  if (!sync) return sync;
  // Cap the -wal file after checkpoints (bytes); without it a burst leaves it large forever.
  auto walLimit = readPragmaInt(db, "PRAGMA journal_size_limit = 16777216");
  if (!walLimit) return walLimit.error();
  auto fk = db.exec("PRAGMA foreign_keys = ON");
  if (!fk) return fk;
  auto fkOn = readPragmaInt(db, "PRAGMA foreign_keys");
  if (!fkOn) return fkOn.error();
  if (*fkOn != 1) {
    return fail(ErrorKind::Internal, "state database error", "could not enable foreign keys");
  }
  return {};
}

Result<void> migrateSchema(Db& db) {
  auto current = userVersion(db);
  if (!current) return current.error();
  if (*current > kSchemaVersion) {
    return fail(ErrorKind::Internal, "state database error",
                "state.db has schema version " + std::to_string(*current) +
                    ", newer than this dockerbox (" + std::to_string(kSchemaVersion) + ")");
  }
  for (const Migration& step : kMigrations) {
    auto tx = Transaction::begin(db);
    if (!tx) return tx.error();
    auto version = userVersion(db);  // re-read under the write lock
    if (!version) return version.error();
    if (*version >= step.version) continue;
    auto applied = db.execScript(step.script);
    if (!applied) return applied;
    auto after = userVersion(db);
    if (!after) return after.error();
    if (*after != step.version) {
      return fail(ErrorKind::Internal, "state database error",
                  "migration to " + std::to_string(step.version) + " left user_version " +
                      std::to_string(*after));
    }
    auto committed = tx->commit();
    if (!committed) return committed;
  }
  return {};
}

Result<void> checkIntegrity(Db& db) {
  auto integrity = db.prepare("PRAGMA integrity_check");
  if (!integrity) return integrity.error();
  auto row = integrity->step();
  if (!row) return row.error();
  if (!*row || integrity->text(0) != "ok") {
    return fail(ErrorKind::Internal, "state database error",
                "integrity_check: " + (*row ? integrity->text(0) : std::string("no result")));
  }
  auto foreignKeys = db.prepare("PRAGMA foreign_key_check");
  if (!foreignKeys) return foreignKeys.error();
  auto violation = foreignKeys->step();
  if (!violation) return violation.error();
  if (*violation) {
    return fail(ErrorKind::Internal, "state database error",
                "foreign_key_check: dangling row in " + foreignKeys->text(0));
  }
  return {};
}

}  // namespace dockerbox::broker::state
