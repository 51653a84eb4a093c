// Thin RAII layer over SQLite for the state store. Runs in the engine (dockerbox-engine,
// unprivileged). Input: values from broker code (already validated); they only ever reach
// SQLite as bound parameters, never as SQL text.
#pragma once

#include "broker/state/blob.hpp"
#include "common/result.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::state {

/// SQL text. The constructor is consteval, so only a compile-time constant (a literal) can
/// become SQL: no code path can splice a runtime string into a statement, and every value
/// has to travel as a bound parameter.
class Sql {
 public:
  template <std::size_t N>
  consteval Sql(const char (&text)[N]) : text_(text) {}  // NOLINT(google-explicit-constructor)
  [[nodiscard]] const char* text() const { return text_; }

 private:
  const char* text_;
};

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

/// A prepared statement. Binding errors are remembered and reported by the next step(), so
/// call sites can bind fluently and still never lose an error.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}

  Stmt& bind(int index, std::int64_t value);
  Stmt& bind(int index, std::string_view value);
  Stmt& bind(int index, const Blob& value);
  Stmt& bindNull(int index);
  template <class T>
  Stmt& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }
  /// Binds `values` to parameters 1..N in order.
  template <class... Ts>
  Stmt& bindAll(const Ts&... values) {
    int index = 0;
    (bind(++index, values), ...);
    return *this;
  }

  /// true: a row is ready to read; false: the statement is done.
  [[nodiscard]] Result<bool> step();
  /// Steps to the end; a statement that yields a row here is a bug in the caller.
  [[nodiscard]] Result<void> run();
  [[nodiscard]] int parameterCount() const { return sqlite3_bind_parameter_count(stmt_.get()); }
  /// Makes the statement ready to run again with new bindings.
  void reset();

  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] std::optional<std::int64_t> optionalInt64(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::optional<std::string> optionalText(int column) const;
  [[nodiscard]] Blob blob(int column) const;

 private:
  Stmt& noteBind(int rc, int index);

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
  int bindError_ = SQLITE_OK;
  int bindErrorIndex_ = 0;
};

/// One connection. Not thread-safe by itself: StateStore serialises every call.
class Db {
 public:
  /// Opens (creating if needed) the database file. The caller has already created the file
  /// with the permissions it wants; symlinks are refused.
  [[nodiscard]] static Result<Db> open(const std::filesystem::path& file);

  [[nodiscard]] Result<Stmt> prepare(Sql sql);
  /// Prepares, binds `values` to 1..N and runs to completion.
  template <class... Ts>
  [[nodiscard]] Result<void> exec(Sql sql, const Ts&... values) {
    auto stmt = prepare(sql);
    if (!stmt) return stmt.error();
    return stmt->bindAll(values...).run();
  }
  /// Runs a constant script of several statements (schema migrations), no parameters.
  [[nodiscard]] Result<void> execScript(Sql sql);
  /// Rows changed by the last INSERT/UPDATE/DELETE.
  [[nodiscard]] std::int64_t changes() const;
  [[nodiscard]] std::int64_t lastInsertRowId() const;

  [[nodiscard]] sqlite3* handle() const { return db_.get(); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  std::unique_ptr<sqlite3, DbCloser> db_;
};

/// BEGIN IMMEDIATE ... COMMIT. Rolls back in the destructor unless committed, so an early
/// `return error` in the middle of a multi-step change leaves nothing half-written.
/// IMMEDIATE takes the write lock up front: a read-then-write (check the name, then insert)
/// can never be overtaken by another writer between the two steps.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(Db& db);
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  [[nodiscard]] Result<void> commit();

 private:
  explicit Transaction(Db& db) : db_(&db) {}
  Db* db_;
};

/// An Internal error carrying SQLite's message in the log-only context.
[[nodiscard]] Error sqliteError(sqlite3* db, int rc, std::string_view what);

}  // namespace dockerbox::broker::state
