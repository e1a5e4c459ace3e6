#include "store/schema.h"

#include <array>
#include <string>

namespace pbxwall::store {
namespace {

// Times are microseconds since the Unix epoch (base/time.h), stored as INTEGER.
constexpr std::array kMigrations = {
    Migration{1, "blocked and validated sources, event history", R"sql(
CREATE TABLE blocked (
  address  TEXT PRIMARY KEY,
  rule     TEXT NOT NULL,
  reason   TEXT NOT NULL,
  since_us INTEGER NOT NULL,
  until_us INTEGER NOT NULL
);
CREATE TABLE validated (
  address  TEXT PRIMARY KEY,
  user     TEXT NOT NULL,
  until_us INTEGER NOT NULL
);
CREATE TABLE events (
  id      INTEGER PRIMARY KEY AUTOINCREMENT,
  time_us INTEGER NOT NULL,
  kind    TEXT NOT NULL,
  address TEXT NOT NULL,
  user    TEXT NOT NULL,
  rule    TEXT NOT NULL,
  reason  TEXT NOT NULL
);
)sql"},
    Migration{2, "block escalation count, flagged devices", R"sql(
ALTER TABLE blocked ADD COLUMN times_blocked INTEGER NOT NULL DEFAULT 1;
CREATE TABLE flagged (
  address       TEXT NOT NULL,
  user          TEXT NOT NULL,
  reason        TEXT NOT NULL,
  first_seen_us INTEGER NOT NULL,
  last_seen_us  INTEGER NOT NULL,
  count         INTEGER NOT NULL,
  PRIMARY KEY (address, user)
);
)sql"},
    Migration{3, "indexes for expiry and pruning", R"sql(
CREATE INDEX blocked_until ON blocked (until_us);
CREATE INDEX validated_until ON validated (until_us);
CREATE INDEX flagged_last_seen ON flagged (last_seen_us);
CREATE INDEX events_time ON events (time_us);
)sql"},
    Migration{4, "outbox of messages for peers (CrowdSec pushes)", R"sql(
CREATE TABLE outbox (
  seq      INTEGER PRIMARY KEY,
  kind     TEXT NOT NULL,
  address  TEXT NOT NULL,
  rule     TEXT NOT NULL,
  reason   TEXT NOT NULL,
  at_us    INTEGER NOT NULL,
  until_us INTEGER NOT NULL
);
)sql"},
    Migration{5, "addresses validated recently, kept past their validation (spoofing guard)", R"sql(
CREATE TABLE remembered (
  address      TEXT PRIMARY KEY,
  user         TEXT NOT NULL,
  validated_us INTEGER NOT NULL
);
CREATE INDEX remembered_validated ON remembered (validated_us);
)sql"},
};

// PBXWALL_SCHEMA_WITHOUT_NEWEST builds a program that knows every migration but the newest, as
// the previous release did: the package test upgrades a database it wrote (tests/package).
#ifdef PBXWALL_SCHEMA_WITHOUT_NEWEST
constexpr std::span<const Migration> kKnown = std::span<const Migration>(kMigrations).first(kMigrations.size() - 1);
#else
constexpr std::span<const Migration> kKnown = kMigrations;
#endif

}  // namespace

std::span<const Migration> migrations() { return kKnown; }

int latest_schema_version() { return kKnown.back().version; }

Status<> migrate(sql::Database& db, int target) {
  if (target < 0) target = latest_schema_version();
  auto current = db.query_int("PRAGMA user_version");
  if (!current) return fail("reading schema version: " + current.error());
  if (*current > latest_schema_version())
    return fail("schema version " + std::to_string(*current) + " is newer than this program's " +
                std::to_string(latest_schema_version()) + "; refusing to use it");
  for (const Migration& m : kKnown) {
    if (m.version <= *current || m.version > target) continue;
    std::string step = "BEGIN IMMEDIATE;\n" + std::string(m.sql) +
                       "\nPRAGMA user_version = " + std::to_string(m.version) + ";\nCOMMIT;";
    if (auto st = db.exec(step); !st) {
      (void)db.exec("ROLLBACK");
      return fail("migration to schema version " + std::to_string(m.version) + " (" + m.what +
                  ") failed: " + st.error());
    }
  }
  return {};
}

}  // namespace pbxwall::store
