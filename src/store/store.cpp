#include "store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include "base/address.h"
#include "store/schema.h"
#include "store/sqlite.h"

namespace pbxwall::store {
namespace {

std::int64_t us(TimePoint t) { return t.time_since_epoch().count(); }
TimePoint at(std::int64_t v) { return TimePoint(Duration(v)); }

// A host address, or a network (an IPv6 /64 blocked whole), in canonical text.
Result<std::string> canonical_address(const std::string& text, const char* where) {
  if (auto a = IpAddress::parse(text)) return a->str();
  if (text.find('/') != std::string::npos) {
    if (auto n = Cidr::parse(text)) return n->address().str() + "/" + std::to_string(n->prefix());
  }
  return fail(std::string(where) + ": address \"" + text + "\" is not an IP address or network");
}

// Runs a prepared statement, adding the operation's name to any error.
Status<> run(Result<sql::Statement*>& stmt, const char* where) {
  if (!stmt) return fail(std::string(where) + ": " + stmt.error());
  if (auto st = (*stmt)->run(); !st) return fail(std::string(where) + ": " + st.error());
  return {};
}

// Steps through all rows of `stmt`, converting each with `row`.
template <class T, class Row>
Result<std::vector<T>> collect(Result<sql::Statement*>& stmt, const char* where, Row row) {
  if (!stmt) return fail(std::string(where) + ": " + stmt.error());
  std::vector<T> out;
  for (;;) {
    auto more = (*stmt)->step();
    if (!more) return fail(std::string(where) + ": " + more.error());
    if (!*more) return out;
    out.push_back(row(**stmt));
  }
}

BlockRecord block_from(const sql::Statement& s) {
  return {s.column_text(0), s.column_text(1), s.column_text(2),
          at(s.column_int(3)), at(s.column_int(4)), s.column_int(5)};
}

EventRecord event_from(const sql::Statement& s) {
  return {s.column_int(0),  at(s.column_int(1)), s.column_text(2), s.column_text(3),
          s.column_text(4), s.column_text(5),    s.column_text(6)};
}

// The database is readable by root only: it lists who is blocked and who registered from
// where. An existing file is tightened too (with its -wal and -shm, which SQLite creates with
// the database's mode).
Status<> create_private(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.starts_with("file:")) return {};
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(path + ": cannot open database: " + std::strerror(errno));
  ::fchmod(fd, 0600);
  ::close(fd);
  for (const char* suffix : {"-wal", "-shm"}) ::chmod((path + suffix).c_str(), 0600);
  return {};
}

constexpr const char* kBlockColumns =
    "SELECT address, rule, reason, since_us, until_us, times_blocked FROM blocked ";
constexpr const char* kEventColumns =
    "SELECT id, time_us, kind, address, user, rule, reason FROM events ";

}  // namespace

StateStore::StateStore(std::unique_ptr<sql::Database> db, Retention retention)
    : db_(std::move(db)), retention_(retention) {}

StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& path, Retention retention) {
  if (auto st = create_private(path); !st) return fail(st.error());
  auto db = sql::Database::open(path);
  if (!db) return fail(db.error());
  // The busy timeout comes first so that a second process (the CLI reading while the daemon
  // writes) waits instead of failing on the pragmas below.
  if (auto st = (*db)->exec("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;"
                            "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
      !st)
    return fail(path + ": " + st.error());
  auto at_open = (*db)->query_int("PRAGMA user_version");
  if (!at_open) return fail(path + ": reading schema version: " + at_open.error());
  if (auto st = migrate(**db); !st) return fail(path + ": " + st.error());
  auto store = std::unique_ptr<StateStore>(new StateStore(std::move(*db), retention));
  store->schema_at_open_ = static_cast<int>(*at_open);
  return store;
}

Status<> StateStore::refuse_writes(bool refuse) {
  return db_->exec(refuse ? "PRAGMA query_only = 1" : "PRAGMA query_only = 0");
}

Result<std::unique_ptr<StateStore>> StateStore::open_read_only(const std::string& path) {
  auto db = sql::Database::open_read_only(path);
  if (!db) return fail(db.error());
  if (auto st = (*db)->exec("PRAGMA busy_timeout = 5000;"); !st) return fail(path + ": " + st.error());
  auto version = (*db)->query_int("PRAGMA user_version");
  if (!version) return fail(path + ": " + version.error());
  if (*version == 0) return fail(path + ": not a pbxwall state database (no schema)");
  auto store = std::unique_ptr<StateStore>(new StateStore(std::move(*db), Retention{}));
  store->schema_at_open_ = static_cast<int>(*version);
  return store;
}

int StateStore::schema_version() {
  auto v = db_->query_int("PRAGMA user_version");
  return v ? static_cast<int>(*v) : -1;
}

Status<> StateStore::upsert_block(const BlockRecord& r) {
  auto address = canonical_address(r.address, "upsert_block");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO blocked (address, rule, reason, since_us, until_us, times_blocked) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (address) DO UPDATE SET "
      "rule = excluded.rule, reason = excluded.reason, since_us = excluded.since_us, "
      "until_us = excluded.until_us, times_blocked = excluded.times_blocked");
  if (stmt)
    (*stmt)->bind(1, *address).bind(2, r.rule).bind(3, r.reason).bind(4, us(r.since))
        .bind(5, us(r.until)).bind(6, r.times_blocked);
  return run(stmt, "upsert_block");
}

