#include "dns/trunk_resolver.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace pbxwall::dns {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
std::set<IpAddress> set_of(const std::vector<IpAddress>& v) { return {v.begin(), v.end()}; }

// Answers from a table; questions not in the table are NXDOMAIN. `down` makes every lookup fail.
class FakeResolver final : public Resolver {
 public:
  Answer lookup(const Question& q) override {
    ++asked[q];
    if (down) return {AnswerStatus::failure, {}, {}, {}, "timeout"};
    auto it = table.find(q);
    if (it == table.end()) return {AnswerStatus::no_name, {}, {}, {}, {}};
    return it->second;
  }
  void set_a(const std::string& name, std::vector<IpAddress> addrs, Duration ttl) {
    table[{name, QueryType::a}] = {AnswerStatus::ok, std::move(addrs), {}, ttl, {}};
  }
  std::map<Question, Answer> table;
  std::map<Question, int> asked;
  bool down = false;
};

// Runs every due question through the resolver; returns whether the address set changed.
bool pump(TrunkResolver& tr, Resolver& r, TimePoint now) {
  bool changed = false;
  for (int round = 0; round < 5; ++round) {  // SRV answers add target questions due now
    auto qs = tr.due(now);
    if (qs.empty()) break;
    for (const auto& q : qs) changed |= tr.on_answer(q, r.lookup(q), now);
  }
  return changed;
}

TimePoint t0() { return TimePoint(std::chrono::seconds(1'700'000'000)); }

TEST(TrunkResolver, AsksAddressesAndSrvOfEveryName) {
  TrunkResolver tr;
  tr.set_names({"SIP.Provider.Example."}, t0());
  auto qs = tr.due(t0());
  std::set<Question> got(qs.begin(), qs.end());
  EXPECT_EQ(got.size(), 6u);
  EXPECT_TRUE(got.count({"sip.provider.example", QueryType::a}));
  EXPECT_TRUE(got.count({"sip.provider.example", QueryType::aaaa}));
  EXPECT_TRUE(got.count({"_sip._udp.sip.provider.example", QueryType::srv}));
  EXPECT_TRUE(got.count({"_sips._tcp.sip.provider.example", QueryType::srv}));
  EXPECT_TRUE(got.count({"_iax._udp.sip.provider.example", QueryType::srv}));
  EXPECT_TRUE(tr.due(t0()).empty()) << "questions in flight are not asked twice";
}

TEST(TrunkResolver, RefreshesWhenTheTtlRunsOutWithinBounds) {
  FakeResolver r;
  r.set_a("ddns.example", {ip("192.0.2.10")}, 120s);
  TrunkResolver tr;
  tr.set_names({"ddns.example"}, t0());
  EXPECT_TRUE(pump(tr, r, t0()));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("192.0.2.10")});
  EXPECT_TRUE(tr.due(t0() + 29s).empty()) << "nothing asked before the shortest TTL (NXDOMAIN: 30 s) ends";

  // The DDNS name moves: the new address comes at the refresh, the old one goes.
  r.set_a("ddns.example", {ip("192.0.2.20")}, 120s);
  EXPECT_FALSE(pump(tr, r, t0() + 60s)) << "only the NXDOMAIN answers were due";
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("192.0.2.10")});
  EXPECT_TRUE(pump(tr, r, t0() + 120s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("192.0.2.20")});
  EXPECT_EQ(tr.counters().changes, 2u);
}

TEST(TrunkResolver, TtlIsClampedToTheBounds) {
  FakeResolver r;
  r.set_a("short.example", {ip("192.0.2.1")}, 1s);
  r.set_a("long.example", {ip("192.0.2.2")}, 24h);
  TrunkResolver tr({.min_refresh = 30s, .max_refresh = 1h, .retry = 10s});
  tr.set_names({"short.example", "long.example"}, t0());
  pump(tr, r, t0());
  r.asked.clear();
  pump(tr, r, t0() + 29s);
  EXPECT_EQ(r.asked[(Question{"short.example", QueryType::a})], 0);
  pump(tr, r, t0() + 30s);
  EXPECT_EQ(r.asked[(Question{"short.example", QueryType::a})], 1);
  pump(tr, r, t0() + 3599s);
  EXPECT_EQ(r.asked[(Question{"long.example", QueryType::a})], 0);
  pump(tr, r, t0() + 3600s);
  EXPECT_EQ(r.asked[(Question{"long.example", QueryType::a})], 1);
}

