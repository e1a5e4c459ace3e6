#include "crowdsec/push_queue.h"

#include <gtest/gtest.h>

namespace pbxwall::crowdsec {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));

PushItem ban(const char* addr, TimePoint until = t0 + hours(1)) {
  return PushItem{0, PushKind::ban, *Cidr::parse(addr), "fingerprint", "svwar fingerprint", t0, until};
}
PushItem unban(const char* addr) { return PushItem{0, PushKind::unban, *Cidr::parse(addr), "manual", "", t0, t0}; }

TEST(PushQueue, BatchesOneKindAtATime) {
  PushQueue q(100, 2);
  EXPECT_EQ(q.enqueue(ban("203.0.113.1")).seq, 1);
  (void)q.enqueue(ban("203.0.113.2"));
  (void)q.enqueue(ban("203.0.113.3"));
  (void)q.enqueue(unban("203.0.113.9"));
  auto b1 = q.next_batch(t0);
  ASSERT_EQ(b1.size(), 2u);
  EXPECT_TRUE(q.next_batch(t0).empty());  // one batch in flight at a time
  EXPECT_EQ(q.finished(2, false, t0), (std::vector<std::int64_t>{1, 2}));
  auto b2 = q.next_batch(t0);
  ASSERT_EQ(b2.size(), 1u);  // the run of bans ends before the unban
  EXPECT_EQ(b2[0].seq, 3);
  (void)q.finished(1, false, t0);
  auto b3 = q.next_batch(t0);
  ASSERT_EQ(b3.size(), 1u);
  EXPECT_EQ(b3[0].kind, PushKind::unban);
}

TEST(PushQueue, FailuresBackOffAndKeepTheItems) {
  PushQueue q(100, 10);
  (void)q.enqueue(ban("203.0.113.1"));
  (void)q.enqueue(ban("203.0.113.2"));
  ASSERT_EQ(q.next_batch(t0).size(), 2u);
  EXPECT_TRUE(q.finished(0, true, t0).empty());
  EXPECT_EQ(q.size(), 2u);
  EXPECT_TRUE(q.next_batch(t0 + std::chrono::milliseconds(999)).empty());
  ASSERT_EQ(q.next_batch(t0 + seconds(1)).size(), 2u);
  (void)q.finished(0, true, t0 + seconds(1));
  EXPECT_TRUE(q.next_batch(t0 + seconds(2)).empty());  // 2 s now
  ASSERT_EQ(q.next_batch(t0 + seconds(3)).size(), 2u);
  (void)q.finished(1, true, t0 + seconds(3));  // half accepted
  EXPECT_EQ(q.size(), 1u);
  EXPECT_EQ(q.backoff().failures(), 3u);
  ASSERT_EQ(q.next_batch(t0 + seconds(10)).size(), 1u);
  (void)q.finished(1, false, t0 + seconds(10));
  EXPECT_EQ(q.backoff().failures(), 0u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(Backoff, DoublesUpToItsCeiling) {
  Backoff b(seconds(1), seconds(60));
  TimePoint t = t0;
  std::vector<std::int64_t> delays;
  for (int i = 0; i < 9; ++i) {
    b.failed(t);
    delays.push_back(std::chrono::duration_cast<seconds>(*b.not_before() - t).count());
  }
  EXPECT_EQ(delays, (std::vector<std::int64_t>{1, 2, 4, 8, 16, 32, 60, 60, 60}));
}

TEST(PushQueue, BoundedTheOldestGoesFirst) {
  PushQueue q(3, 10);
  for (const char* a : {"203.0.113.1", "203.0.113.2", "203.0.113.3"}) (void)q.enqueue(ban(a));
  auto full = q.enqueue(ban("203.0.113.4"));
  EXPECT_EQ(full.dropped, (std::vector<std::int64_t>{1}));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.dropped(), 1u);
}

TEST(PushQueue, AnUnbanCancelsAWaitingBanButNotOneBeingSent) {
  PushQueue q(10, 1);
  (void)q.enqueue(ban("203.0.113.1"));
  (void)q.enqueue(ban("203.0.113.2"));
  ASSERT_EQ(q.next_batch(t0).size(), 1u);  // .1 in flight
  auto u1 = q.enqueue(unban("203.0.113.1"));
  EXPECT_TRUE(u1.dropped.empty());
  auto u2 = q.enqueue(unban("203.0.113.2"));
  EXPECT_EQ(u2.dropped, (std::vector<std::int64_t>{2}));
  EXPECT_EQ(q.size(), 3u);  // .1 ban in flight, two unbans
}

TEST(PushQueue, RestoredItemsKeepTheirOrderAndNumbers) {
  PushQueue q(10, 10);
  auto a = ban("203.0.113.1");
  a.seq = 41;
  auto b = unban("203.0.113.2");
  b.seq = 42;
  q.restore({a, b});
  EXPECT_EQ(q.enqueue(ban("203.0.113.3")).seq, 43);
  auto batch = q.next_batch(t0);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0], a);
}

TEST(Alerts, OneAlertPerBanWithItsRemainingDuration) {
  auto range = ban("2001:db8:5::/64");
  range.rule = "address-rotation";
  auto body = alerts_body({ban("203.0.113.1"), range, ban("203.0.113.2", t0 - seconds(1)), unban("203.0.113.3")}, "pbx-a",
                          t0 + seconds(600));
  ASSERT_EQ(body.size(), 2u);
  const auto& a = body[0];
  EXPECT_EQ(a["scenario"], "pbxwall/fingerprint");
  EXPECT_EQ(a["message"], "svwar fingerprint (pbxwall on pbx-a)");
  EXPECT_EQ(a["source"]["scope"], "Ip");
  EXPECT_EQ(a["source"]["ip"], "203.0.113.1");
  EXPECT_EQ(a["start_at"], "2023-11-14T22:13:20Z");
  ASSERT_EQ(a["decisions"].size(), 1u);
  EXPECT_EQ(a["decisions"][0]["origin"], "pbxwall");
  EXPECT_EQ(a["decisions"][0]["type"], "ban");
  EXPECT_EQ(a["decisions"][0]["duration"], "3000s");
  EXPECT_EQ(body[1]["decisions"][0]["scope"], "Range");
  EXPECT_EQ(body[1]["decisions"][0]["value"], "2001:db8:5::/64");
  EXPECT_EQ(body[1]["scenario"], "pbxwall/address-rotation");
  for (const char* required : {"capacity", "events", "events_count", "leakspeed", "scenario_hash", "scenario_version",
                               "simulated", "stop_at"})
    EXPECT_TRUE(a.contains(required)) << required;
}

TEST(Alerts, UnbanQueryNamesOurOrigin) {
  EXPECT_EQ(unban_query(*Cidr::parse("203.0.113.1")), "ip=203.0.113.1&origin=pbxwall");
  EXPECT_EQ(unban_query(*Cidr::parse("2001:db8:5::/64")), "range=2001:db8:5::/64&origin=pbxwall");
}

TEST(Rfc3339, BothWays) {
  EXPECT_EQ(rfc3339(t0), "2023-11-14T22:13:20Z");
  EXPECT_EQ(parse_rfc3339("2023-11-14T22:13:20Z"), t0);
  EXPECT_EQ(parse_rfc3339("2023-11-14T23:13:20.123+01:00"), t0);
  EXPECT_FALSE(parse_rfc3339("yesterday"));
}

}  // namespace
}  // namespace pbxwall::crowdsec