Status<> StateStore::add_block(const BlockRecord& r) {
  auto address = canonical_address(r.address, "add_block");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO blocked (address, rule, reason, since_us, until_us, times_blocked) "
      "VALUES (?1, ?2, ?3, ?4, ?5, 1) ON CONFLICT (address) DO UPDATE SET "
      "rule = excluded.rule, reason = excluded.reason, since_us = excluded.since_us, "
      "until_us = excluded.until_us, times_blocked = blocked.times_blocked + 1");
  if (stmt)
    (*stmt)->bind(1, *address).bind(2, r.rule).bind(3, r.reason).bind(4, us(r.since)).bind(5, us(r.until));
  return run(stmt, "add_block");
}

Status<> StateStore::remove_block(const std::string& address) {
  auto canonical = canonical_address(address, "remove_block");
  if (!canonical) return fail(canonical.error());
  auto stmt = db_->cached("DELETE FROM blocked WHERE address = ?1");
  if (stmt) (*stmt)->bind(1, *canonical);
  return run(stmt, "remove_block");
}

Result<std::optional<BlockRecord>> StateStore::find_block(const std::string& address) {
  auto canonical = canonical_address(address, "find_block");
  if (!canonical) return fail(canonical.error());
  static const std::string sql = std::string(kBlockColumns) + "WHERE address = ?1";
  auto stmt = db_->cached(sql.c_str());
  if (stmt) (*stmt)->bind(1, *canonical);
  auto rows = collect<BlockRecord>(stmt, "find_block", block_from);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return std::optional<BlockRecord>();
  return std::optional<BlockRecord>(rows->front());
}

Result<std::optional<TimePoint>> StateStore::block_until(const std::string& address) {
  auto canonical = canonical_address(address, "block_until");
  if (!canonical) return fail(canonical.error());
  auto stmt = db_->cached("SELECT until_us FROM blocked WHERE address = ?1");
  if (!stmt) return fail("block_until: " + stmt.error());
  (*stmt)->bind(1, *canonical);
  auto row = (*stmt)->step();
  if (!row) return fail("block_until: " + row.error());
  if (!*row) return std::optional<TimePoint>();
  const TimePoint until = at((*stmt)->column_int(0));
  (*stmt)->reset();
  return std::optional<TimePoint>(until);
}

Result<std::vector<BlockRecord>> StateStore::active_blocks(TimePoint now) {
  static const std::string sql =
      std::string(kBlockColumns) + "WHERE until_us > ?1 ORDER BY address";
  auto stmt = db_->cached(sql.c_str());
  if (stmt) (*stmt)->bind(1, us(now));
  return collect<BlockRecord>(stmt, "active_blocks", block_from);
}

Status<> StateStore::each_active_block(TimePoint now, const std::string& after,
                                       const std::function<bool(const BlockRecord&)>& each) {
  static const std::string sql =
      std::string(kBlockColumns) + "WHERE address > ?2 AND until_us > ?1 ORDER BY address";
  auto stmt = db_->cached(sql.c_str());
  if (!stmt) return fail("each_active_block: " + stmt.error());
  (*stmt)->bind(1, us(now)).bind(2, after);
  for (;;) {
    auto more = (*stmt)->step();
    if (!more) return fail("each_active_block: " + more.error());
    if (!*more) return {};
    if (!each(block_from(**stmt))) {
      (*stmt)->reset();
      return {};
    }
  }
}

