// Mapping between Container records and rows of state.db (internal to the state store).
// Runs in the engine (dockerbox-engine, unprivileged). Input: rows of the engine's own
// database; values the CHECK constraints should have kept out are still reported as errors,
// never trusted.
#include "engine/state/container_rows.hpp"

#include <array>

namespace dockerbox::broker::state {
namespace {

constexpr std::array<std::string_view, 7> kStateNames = {
    "created", "running", "paused", "restarting", "removing", "exited", "dead"};

Result<KeyValues> loadLabels(Db& db, std::string_view dockerId) {
  auto stmt =
      db.prepare("SELECT key, value FROM container_labels WHERE docker_id = ?1 ORDER BY position");
  if (!stmt) return stmt.error();
  stmt->bind(1, dockerId);
  KeyValues labels;
  for (;;) {
    auto row = stmt->step();
    if (!row) return row.error();
    if (!*row) break;
    labels.push_back(KeyValue{stmt->text(0), stmt->text(1)});
  }
  return labels;
}

std::uint32_t toId(std::int64_t value) { return static_cast<std::uint32_t>(value); }

}  // namespace

std::string_view toString(ContainerState state) {
  return kStateNames.at(static_cast<std::size_t>(state));
}

std::optional<ContainerState> containerStateFromString(std::string_view text) {
  for (std::size_t i = 0; i < kStateNames.size(); ++i) {
    if (kStateNames[i] == text) return static_cast<ContainerState>(i);
  }
  return std::nullopt;
}

Result<std::vector<Container>> readContainerRows(Db& db, Stmt& stmt) {
  std::vector<Container> out;
  for (;;) {
    auto row = stmt.step();
    if (!row) return row.error();
    if (!*row) break;
    Container c;
    c.dockerId = stmt.text(0);
    c.miniboxId = stmt.optionalText(1);
    c.name = stmt.text(2);
    c.image = stmt.text(3);
    c.imageRef = stmt.text(4);
    c.creatorUid = toId(stmt.int64(5));
    c.creatorGid = toId(stmt.int64(6));
    c.config = stmt.blob(7);
    auto state = containerStateFromString(stmt.text(8));
    if (!state) {
      return fail(ErrorKind::Internal, "state database error",
                  "container " + c.dockerId + " has unknown state " + stmt.text(8));
    }
    c.state = *state;
    if (auto code = stmt.optionalInt64(9)) c.exitCode = static_cast<int>(*code);
    c.oomKilled = stmt.int64(10) != 0;
    c.error = stmt.text(11);
    c.createdAt = stmt.int64(12);
    c.startedAt = stmt.int64(13);
    c.finishedAt = stmt.int64(14);
    c.restartCount = stmt.int64(15);
    c.autoRemove = stmt.int64(16) != 0;
    c.tty = stmt.int64(17) != 0;
    c.seal = stmt.text(18);
    c.manuallyStopped = stmt.int64(19) != 0;
    out.push_back(std::move(c));
  }
  // Labels after the main query is done, one indexed lookup per container: simple, and a
  // host has at most a few thousand containers.
  for (Container& c : out) {
    auto labels = loadLabels(db, c.dockerId);
    if (!labels) return labels.error();
    c.labels = std::move(*labels);
  }
  return out;
}

Result<void> insertContainerLocked(Db& db, const Container& r) {
  auto inserted = db.exec(
      "INSERT INTO containers (docker_id, minibox_id, name, image, image_ref, creator_uid, "
      "creator_gid, config, state, exit_code, oom_killed, error, created_at, started_at, "
      "finished_at, restart_count, auto_remove, tty, seal) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
      r.dockerId, r.miniboxId, r.name, r.image, r.imageRef, std::int64_t{r.creatorUid},
      std::int64_t{r.creatorGid}, r.config, toString(r.state),
      r.exitCode ? std::optional<std::int64_t>(*r.exitCode) : std::nullopt,
      std::int64_t{r.oomKilled}, r.error, r.createdAt, r.startedAt, r.finishedAt, r.restartCount,
      std::int64_t{r.autoRemove}, std::int64_t{r.tty}, r.seal);
  if (!inserted) return inserted;
  auto stmt = db.prepare(
      "INSERT INTO container_labels (docker_id, position, key, value) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt) return stmt.error();
  std::int64_t position = 0;
  for (const KeyValue& label : r.labels) {
    stmt->reset();
    auto done = stmt->bindAll(r.dockerId, position++, label.key, label.value).run();
    if (!done) return done;
  }
  return {};
}

Result<bool> existsLocked(Db& db, Sql sql, std::string_view key) {
  auto stmt = db.prepare(sql);
  if (!stmt) return stmt.error();
  stmt->bind(1, key);
  return stmt->step();
}

}  // namespace dockerbox::broker::state
