// Opening a database written by an older schema version migrates it in place, keeping its data.
#include <gtest/gtest.h>

#include "store/schema.h"
#include "store/sqlite.h"
#include "store/store.h"
#include "temp_dir.h"

namespace pbxwall::store {
namespace {

// Schema version 1 exactly as the first release created it, with rows in it. Written out here
// rather than taken from migrations() so that an accidental edit of a released migration shows.
constexpr const char* kVersion1Database = R"sql(
CREATE TABLE blocked (address TEXT PRIMARY KEY, rule TEXT NOT NULL, reason TEXT NOT NULL,
                      since_us INTEGER NOT NULL, until_us INTEGER NOT NULL);
CREATE TABLE validated (address TEXT PRIMARY KEY, user TEXT NOT NULL, until_us INTEGER NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL,
                     kind TEXT NOT NULL, address TEXT NOT NULL, user TEXT NOT NULL,
                     rule TEXT NOT NULL, reason TEXT NOT NULL);
INSERT INTO blocked VALUES ('192.0.2.66', 'fingerprint', 'svmap fingerprint',
                            1700000000000000, 1700000900000000);
INSERT INTO validated VALUES ('198.51.100.10', '300', 1700003600000000);
INSERT INTO events (time_us, kind, address, user, rule, reason)
  VALUES (1700000000000000, 'block', '192.0.2.66', '', 'fingerprint', 'svmap fingerprint');
PRAGMA user_version = 1;
)sql";

const TimePoint t0 = from_epoch_seconds(1'700'000'000);

TEST(Schema, MigrationsAreOrderedAndContiguous) {
  int expected = 1;
  for (const Migration& m : migrations()) EXPECT_EQ(m.version, expected++) << m.what;
  EXPECT_EQ(latest_schema_version(), expected - 1);
  EXPECT_GE(latest_schema_version(), 2);
}

TEST(Schema, NewAndCurrentDatabasesNeedNoMigration) {
  test::TempDir dir;
  const std::string path = dir.path() / "new.db";
  {
    auto s = StateStore::open(path);
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ((*s)->schema_version_at_open(), 0);
    EXPECT_EQ((*s)->schema_version(), latest_schema_version());
  }
  auto again = StateStore::open(path);
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ((*again)->schema_version_at_open(), latest_schema_version());
  auto read_only = StateStore::open_read_only(path);
  ASSERT_TRUE(read_only.ok()) << read_only.error();
  EXPECT_EQ((*read_only)->schema_version_at_open(), latest_schema_version());
}

TEST(Schema, Version1DatabaseIsMigratedWithItsData) {
  test::TempDir dir;
  const std::string path = dir.path() / "v1.db";
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec(kVersion1Database).ok());
  }
  auto s = StateStore::open(path);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ((*s)->schema_version(), latest_schema_version());
  EXPECT_EQ((*s)->schema_version_at_open(), 1);

  auto blocks = (*s)->active_blocks(t0);
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ(blocks->front().address, "192.0.2.66");
  EXPECT_EQ(blocks->front().times_blocked, 1);  // column added by version 2, defaulted
  EXPECT_EQ(blocks->front().until, t0 + std::chrono::seconds(900));
  EXPECT_EQ((*s)->active_validated(t0)->size(), 1u);
  auto events = (*s)->events(t0, 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().reason, "svmap fingerprint");
  // Tables added by later versions work.
  ASSERT_TRUE((*s)->upsert_flag({"203.0.113.5", "301", "x", t0, t0, 1}).ok());
  EXPECT_EQ((*s)->flags()->size(), 1u);
}

TEST(Schema, StepwiseMigrationReachesTheSameSchema) {
  auto stepwise = sql::Database::open(":memory:");
  auto direct = sql::Database::open(":memory:");
  ASSERT_TRUE(stepwise.ok() && direct.ok());
  for (int v = 1; v <= latest_schema_version(); ++v) ASSERT_TRUE(migrate(**stepwise, v).ok());
  ASSERT_TRUE(migrate(**direct).ok());
  auto dump = [](sql::Database& db) {
    auto stmt = db.cached("SELECT type || ' ' || name || ': ' || sql FROM sqlite_schema "
                          "WHERE name NOT LIKE 'sqlite_%' ORDER BY name");
    std::string out;
    while (*(*stmt)->step()) out += (*stmt)->column_text(0) + "\n";
    return out;
  };
  EXPECT_EQ(dump(**stepwise), dump(**direct));
  EXPECT_NE(dump(**direct).find("flagged"), std::string::npos);
}

TEST(Schema, NewerDatabaseIsRefused) {
  test::TempDir dir;
  const std::string path = dir.path() / "future.db";
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 999").ok());
  }
  auto s = StateStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("999"), std::string::npos);
  EXPECT_NE(s.error().find(path), std::string::npos);
}

TEST(Schema, FailedMigrationLeavesEarlierVersion) {
  test::TempDir dir;
  const std::string path = dir.path() / "broken.db";
  {
    auto db = sql::Database::open(path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->exec(kVersion1Database).ok());
    // A table that migration 2 wants to create already exists: migration 2 must fail whole.
    ASSERT_TRUE((*db)->exec("CREATE TABLE flagged (x INTEGER)").ok());
  }
  auto s = StateStore::open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("schema version 2"), std::string::npos);
  auto db = sql::Database::open(path);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->query_int("PRAGMA user_version"), 1);
  // The ALTER TABLE of the failed migration was rolled back with it.
  auto cols = (*db)->query_int("SELECT count(*) FROM pragma_table_info('blocked')");
  EXPECT_EQ(*cols, 5);
}

}  // namespace
}  // namespace pbxwall::store