TEST(TrunkResolver, FailureKeepsTheLastGoodAnswerAndRetries) {
  FakeResolver r;
  r.set_a("trunk.example", {ip("198.51.100.7")}, 60s);
  TrunkResolver tr({.min_refresh = 30s, .max_refresh = 1h, .retry = 10s});
  tr.set_names({"trunk.example"}, t0());
  pump(tr, r, t0());
  r.down = true;
  EXPECT_FALSE(pump(tr, r, t0() + 60s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("198.51.100.7")});
  EXPECT_GT(tr.counters().failures, 0u);
  EXPECT_EQ(tr.next_due(), t0() + 70s) << "a failure is retried after `retry`, not the TTL";
  r.down = false;
  r.set_a("trunk.example", {ip("198.51.100.8")}, 60s);
  EXPECT_TRUE(pump(tr, r, t0() + 70s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("198.51.100.8")});
}

TEST(TrunkResolver, DaemonStartsWithoutDns) {
  FakeResolver r;
  r.down = true;
  TrunkResolver tr;
  tr.set_names({"trunk.example"}, t0());
  EXPECT_FALSE(pump(tr, r, t0()));
  EXPECT_TRUE(tr.addresses().empty());
  ASSERT_TRUE(tr.next_due());
}

TEST(TrunkResolver, FollowsSrvTargetsAndDropsOldOnes) {
  FakeResolver r;
  r.table[{"_sip._udp.provider.example", QueryType::srv}] = {
      AnswerStatus::ok, {}, {{"edge1.provider.example.", 5060, 10, 50}, {"EDGE2.provider.example", 5060, 20, 50}}, 300s, {}};
  r.set_a("edge1.provider.example", {ip("203.0.113.1")}, 300s);
  r.set_a("edge2.provider.example", {ip("203.0.113.2")}, 300s);
  r.table[{"edge2.provider.example", QueryType::aaaa}] = {AnswerStatus::ok, {ip("2001:db8::2")}, {}, 300s, {}};
  TrunkResolver tr;
  tr.set_names({"provider.example"}, t0());
  EXPECT_TRUE(pump(tr, r, t0()));
  EXPECT_EQ(set_of(tr.addresses()), (std::set<IpAddress>{ip("203.0.113.1"), ip("203.0.113.2"), ip("2001:db8::2")}));
  EXPECT_EQ(tr.addresses_by_name()["provider.example"].size(), 3u);

  // The provider retires edge2: its addresses go when the SRV record is asked again.
  r.table[{"_sip._udp.provider.example", QueryType::srv}].targets.pop_back();
  EXPECT_TRUE(pump(tr, r, t0() + 300s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("203.0.113.1")});
}

TEST(TrunkResolver, AnswersOfTheWrongFamilyAreIgnored) {
  TrunkResolver tr;
  tr.set_names({"x.example"}, t0());
  for (const auto& q : tr.due(t0()))
    tr.on_answer(q, {AnswerStatus::ok, {ip("2001:db8::9"), ip("192.0.2.9")}, {}, 60s, {}}, t0());
  EXPECT_EQ(set_of(tr.addresses()), (std::set<IpAddress>{ip("192.0.2.9"), ip("2001:db8::9")}));
}

TEST(TrunkResolver, RemovedNamesTakeTheirAddressesAndLateAnswersAreIgnored) {
  FakeResolver r;
  r.set_a("a.example", {ip("192.0.2.1")}, 60s);
  r.set_a("b.example", {ip("192.0.2.2")}, 60s);
  TrunkResolver tr;
  tr.set_names({"a.example", "b.example"}, t0());
  pump(tr, r, t0());
  EXPECT_EQ(tr.addresses().size(), 2u);
  auto in_flight = tr.due(t0() + 60s);
  EXPECT_TRUE(tr.set_names({"a.example"}, t0() + 60s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("192.0.2.1")});
  EXPECT_FALSE(tr.on_answer({"b.example", QueryType::a}, r.lookup({"b.example", QueryType::a}), t0() + 61s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("192.0.2.1")});
}

TEST(TrunkResolver, RefreshAllMakesEverythingDue) {
  FakeResolver r;
  r.set_a("a.example", {ip("192.0.2.1")}, 600s);
  TrunkResolver tr;
  tr.set_names({"a.example"}, t0());
  pump(tr, r, t0());
  EXPECT_TRUE(tr.due(t0() + 1s).empty());
  tr.refresh_all(t0() + 1s);
  EXPECT_EQ(tr.due(t0() + 1s).size(), 6u);
}

}  // namespace
}  // namespace pbxwall::dns

