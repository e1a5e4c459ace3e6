#include "store/store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/schema.h"
#include "store/sqlite.h"
#include "temp_dir.h"

namespace pbxwall::store {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint t0 = from_epoch_seconds(1'700'000'000);

std::unique_ptr<StateStore> open_memory(Retention r = {}) {
  auto s = StateStore::open(":memory:", r);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error());
  return std::move(*s);
}

TEST(StateStore, BlockRoundTripAndUpsertReplaces) {
  auto s = open_memory();
  BlockRecord b{"192.0.2.7", "fingerprint", "svwar fingerprint: User-Agent friendly-scanner",
                t0, t0 + seconds(900), 1};
  ASSERT_TRUE(s->upsert_block(b).ok());
  auto found = s->find_block("192.0.2.7");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, b);

  BlockRecord again = b;
  again.until = t0 + hours(2);
  again.times_blocked = 2;
  again.reason = "7 usernames tried in 40 s";
  ASSERT_TRUE(s->upsert_block(again).ok());
  auto active = s->active_blocks(t0);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front(), again);
}

TEST(StateStore, AddedBlockCountsEscalationAndTellsItsEnd) {
  auto s = open_memory();
  auto none = s->block_until("192.0.2.7");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(s->add_block({"192.0.2.7", "manual", "first", t0, t0 + seconds(60), 7}).ok());
  auto first = s->find_block("192.0.2.7");
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->times_blocked, 1);  // a new block starts the count, whatever the record says
  ASSERT_TRUE(s->add_block({"192.0.2.7", "fingerprint", "second", t0 + seconds(10), t0 + hours(2), 1}).ok());
  auto second = s->find_block("192.0.2.7");
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ(**second, (BlockRecord{"192.0.2.7", "fingerprint", "second", t0 + seconds(10), t0 + hours(2), 2}));
  ASSERT_TRUE(s->add_block({"2001:DB8::9", "manual", "x", t0, t0 + seconds(30), 1}).ok());
  auto until = s->block_until("2001:db8:0::9");
  ASSERT_TRUE(until.ok());
  ASSERT_TRUE(until->has_value());
  EXPECT_EQ(**until, t0 + seconds(30));
  EXPECT_FALSE(s->block_until("not-an-address").ok());
}

TEST(StateStore, EventIdsIncrease) {
  auto s = open_memory();
  auto a = s->add_event({0, t0, "block", "192.0.2.7", "", "manual", "x"});
  auto b = s->add_event({0, t0, "block", "192.0.2.8", "", "manual", "y"});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GT(*b, *a);
  auto listed = s->events_after(*a, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().id, *b);
  EXPECT_EQ(listed->front().address, "192.0.2.8");
}