Result<std::int64_t> StateStore::count_active_blocks(TimePoint now) {
  auto stmt = db_->cached("SELECT count(*) FROM blocked WHERE until_us > ?1");
  if (!stmt) return fail("count_active_blocks: " + stmt.error());
  (*stmt)->bind(1, us(now));
  auto row = (*stmt)->step();
  if (!row) return fail("count_active_blocks: " + row.error());
  const std::int64_t n = *row ? (*stmt)->column_int(0) : 0;
  (*stmt)->reset();
  return n;
}

Status<> StateStore::upsert_validated(const ValidatedRecord& r) {
  auto address = canonical_address(r.address, "upsert_validated");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO validated (address, user, until_us) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (address) DO UPDATE SET user = excluded.user, until_us = excluded.until_us");
  if (stmt) (*stmt)->bind(1, *address).bind(2, r.user).bind(3, us(r.until));
  return run(stmt, "upsert_validated");
}

Status<> StateStore::remove_validated(const std::string& address) {
  auto canonical = canonical_address(address, "remove_validated");
  if (!canonical) return fail(canonical.error());
  auto stmt = db_->cached("DELETE FROM validated WHERE address = ?1");
  if (stmt) (*stmt)->bind(1, *canonical);
  return run(stmt, "remove_validated");
}

Result<std::vector<ValidatedRecord>> StateStore::active_validated(TimePoint now) {
  auto stmt = db_->cached(
      "SELECT address, user, until_us FROM validated WHERE until_us > ?1 ORDER BY address");
  if (stmt) (*stmt)->bind(1, us(now));
  return collect<ValidatedRecord>(stmt, "active_validated", [](const sql::Statement& s) {
    return ValidatedRecord{s.column_text(0), s.column_text(1), at(s.column_int(2))};
  });
}

Status<> StateStore::remember_validated(const RememberedRecord& r) {
  auto address = canonical_address(r.address, "remember_validated");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO remembered (address, user, validated_us) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (address) DO UPDATE SET user = excluded.user, "
      "validated_us = max(validated_us, excluded.validated_us)");
  if (stmt) (*stmt)->bind(1, *address).bind(2, r.user).bind(3, us(r.validated));
  return run(stmt, "remember_validated");
}

Result<std::vector<RememberedRecord>> StateStore::remembered_since(TimePoint since) {
  auto stmt = db_->cached(
      "SELECT address, user, validated_us FROM remembered WHERE validated_us >= ?1 ORDER BY address");
  if (stmt) (*stmt)->bind(1, us(since));
  return collect<RememberedRecord>(stmt, "remembered_since", [](const sql::Statement& s) {
    return RememberedRecord{s.column_text(0), s.column_text(1), at(s.column_int(2))};
  });
}

Status<> StateStore::upsert_flag(const FlagRecord& r) {
  auto address = canonical_address(r.address, "upsert_flag");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO flagged (address, user, reason, first_seen_us, last_seen_us, count) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (address, user) DO UPDATE SET "
      "reason = excluded.reason, first_seen_us = excluded.first_seen_us, "
      "last_seen_us = excluded.last_seen_us, count = excluded.count");
  if (stmt)
    (*stmt)->bind(1, *address).bind(2, r.user).bind(3, r.reason).bind(4, us(r.first_seen))
        .bind(5, us(r.last_seen)).bind(6, r.count);
  return run(stmt, "upsert_flag");
}

Status<> StateStore::count_flag(const FlagRecord& r) {
  auto address = canonical_address(r.address, "count_flag");
  if (!address) return fail(address.error());
  auto stmt = db_->cached(
      "INSERT INTO flagged (address, user, reason, first_seen_us, last_seen_us, count) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (address, user) DO UPDATE SET "
      "reason = excluded.reason, last_seen_us = excluded.last_seen_us, count = flagged.count + excluded.count");
  if (stmt)
    (*stmt)->bind(1, *address).bind(2, r.user).bind(3, r.reason).bind(4, us(r.first_seen))
        .bind(5, us(r.last_seen)).bind(6, r.count);
  return run(stmt, "count_flag");
}

Status<> StateStore::remove_flag(const std::string& address, const std::string& user) {
  auto canonical = canonical_address(address, "remove_flag");
  if (!canonical) return fail(canonical.error());
  auto stmt = db_->cached("DELETE FROM flagged WHERE address = ?1 AND user = ?2");
  if (stmt) (*stmt)->bind(1, *canonical).bind(2, user);
  return run(stmt, "remove_flag");
}

