#include "store/sqlite.h"

#include <sqlite3.h>

namespace pbxwall::store::sql {

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int pos, std::int64_t v) {
  sqlite3_bind_int64(stmt_, pos, v);
  return *this;
}

Statement& Statement::bind(int pos, std::string_view v) {
  sqlite3_bind_text(stmt_, pos, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind_null(int pos) {
  sqlite3_bind_null(stmt_, pos);
  return *this;
}

Statement& Statement::bind_each(std::initializer_list<std::int64_t> values) {
  const int count = sqlite3_bind_parameter_count(stmt_);
  int pos = 1;
  for (std::int64_t v : values) {
    if (pos > count) break;
    sqlite3_bind_int64(stmt_, pos++, v);
  }
  return *this;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    reset();
    return false;
  }
  std::string why = std::string(sqlite3_errmsg(db_)) + " (in: " + sqlite3_sql(stmt_) + ")";
  reset();
  return fail(why);
}

Status<> Statement::run() {
  for (;;) {
    auto row = step();
    if (!row) return fail(row.error());
    if (!*row) return {};
  }
}

std::int64_t Statement::column_int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::column_text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

bool Statement::column_is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(path + ": cannot open database: " + why);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(db));
}

Result<std::unique_ptr<Database>> Database::open_read_only(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return fail(path + ": cannot open database for reading: " + why);
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  cache_.clear();  // statements must be finalized before the connection closes
  sqlite3_close(db_);
}

Status<> Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return fail(why);
  }
  return {};
}

Result<Statement*> Database::cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
    return fail(std::string(sqlite3_errmsg(db_)) + " (preparing: " + sql + ")");
  auto pos = cache_.emplace(sql, std::make_unique<Statement>(db_, stmt)).first;
  return pos->second.get();
}

Result<std::int64_t> Database::query_int(const char* sql) {
  auto stmt = cached(sql);
  if (!stmt) return fail(stmt.error());
  auto row = (*stmt)->step();
  if (!row) return fail(row.error());
  if (!*row) return fail(std::string("no row from: ") + sql);
  std::int64_t v = (*stmt)->column_int(0);
  (*stmt)->reset();
  return v;
}

std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

std::string Database::last_error() const { return sqlite3_errmsg(db_); }

}  // namespace pbxwall::store::sql