namespace pbxwall::dns {
namespace {

const TrunkNameState& state_of(const std::vector<TrunkNameState>& states, const std::string& name) {
  for (const auto& s : states)
    if (s.name == name) return s;
  static const TrunkNameState none;
  ADD_FAILURE() << "no state for " << name;
  return none;
}

TEST(TrunkResolverStates, EachNameSaysWhatItResolvesToOrWhyNot) {
  FakeResolver r;
  r.set_a("sip.provider.example", {ip("192.0.2.50"), ip("192.0.2.51")}, 300s);
  r.table[{"sip.provider.example", QueryType::aaaa}] = {AnswerStatus::ok, {ip("2001:db8::50")}, {}, 120s, {}};
  r.table[{"exists.example", QueryType::a}] = {AnswerStatus::ok, {}, {}, 60s, {}};  // NODATA
  r.table[{"exists.example", QueryType::aaaa}] = {AnswerStatus::ok, {}, {}, 60s, {}};
  TrunkResolver tr;
  tr.set_names({"sip.provider.example", "gone.example", "exists.example"}, t0());
  auto before = tr.states();
  ASSERT_EQ(before.size(), 3u);
  EXPECT_EQ(before[0].name, "sip.provider.example") << "configuration order";
  for (const auto& s : before) EXPECT_EQ(s.health, TrunkHealth::pending) << s.name;
  pump(tr, r, t0());
  const auto states = tr.states();
  const auto& ok = state_of(states, "sip.provider.example");
  EXPECT_EQ(ok.health, TrunkHealth::resolved);
  EXPECT_EQ(set_of(ok.addresses), (std::set<IpAddress>{ip("192.0.2.50"), ip("192.0.2.51"), ip("2001:db8::50")}));
  EXPECT_EQ(ok.ttl, Duration(120s)) << "the smallest TTL of the answers with addresses";
  EXPECT_EQ(ok.answered, t0());
  EXPECT_EQ(state_of(states, "gone.example").health, TrunkHealth::no_name);
  EXPECT_TRUE(state_of(states, "gone.example").addresses.empty());
  EXPECT_EQ(state_of(states, "exists.example").health, TrunkHealth::no_address);
  EXPECT_STREQ(to_string(TrunkHealth::no_name), "no_name");
}

TEST(TrunkResolverStates, FailuresKeepTheLastAnswerAndSayWhy) {
  FakeResolver r;
  r.set_a("sip.provider.example", {ip("192.0.2.50")}, 30s);
  TrunkResolver tr;
  tr.set_names({"sip.provider.example"}, t0());
  pump(tr, r, t0());
  r.down = true;
  pump(tr, r, t0() + 31s);
  const auto kept = tr.states().at(0);
  EXPECT_EQ(kept.health, TrunkHealth::resolved) << "the last good answer stays in use";
  EXPECT_EQ(kept.addresses, std::vector<IpAddress>{ip("192.0.2.50")});
  EXPECT_EQ(kept.error, "timeout");
  EXPECT_EQ(kept.answered, t0() + 31s);

  TrunkResolver never;
  never.set_names({"sip.provider.example"}, t0());
  pump(never, r, t0());
  const auto failing = never.states().at(0);
  EXPECT_EQ(failing.health, TrunkHealth::failing) << "nothing known: not NXDOMAIN, not resolved";
  EXPECT_EQ(failing.error, "timeout");
  EXPECT_TRUE(failing.addresses.empty());
}

TEST(TrunkResolverStates, SrvTargetsAddresses) {
  FakeResolver r;
  r.table[{"_sip._udp.provider.example", QueryType::srv}] = {AnswerStatus::ok, {}, {{"edge1.provider.example", 5060, 10, 10}}, 600s, {}};
  r.set_a("edge1.provider.example", {ip("198.51.100.9")}, 90s);
  TrunkResolver tr;
  tr.set_names({"provider.example"}, t0());
  pump(tr, r, t0());
  const auto s = tr.states().at(0);
  EXPECT_EQ(s.health, TrunkHealth::resolved) << "the name itself is NXDOMAIN, its SRV target resolves";
  EXPECT_EQ(s.addresses, std::vector<IpAddress>{ip("198.51.100.9")});
  EXPECT_EQ(s.ttl, Duration(90s));
}

}  // namespace
}  // namespace pbxwall::dns
