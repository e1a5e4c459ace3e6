#include "store/state_file.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "store/schema.h"
#include "store/sqlite.h"

namespace pbxwall::store {
namespace {

// What the check found: nothing (the file is sound or new), a damaged file (why), or an error
// that is not about the file's content.
struct Verdict {
  std::optional<std::string> broken;
};

bool corrupt_code(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

// Table name -> column names of every table in `db` (sqlite_* internals aside).
Result<std::map<std::string, std::set<std::string>>> tables_of(sqlite3* db) {
  std::map<std::string, std::set<std::string>> out;
  sqlite3_stmt* stmt = nullptr;
  const char* sql =
      "SELECT m.name, p.name FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p "
      "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) return fail(std::string(sqlite3_errmsg(db)));
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    out[reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))].insert(
        reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1)));
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return fail(std::string(sqlite3_errstr(rc)));
  return out;
}

// PRAGMA quick_check, then the tables and columns that the migrations up to the file's
// user_version create (compared with a database migrated the same way in memory).
Result<Verdict> check(const std::string& path) {
  auto db = sql::Database::open(path);
  if (!db) return fail(db.error());
  sqlite3* h = (*db)->handle();
  (void)(*db)->exec("PRAGMA busy_timeout = 5000");
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(h, "PRAGMA quick_check", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = sqlite3_errmsg(h);
    if (corrupt_code(sqlite3_extended_errcode(h))) return Verdict{"integrity check: " + why};
    return fail(path + ": integrity check: " + why);
  }
  std::string problems;
  int rows = 0;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    std::string line = text != nullptr ? text : "";
    if (line != "ok" && ++rows <= 5) problems += (problems.empty() ? "" : "; ") + line;
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) {
    std::string why = sqlite3_errmsg(h);
    if (corrupt_code(sqlite3_extended_errcode(h)) || corrupt_code(rc)) return Verdict{"integrity check: " + why};
    return fail(path + ": integrity check: " + why);
  }
  if (!problems.empty()) return Verdict{"integrity check: " + problems};

  auto version = (*db)->query_int("PRAGMA user_version");
  if (!version) return fail(path + ": reading schema version: " + version.error());
  if (*version <= 0 || *version > latest_schema_version()) return Verdict{};  // new, or refused by migrate()
  auto reference = sql::Database::open(":memory:");
  if (!reference) return fail(reference.error());
  if (auto st = migrate(**reference, static_cast<int>(*version)); !st) return fail(st.error());
  auto want = tables_of((*reference)->handle());
  auto have = tables_of(h);
  if (!want) return fail(want.error());
  if (!have) {
    if (corrupt_code(sqlite3_extended_errcode(h))) return Verdict{"reading the schema: " + have.error()};
    return fail(path + ": reading the schema: " + have.error());
  }
  std::string missing;
  for (const auto& [table, columns] : *want) {
    auto found = have->find(table);
    if (found == have->end()) {
      missing += (missing.empty() ? "" : ", ") + ("table " + table);
      continue;
    }
    for (const auto& c : columns)
      if (!found->second.contains(c)) missing += (missing.empty() ? "" : ", ") + ("column " + table + "." + c);
  }
  if (!missing.empty())
    return Verdict{"schema version " + std::to_string(*version) + " but missing " + missing};
  return Verdict{};
}

std::string utc_stamp(TimePoint now) {
  const std::time_t t = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Status<> set_aside(const std::string& path, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(path, to, ec);
  if (ec) return fail(path + ": cannot move the damaged database to " + to + ": " + ec.message());
  // The write-ahead log belongs to the damaged file: left in place it would be replayed into
  // the new database.
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string from = path + suffix;
    if (!std::filesystem::exists(from, ec)) continue;
    std::filesystem::rename(from, to + suffix, ec);
    if (ec) return fail(from + ": cannot move it to " + to + suffix + ": " + ec.message());
  }
  return {};
}

}  // namespace

std::string broken_file_name(const std::string& path, TimePoint now) {
  const std::string base = path + ".broken-" + utc_stamp(now);
  std::string name = base;
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(name, ec) && n < 1000; ++n) name = base + "-" + std::to_string(n);
  return name;
}

Result<OpenedState> open_state_file(const std::string& path, TimePoint now, Retention retention) {
  OpenedState opened;
  std::optional<std::string> broken;
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(dir.string() + ": cannot create the state directory: " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  if (std::filesystem::is_regular_file(path, ec)) {
    if (std::filesystem::file_size(path, ec) == 0 && !ec) {
      broken = "empty file (0 bytes)";
    } else {
      auto verdict = check(path);
      if (!verdict) return fail(verdict.error());
      broken = verdict->broken;
    }
  }
  if (broken) {
    const std::string to = broken_file_name(path, now);
    if (auto st = set_aside(path, to); !st) return fail(st.error() + " (it is damaged: " + *broken + ")");
    opened.set_aside = SetAside{to, *broken};
  }
  auto store = StateStore::open(path, retention);
  if (!store) return fail(store.error());
  opened.store = std::move(*store);
  return opened;
}

}  // namespace pbxwall::store
