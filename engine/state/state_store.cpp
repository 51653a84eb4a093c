// dockerbox's own durable state: opening, creating and looking up containers. Runs in the
// engine (dockerbox-engine, unprivileged). Input: validated values from the broker, and
// client-supplied names and container references, checked here against Docker's rules and
// only ever bound as SQL parameters.
#include "engine/state/state_store.hpp"

#include "engine/state/container_rows.hpp"
#include "engine/state/private_fs.hpp"
#include "engine/state/schema.hpp"
#include "common/syscall.hpp"

#include <fcntl.h>

#include <utility>

namespace dockerbox::broker::state {
namespace {

// Plain names are tried this many times before a numeric suffix is added (Docker tries
// once, then appends a digit); the suffixed space is large enough that the last resort,
// a random hex suffix, practically never runs.
constexpr int kPlainNameAttempts = 8;
constexpr int kNameAttempts = 64;
// A fresh 256-bit id that collides is a broken generator, not bad luck.
constexpr int kIdAttempts = 4;

Result<void> createDbFile(const std::filesystem::path& file) {
  // Created 0600 before SQLite sees it; SQLite gives the -wal and -shm files the same mode.
  auto opened =
      DOCKERBOX_SYSCALL(::open(file.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600),
                        "create " + file.string());
  if (!opened) return opened.error();
  UniqueFd fd(*opened);
  return {};
}

}  // namespace

StateStore::StateStore(Db&& db, StateStoreOptions&& options)
    : db_(std::move(db)), options_(std::move(options)) {}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& stateDir,
                                                     StateStoreOptions options) {
  if (options.eventRetention < 1 || !options.idGenerator) {
    return fail(ErrorKind::Internal, "state store misconfigured", "bad StateStoreOptions");
  }
  auto dir = ensurePrivateDir(stateDir);
  if (!dir) return dir.error();
  const auto file = stateDir / "state.db";
  auto created = createDbFile(file);
  if (!created) return created.error();
  auto db = Db::open(file);
  if (!db) return db.error();
  auto configured = configureConnection(*db);
  if (!configured) return configured.error();
  auto migrated = migrateSchema(*db);
  if (!migrated) return migrated.error();
  return std::unique_ptr<StateStore>(new StateStore(std::move(*db), std::move(options)));
}

Result<void> StateStore::checkIntegrity() {
  std::lock_guard lock(mutex_);
  return state::checkIntegrity(db_);
}

// ---- creation

Result<std::string> StateStore::freshIdLocked(Sql existsSql) {
  for (int attempt = 0; attempt < kIdAttempts; ++attempt) {
    auto id = options_.idGenerator();
    if (!id) return id.error();
    if (!isFullId(*id)) {
      return fail(ErrorKind::Internal, "id generation failed", "generator gave a bad id");
    }
    auto taken = existsLocked(db_, existsSql, *id);
    if (!taken) return taken.error();
    if (!*taken) return id;
  }
  return fail(ErrorKind::Internal, "id generation failed", "every fresh id was taken");
}

Result<std::string> StateStore::generateNameLocked() {
  for (int attempt = 0; attempt <= kNameAttempts; ++attempt) {
    std::string name;
    if (attempt < kNameAttempts) {
      name = dockerStyleName(randomBelow, attempt < kPlainNameAttempts ? 0 : attempt);
    } else {
      auto suffix = randomHex(4);
      if (!suffix) return suffix.error();
      name = dockerStyleName(randomBelow, 0) + "_" + *suffix;
    }
    auto taken = existsLocked(db_, "SELECT 1 FROM containers WHERE name = ?1", name);
    if (!taken) return taken.error();
    if (!*taken) return name;
  }
  return fail(ErrorKind::Internal, "name generation failed", "every candidate name was taken");
}

Result<std::string> StateStore::freshContainerId() {
  std::lock_guard lock(mutex_);
  return freshIdLocked("SELECT 1 FROM containers WHERE docker_id = ?1");
}

Result<std::string> StateStore::freshExecId() {
  std::lock_guard lock(mutex_);
  return freshIdLocked("SELECT 1 FROM execs WHERE exec_id = ?1");
}

Result<std::string> StateStore::generateName() {
  std::lock_guard lock(mutex_);
  return generateNameLocked();
}