TEST(StateStore, AddressesAreCanonicalAndValidated) {
  auto s = open_memory();
  ASSERT_TRUE(s->upsert_block({"2001:DB8:0::1", "r", "x", t0, t0 + seconds(60), 1}).ok());
  auto found = s->find_block("2001:db8::1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->address, "2001:db8::1");

  auto bad = s->upsert_block({"not-an-address", "r", "x", t0, t0, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("upsert_block"), std::string::npos);
  EXPECT_NE(bad.error().find("not-an-address"), std::string::npos);
  EXPECT_FALSE(s->upsert_validated({"300", "300", t0}).ok());
}

TEST(StateStore, ActiveBlocksFilterExpiredAndRemoveWorks) {
  auto s = open_memory();
  ASSERT_TRUE(s->upsert_block({"192.0.2.1", "r", "a", t0, t0 + seconds(10), 1}).ok());
  ASSERT_TRUE(s->upsert_block({"192.0.2.2", "r", "b", t0, t0 + seconds(100), 1}).ok());
  ASSERT_TRUE(s->upsert_block({"2001:db8::5", "r", "c", t0, t0 + seconds(1000), 3}).ok());

  auto at = [&](TimePoint now) {
    std::vector<std::string> out;
    auto blocks = s->active_blocks(now);
    for (const auto& b : *blocks) out.push_back(b.address);
    return out;
  };
  EXPECT_EQ(at(t0), (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8::5"}));
  EXPECT_EQ(at(t0 + seconds(10)), (std::vector<std::string>{"192.0.2.2", "2001:db8::5"}));
  EXPECT_EQ(at(t0 + seconds(500)), (std::vector<std::string>{"2001:db8::5"}));

  ASSERT_TRUE(s->remove_block("2001:db8::5").ok());
  EXPECT_TRUE(at(t0).size() == 2u);
  // An expired block is still found (its count drives escalation) until pruned.
  auto old = s->find_block("192.0.2.1");
  ASSERT_TRUE(old.ok() && old->has_value());
}

TEST(StateStore, ValidatedRoundTripAndExpiry) {
  auto s = open_memory();
  ValidatedRecord a{"198.51.100.10", "300", t0 + seconds(3600)};
  ValidatedRecord b{"198.51.100.11", "301", t0 + seconds(60)};
  ASSERT_TRUE(s->upsert_validated(a).ok());
  ASSERT_TRUE(s->upsert_validated(b).ok());
  EXPECT_EQ(*s->active_validated(t0), (std::vector<ValidatedRecord>{a, b}));
  EXPECT_EQ(*s->active_validated(t0 + seconds(60)), (std::vector<ValidatedRecord>{a}));
  b.until = t0 + seconds(7200);
  ASSERT_TRUE(s->upsert_validated(b).ok());
  EXPECT_EQ(*s->active_validated(t0 + seconds(3600)), (std::vector<ValidatedRecord>{b}));
  ASSERT_TRUE(s->remove_validated("198.51.100.11").ok());
  EXPECT_TRUE(s->active_validated(t0)->size() == 1u);
}

TEST(StateStore, RememberedValidationsOutliveTheValidationAndArePrunedAfterMaxAge) {
  auto s = open_memory();
  ASSERT_TRUE(s->upsert_validated({"198.51.100.11", "333", t0 + seconds(60)}).ok());
  ASSERT_TRUE(s->remember_validated({"198.51.100.11", "333", t0}).ok());
  ASSERT_TRUE(s->remember_validated({"2001:DB8::11", "301", t0 - hours(24 * 20)}).ok());
  // An earlier validation does not replace a later one.
  ASSERT_TRUE(s->remember_validated({"198.51.100.11", "333", t0 - hours(1)}).ok());
  const std::vector<RememberedRecord> both{{"198.51.100.11", "333", t0}, {"2001:db8::11", "301", t0 - hours(24 * 20)}};
  EXPECT_EQ(*s->remembered_since(t0 - hours(24 * 30)), both);
  EXPECT_EQ(*s->remembered_since(t0 - hours(24)), (std::vector<RememberedRecord>{both[0]}));
  EXPECT_FALSE(s->remember_validated({"not-an-address", "x", t0}).ok());
  // The validation ends and is pruned; the memory of it stays until max_age (30 days).
  auto pruned = s->prune(t0 + hours(24 * 11));
  ASSERT_TRUE(pruned.ok());
  EXPECT_TRUE(s->active_validated(t0)->empty());
  EXPECT_EQ(*s->remembered_since(t0 - hours(24 * 30)), (std::vector<RememberedRecord>{both[0]}));
}

TEST(StateStore, FlagsKeyedByAddressAndUserNewestFirst) {
  auto s = open_memory();
  FlagRecord a{"203.0.113.5", "301", "wrong password retried", t0, t0 + seconds(40), 3};
  FlagRecord b{"203.0.113.5", "333", "wrong password retried", t0, t0 + seconds(80), 2};
  ASSERT_TRUE(s->upsert_flag(a).ok());
  ASSERT_TRUE(s->upsert_flag(b).ok());
  a.count = 4;
  a.last_seen = t0 + seconds(100);
  ASSERT_TRUE(s->upsert_flag(a).ok());
  EXPECT_EQ(*s->flags(), (std::vector<FlagRecord>{a, b}));
  ASSERT_TRUE(s->remove_flag("203.0.113.5", "301").ok());
  EXPECT_EQ(*s->flags(), (std::vector<FlagRecord>{b}));
}

TEST(StateStore, CountFlagAddsToTheCountAndKeepsTheFirstSeen) {
  auto s = open_memory();
  ASSERT_TRUE(s->count_flag({"203.0.113.5", "301", "failed 3 times", t0, t0, 3}).ok());
  ASSERT_TRUE(s->count_flag({"203.0.113.5", "301", "failed 4 times", t0 + seconds(20), t0 + seconds(20), 1}).ok());
  ASSERT_TRUE(s->count_flag({"203.0.113.5", "333", "failed 3 times", t0 + seconds(30), t0 + seconds(30), 3}).ok());
  EXPECT_EQ(*s->flags(), (std::vector<FlagRecord>{{"203.0.113.5", "333", "failed 3 times", t0 + seconds(30), t0 + seconds(30), 3},
                                                  {"203.0.113.5", "301", "failed 4 times", t0, t0 + seconds(20), 4}}));
  EXPECT_FALSE(s->count_flag({"nope", "301", "x", t0, t0, 1}).ok());
}

TEST(StateStore, EventsSinceAndAfterIdInOrder) {
  auto s = open_memory();
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto id = s->add_event({0, t0 + seconds(i), "block", "192.0.2." + std::to_string(i), "",
                            "fingerprint", "reason " + std::to_string(i)});
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  auto since = s->events(t0 + seconds(2), 2);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 2u);
  EXPECT_EQ((*since)[0].reason, "reason 2");
  EXPECT_EQ((*since)[1].address, "192.0.2.3");
  EXPECT_EQ((*since)[1].id, ids[3]);
  auto after = s->events_after(ids[3], 10);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ(after->front().time, t0 + seconds(4));
}

TEST(StateStore, PruneBoundsByAgeAndCount) {
  Retention r;
  r.max_age = hours(24);
  r.max_events = 3;
  r.max_flags = 1;
  r.max_expired_blocks = 1;
  auto s = open_memory(r);
  const TimePoint now = t0 + hours(48);
  // Blocks: one active, one expired long ago (beyond max_age), two recently expired (count bound 1).
  ASSERT_TRUE(s->upsert_block({"192.0.2.1", "r", "active", t0, now + seconds(1), 1}).ok());
  ASSERT_TRUE(s->upsert_block({"192.0.2.2", "r", "ancient", t0, t0 + seconds(1), 1}).ok());
  ASSERT_TRUE(s->upsert_block({"192.0.2.3", "r", "recent", t0, now - hours(2), 1}).ok());
  ASSERT_TRUE(s->upsert_block({"192.0.2.4", "r", "newest", t0, now - hours(1), 1}).ok());
  ASSERT_TRUE(s->upsert_validated({"198.51.100.1", "300", now - seconds(1)}).ok());
  ASSERT_TRUE(s->upsert_validated({"198.51.100.2", "301", now + seconds(1)}).ok());
  ASSERT_TRUE(s->upsert_flag({"203.0.113.1", "301", "x", t0, t0, 1}).ok());  // too old
  ASSERT_TRUE(s->upsert_flag({"203.0.113.2", "301", "x", t0, now - hours(3), 1}).ok());
  ASSERT_TRUE(s->upsert_flag({"203.0.113.3", "301", "x", t0, now - hours(1), 1}).ok());
  ASSERT_TRUE(s->add_event({0, t0, "block", "192.0.2.2", "", "r", "too old"}).ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(s->add_event({0, now - seconds(10 - i), "block", "192.0.2.9", "", "r",
                              "recent " + std::to_string(i)})
                    .ok());

  auto counts = s->prune(now);
  ASSERT_TRUE(counts.ok()) << counts.error();
  EXPECT_EQ(*counts, (PruneCounts{2, 1, 2, 3}));

  EXPECT_TRUE(s->find_block("192.0.2.1")->has_value());
  EXPECT_FALSE(s->find_block("192.0.2.2")->has_value());
  EXPECT_FALSE(s->find_block("192.0.2.3")->has_value());
  EXPECT_TRUE(s->find_block("192.0.2.4")->has_value());
  EXPECT_EQ(s->active_validated(t0)->size(), 1u);
  ASSERT_EQ(s->flags()->size(), 1u);
  EXPECT_EQ(s->flags()->front().address, "203.0.113.3");
  auto kept = s->events(t0, 100);
  ASSERT_EQ(kept->size(), 3u);
  EXPECT_EQ(kept->front().reason, "recent 2");
  EXPECT_EQ(kept->back().reason, "recent 4");
  // A second prune finds nothing more.
  EXPECT_EQ(*s->prune(now), PruneCounts{});
}

TEST(StateStore, TransactionCommitsAllOrNothing) {
  auto s = open_memory();
  auto ok = s->transaction([&]() -> Status<> {
    if (auto st = s->upsert_block({"192.0.2.1", "r", "x", t0, t0 + seconds(60), 1}); !st) return st;
    if (auto id = s->add_event({0, t0, "block", "192.0.2.1", "", "r", "x"}); !id)
      return fail(id.error());
    return {};
  });
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(s->active_blocks(t0)->size(), 1u);

  auto failed = s->transaction([&]() -> Status<> {
    EXPECT_TRUE(s->upsert_block({"192.0.2.2", "r", "x", t0, t0 + seconds(60), 1}).ok());
    EXPECT_TRUE(s->add_event({0, t0, "block", "192.0.2.2", "", "r", "x"}).ok());
    return s->upsert_block({"bogus", "r", "x", t0, t0, 1});
  });
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("bogus"), std::string::npos);
  EXPECT_EQ(s->active_blocks(t0)->size(), 1u);
  EXPECT_EQ(s->events(t0, 10)->size(), 1u);

  auto nested = s->transaction([&]() -> Status<> { return s->transaction([] { return Status<>{}; }); });
  EXPECT_FALSE(nested.ok());
  // Prune inside a transaction joins it instead of failing.
  auto prune_inside = s->transaction([&]() -> Status<> {
    auto c = s->prune(t0);
    if (!c) return fail(c.error());
    return {};
  });
  EXPECT_TRUE(prune_inside.ok());
}

TEST(StateStore, FileDatabaseUsesWalAndSurvivesReopen) {
  test::TempDir dir;
  const std::string path = dir.path() / "state.db";
  {
    auto s = StateStore::open(path);
    ASSERT_TRUE(s.ok()) << s.error();
    EXPECT_EQ((*s)->schema_version(), latest_schema_version());
    ASSERT_TRUE((*s)->upsert_validated({"198.51.100.10", "300", t0 + hours(1)}).ok());
  }
  auto raw = sql::Database::open(path);
  ASSERT_TRUE(raw.ok());
  auto mode = (*raw)->cached("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*(*mode)->step());
  EXPECT_EQ((*mode)->column_text(0), "wal");
  (*mode)->reset();
  raw->reset();

  auto s = StateStore::open(path);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->active_validated(t0)->size(), 1u);
}

TEST(StateStore, ReaderSeesOnlyCommittedStateWhileAWriterIsInATransaction) {
  test::TempDir dir;
  const std::string path = dir.path() / "state.db";
  auto writer = StateStore::open(path);
  auto reader = StateStore::open(path);  // e.g. the CLI while the daemon runs
  ASSERT_TRUE(writer.ok() && reader.ok());
  ASSERT_TRUE((*writer)->upsert_block({"192.0.2.1", "r", "x", t0, t0 + hours(1), 1}).ok());
  auto st = (*writer)->transaction([&]() -> Status<> {
    if (auto w = (*writer)->upsert_block({"192.0.2.2", "r", "x", t0, t0 + hours(1), 1}); !w) return w;
    // WAL: the reader is not blocked by the open write transaction and sees the last commit.
    auto seen = (*reader)->active_blocks(t0);
    if (!seen) return fail(seen.error());
    EXPECT_EQ(seen->size(), 1u);
    return {};
  });
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_EQ((*reader)->active_blocks(t0)->size(), 2u);
}

TEST(StateStore, OpenErrorsNameThePath) {
  auto s = StateStore::open("/nonexistent-dir-for-test/state.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("/nonexistent-dir-for-test/state.db"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::store
