// Thin RAII layer over SQLite for the state store. Runs in the engine (dockerbox-engine,
// unprivileged). Input: values from broker code, bound as parameters only.
#include "engine/state/sqlite.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace dockerbox::broker::state {

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string context = "sqlite ";
  context.append(what);
  context += ": ";
  context += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  context += " (code " + std::to_string(rc) + ")";
  return fail(ErrorKind::Internal, "state database error", std::move(context));
}

// ---- Stmt

Stmt& Stmt::noteBind(int rc, int index) {
  if (rc != SQLITE_OK && bindError_ == SQLITE_OK) {
    bindError_ = rc;
    bindErrorIndex_ = index;
  }
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  return noteBind(sqlite3_bind_int64(stmt_.get(), index, value), index);
}

Stmt& Stmt::bind(int index, std::string_view value) {
  // A null data pointer would bind SQL NULL rather than an empty string.
  const char* data = value.data() != nullptr ? value.data() : "";
  return noteBind(
      sqlite3_bind_text64(stmt_.get(), index, data, value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

Stmt& Stmt::bind(int index, const Blob& value) {
  // Same trap as text: an empty vector's data() may be null, which would bind NULL.
  static constexpr std::uint8_t kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  return noteBind(sqlite3_bind_blob64(stmt_.get(), index, data, value.size(), SQLITE_TRANSIENT),
                  index);
}

Stmt& Stmt::bindNull(int index) { return noteBind(sqlite3_bind_null(stmt_.get(), index), index); }

Result<bool> Stmt::step() {
  if (bindError_ != SQLITE_OK) {
    return sqliteError(
        nullptr, bindError_,
        "bind parameter " + std::to_string(bindErrorIndex_) + " of " + sqlite3_sql(stmt_.get()));
  }
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db_, rc, std::string("step ") + sqlite3_sql(stmt_.get()));
}

Result<void> Stmt::run() {
  auto row = step();
  if (!row) return row.error();
  if (*row) {
    return fail(ErrorKind::Internal, "state database error",
                std::string("statement returned a row: ") + sqlite3_sql(stmt_.get()));
  }
  return {};
}

void Stmt::reset() {
  sqlite3_reset(stmt_.get());  // returns the last step's error, already reported by step()
  sqlite3_clear_bindings(stmt_.get());
  bindError_ = SQLITE_OK;
  bindErrorIndex_ = 0;
}

std::int64_t Stmt::int64(int column) const { return sqlite3_column_int64(stmt_.get(), column); }

std::optional<std::int64_t> Stmt::optionalInt64(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_.get(), column);
}

std::string Stmt::text(int column) const {
  const unsigned char* data = sqlite3_column_text(stmt_.get(), column);
  int size = sqlite3_column_bytes(stmt_.get(), column);  // after _text(), per SQLite's docs
  if (data == nullptr) return {};
  return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(size)};
}

std::optional<std::string> Stmt::optionalText(int column) const {
  if (sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL) return std::nullopt;
  return text(column);
}

Blob Stmt::blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  int size = sqlite3_column_bytes(stmt_.get(), column);
  if (data == nullptr || size <= 0) return {};
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  return Blob(bytes, bytes + size);
}

// ---- Db

Result<Db> Db::open(const std::filesystem::path& file) {
  sqlite3* raw = nullptr;
  // FULLMUTEX as a second line of defence; StateStore already serialises every call.
  // NOFOLLOW: the state directory is root-only, but a symlinked database is never expected.
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW;
  int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
  Db db(raw);  // owns the handle even when open failed (SQLite allocates it anyway)
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "open " + file.string());
  sqlite3_extended_result_codes(raw, 1);
  // Defensive mode: no writes to the schema through PRAGMA writable_schema and friends, so
  // even a bug in our SQL cannot corrupt the file format.
  rc = sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "enable defensive mode");
  // Our schema has no views or triggers that need functions; refuse them in schema objects.
  rc = sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  if (rc != SQLITE_OK) return sqliteError(raw, rc, "disable trusted schema");
  return db;
}

Result<Stmt> Db::prepare(Sql sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.text(), -1, &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return sqliteError(db_.get(), rc, std::string("prepare ") + sql.text());
  }
  return Stmt(db_.get(), raw);
}

Result<void> Db::execScript(Sql sql) {
  const char* rest = sql.text();
  while (rest != nullptr && *rest != '\0') {
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), rest, -1, &raw, &tail);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return sqliteError(db_.get(), rc, std::string("prepare script part ") + rest);
    }
    rest = tail;
    if (raw == nullptr) continue;  // only whitespace or a comment was left
    Stmt stmt(db_.get(), raw);
    auto done = stmt.run();
    if (!done) return done.error();
  }
  return {};
}

std::int64_t Db::changes() const { return sqlite3_changes64(db_.get()); }

std::int64_t Db::lastInsertRowId() const { return sqlite3_last_insert_rowid(db_.get()); }

// ---- Transaction

Result<Transaction> Transaction::begin(Db& db) {
  auto begun = db.exec("BEGIN IMMEDIATE");
  if (!begun) return begun.error();
  return Transaction(db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Result<void> Transaction::commit() {
  if (db_ == nullptr) return fail(ErrorKind::Internal, "state database error", "commit twice");
  auto committed = db_->exec("COMMIT");
  if (!committed) return committed.error();  // the destructor rolls back
  db_ = nullptr;
  return {};
}

Transaction::~Transaction() {
  if (db_ == nullptr) return;
  // A failed COMMIT may already have ended the transaction; only roll back if one is open.
  if (sqlite3_get_autocommit(db_->handle()) != 0) return;
  auto rolledBack = db_->exec("ROLLBACK");
  if (!rolledBack) {
    // The next BEGIN will fail and report it; the half-done change is still not committed.
    spdlog::error("state: rollback failed context=\"{}\"", rolledBack.error().context);
  }
}

}  // namespace dockerbox::broker::state