Result<Container> StateStore::createContainer(const NewContainer& spec) {
  std::string name;
  if (!spec.name.empty()) {
    auto normalised = normaliseContainerName(spec.name);
    if (!normalised) return normalised.error();
    name = std::move(*normalised);
  }
  std::lock_guard lock(mutex_);
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  if (name.empty()) {
    auto generated = generateNameLocked();
    if (!generated) return generated.error();
    name = std::move(*generated);
  } else {
    auto holder = loadContainerLocked(kSelectContainerByName, name);
    if (!holder) return holder.error();
    if (*holder) return nameConflict(name, (*holder)->dockerId);
  }
  Result<std::string> id = spec.dockerId;
  if (spec.dockerId.empty()) id = freshIdLocked("SELECT 1 FROM containers WHERE docker_id = ?1");
  if (!id) return id.error();
  if (!isFullId(*id)) return fail(ErrorKind::Internal, "state database error", "bad container id " + *id);

  Container record;
  record.dockerId = std::move(*id);
  record.name = std::move(name);
  record.image = spec.image;
  record.imageRef = spec.imageRef;
  record.labels = spec.labels;
  record.creatorUid = spec.creatorUid;
  record.creatorGid = spec.creatorGid;
  record.config = spec.config;
  record.state = ContainerState::Created;
  record.createdAt = spec.createdAt;
  record.autoRemove = spec.autoRemove;
  record.tty = spec.tty;
  record.seal = spec.seal;
  auto inserted = insertContainerLocked(db_, record);
  if (!inserted) return inserted.error();
  auto committed = tx->commit();
  if (!committed) return committed.error();
  return record;
}

// ---- lookups

Result<std::optional<Container>> StateStore::loadContainerLocked(Sql sql, std::string_view key) {
  auto found = loadContainersLocked(sql, key);
  if (!found) return found.error();
  if (found->empty()) return std::optional<Container>();
  return std::optional<Container>(std::move(found->front()));
}

Result<std::vector<Container>> StateStore::loadContainersLocked(Sql sql, std::string_view key) {
  auto stmt = db_.prepare(sql);
  if (!stmt) return stmt.error();
  // Statements with no parameter ignore the key; binding it would be a range error.
  if (stmt->parameterCount() > 0) stmt->bind(1, key);
  return readContainerRows(db_, *stmt);
}

Result<Container> StateStore::resolveContainer(std::string_view untrustedRef) {
  return resolveContainer(untrustedRef, [](const Container&) { return true; });
}

Result<Container> StateStore::resolveContainer(std::string_view untrustedRef,
                                               const std::function<bool(const Container&)>& visible) {
  if (untrustedRef.empty()) {
    return fail(ErrorKind::BadRequest, "invalid name or ID supplied: \"\"");
  }
  std::lock_guard lock(mutex_);
  if (isFullId(untrustedRef)) {
    auto byId = loadContainerLocked(kSelectContainerById, untrustedRef);
    if (!byId) return byId.error();
    if (*byId && visible(**byId)) return std::move(**byId);
  }
  std::string_view name = untrustedRef;
  if (name.front() == '/') name.remove_prefix(1);
  auto byName = loadContainerLocked(kSelectContainerByName, name);
  if (!byName) return byName.error();
  if (*byName && visible(**byName)) return std::move(**byName);
  if (isIdPrefix(untrustedRef)) {
    auto matches = loadContainersLocked(kSelectContainersByIdPrefix, untrustedRef);
    if (!matches) return matches.error();
    std::erase_if(*matches, [&](const Container& c) { return !visible(c); });
    if (matches->size() > 1) {
      return fail(ErrorKind::BadRequest,
                  "multiple IDs found with provided prefix: " + std::string(untrustedRef));
    }
    if (matches->size() == 1) return std::move(matches->front());
  }
  return noSuchContainer(untrustedRef);
}

Result<Container> StateStore::getContainer(std::string_view dockerId) {
  std::lock_guard lock(mutex_);
  auto found = loadContainerLocked(kSelectContainerById, dockerId);
  if (!found) return found.error();
  if (!*found) return noSuchContainer(dockerId);
  return std::move(**found);
}

Result<std::optional<Container>> StateStore::findByMiniboxId(std::string_view miniboxId) {
  std::lock_guard lock(mutex_);
  return loadContainerLocked(kSelectContainerByMiniboxId, miniboxId);
}

Result<std::vector<Container>> StateStore::listContainers() {
  std::lock_guard lock(mutex_);
  return loadContainersLocked(kSelectAllContainers, {});
}

Result<std::vector<Container>> StateStore::containersNeedingReconcile() {
  std::lock_guard lock(mutex_);
  return loadContainersLocked(kSelectContainersToReconcile, {});
}

Result<std::vector<Container>> StateStore::containersBeingRemoved() {
  std::lock_guard lock(mutex_);
  return loadContainersLocked(kSelectContainersBeingRemoved, {});
}

}  // namespace dockerbox::broker::state