Result<std::vector<FlagRecord>> StateStore::flags() {
  auto stmt = db_->cached(
      "SELECT address, user, reason, first_seen_us, last_seen_us, count FROM flagged "
      "ORDER BY last_seen_us DESC, address, user");
  return collect<FlagRecord>(stmt, "flags", [](const sql::Statement& s) {
    return FlagRecord{s.column_text(0),     s.column_text(1),     s.column_text(2),
                      at(s.column_int(3)), at(s.column_int(4)), s.column_int(5)};
  });
}

Result<std::int64_t> StateStore::add_event(const EventRecord& e) {
  auto stmt = db_->cached(
      "INSERT INTO events (time_us, kind, address, user, rule, reason) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (stmt)
    (*stmt)->bind(1, us(e.time)).bind(2, e.kind).bind(3, e.address).bind(4, e.user)
        .bind(5, e.rule).bind(6, e.reason);
  if (auto st = run(stmt, "add_event"); !st) return fail(st.error());
  return db_->last_insert_rowid();  // the id (INTEGER PRIMARY KEY) of the row just inserted
}

Result<std::vector<EventRecord>> StateStore::events(TimePoint since, std::int64_t limit) {
  static const std::string sql =
      std::string(kEventColumns) + "WHERE time_us >= ?1 ORDER BY time_us, id LIMIT ?2";
  auto stmt = db_->cached(sql.c_str());
  if (stmt) (*stmt)->bind(1, us(since)).bind(2, limit);
  return collect<EventRecord>(stmt, "events", event_from);
}

Result<std::vector<EventRecord>> StateStore::events_after(std::int64_t after_id,
                                                          std::int64_t limit) {
  static const std::string sql = std::string(kEventColumns) + "WHERE id > ?1 ORDER BY id LIMIT ?2";
  auto stmt = db_->cached(sql.c_str());
  if (stmt) (*stmt)->bind(1, after_id).bind(2, limit);
  return collect<EventRecord>(stmt, "events_after", event_from);
}

Result<PruneCounts> StateStore::prune(TimePoint now) {
  const std::int64_t cutoff = us(now - retention_.max_age);
  PruneCounts counts;
  // Each step: SQL, parameters (?1 = now, ?2 = age cutoff, ?3 = count bound), counter.
  struct Step {
    const char* sql;
    std::int64_t bound;
    std::int64_t* counter;
  };
  const Step steps[] = {
      {"DELETE FROM validated WHERE until_us <= ?1", 0, &counts.validated},
      {"DELETE FROM remembered WHERE validated_us < ?2", 0, &counts.validated},
      {"DELETE FROM blocked WHERE until_us <= ?2", 0, &counts.blocks},
      {"DELETE FROM blocked WHERE until_us <= ?1 AND address NOT IN (SELECT address FROM "
       "blocked WHERE until_us <= ?1 ORDER BY until_us DESC LIMIT ?3)",
       retention_.max_expired_blocks, &counts.blocks},
      {"DELETE FROM flagged WHERE last_seen_us < ?2", 0, &counts.flags},
      {"DELETE FROM flagged WHERE rowid NOT IN (SELECT rowid FROM flagged "
       "ORDER BY last_seen_us DESC LIMIT ?3)",
       retention_.max_flags, &counts.flags},
      {"DELETE FROM events WHERE time_us < ?2", 0, &counts.events},
      {"DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?3)",
       retention_.max_events, &counts.events},
  };
  auto body = [&]() -> Status<> {
    for (const Step& step : steps) {
      auto stmt = db_->cached(step.sql);
      if (stmt) (*stmt)->bind_each({us(now), cutoff, step.bound});
      if (auto st = run(stmt, "prune"); !st) return st;
      *step.counter += db_->changes();
    }
    return {};
  };
  if (in_transaction_) {
    if (auto st = body(); !st) return fail(st.error());
  } else if (auto st = transaction(body); !st) {
    return fail(st.error());
  }
  return counts;
}

Status<> StateStore::transaction(const std::function<Status<>()>& body) {
  if (in_transaction_) return fail("transaction: already inside a transaction");
  if (auto st = db_->exec("BEGIN IMMEDIATE"); !st) return fail("transaction: begin: " + st.error());
  in_transaction_ = true;
  Status<> result = body();
  in_transaction_ = false;
  if (!result) {
    (void)db_->exec("ROLLBACK");
    return result;
  }
  if (auto st = db_->exec("COMMIT"); !st) {
    (void)db_->exec("ROLLBACK");
    return fail("transaction: commit: " + st.error());
  }
  return {};
}

}  // namespace pbxwall::store
