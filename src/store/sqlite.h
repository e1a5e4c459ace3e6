// Thin RAII over the SQLite C API, private to the store: a connection, prepared statements with
// typed binding, and errors as values carrying SQLite's own message.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pbxwall::store::sql {

// A prepared statement. Reset after each use, so one object runs many times.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binding positions are 1-based, as in SQL's ?1, ?2...
  Statement& bind(int pos, std::int64_t v);
  Statement& bind(int pos, std::string_view v);
  Statement& bind_null(int pos);
  // Binds values to ?1, ?2, ... as far as the statement's highest parameter number; values for
  // numbers beyond it are ignored, so related statements can share one parameter list.
  Statement& bind_each(std::initializer_list<std::int64_t> values);

  // Runs a statement that returns no rows.
  Status<> run();
  // Steps once: true when a row is available, false when done. An error resets the statement.
  Result<bool> step();
  // Clears bindings and rewinds; done automatically by run() and when step() returns false.
  void reset();

  std::int64_t column_int(int col) const;
  std::string column_text(int col) const;
  bool column_is_null(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Database {
 public:
  // Opens (creating if absent) the file at `path`; ":memory:" gives a private in-memory database.
  static Result<std::unique_ptr<Database>> open(const std::string& path);
  // Opens an existing file for reading only (never creates, never writes).
  static Result<std::unique_ptr<Database>> open_read_only(const std::string& path);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more statements without results (schema changes, pragmas, BEGIN/COMMIT).
  Status<> exec(std::string_view sql);
  // A statement prepared once and cached by its text for the life of the connection.
  Result<Statement*> cached(const char* sql);
  // Runs a statement returning one integer (e.g. "PRAGMA user_version").
  Result<std::int64_t> query_int(const char* sql);

  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  std::string last_error() const;
  sqlite3* handle() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  // Keyed by text so that two call sites with the same SQL share one statement.
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace pbxwall::store::sql
