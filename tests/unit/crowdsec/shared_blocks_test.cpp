#include "crowdsec/shared_blocks.h"

#include <gtest/gtest.h>

namespace pbxwall::crowdsec {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const TimePoint t0 = TimePoint(std::chrono::seconds(1'700'000'000));

LapiDecision ban(std::int64_t id, std::string value, Duration d = hours(1), std::string scope = "Ip",
                 std::string origin = "crowdsec") {
  return LapiDecision{id, std::move(origin), "crowdsecurity/asterisk_bf", std::move(scope), "ban", std::move(value), d};
}

Cidr net(const char* text) { return *Cidr::parse(text); }

TEST(SharedBlocks, NewDecisionsBecomeOneKernelChange) {
  SharedBlocks blocks;
  StreamDelta delta{{ban(1, "203.0.113.9"), ban(2, "2001:db8::7", seconds(90)), ban(3, "198.51.100.0/24", hours(4), "Range")}, {}};
  auto report = blocks.apply(delta, true, t0, {}, {}, {});
  EXPECT_EQ(report.added, 3u);
  EXPECT_EQ(report.added_by_origin["crowdsec"], 3u);
  auto change = blocks.kernel_change(t0);
  EXPECT_TRUE(change.remove.empty());
  ASSERT_EQ(change.add.size(), 3u);
  EXPECT_EQ(kernel_script(change),
            "add element inet pbxwall crowdsec4 { 203.0.113.9 timeout 3600s }\n"
            "add element inet pbxwall crowdsec_nets4 { 198.51.100.0/24 timeout 14400s }\n"
            "add element inet pbxwall crowdsec6 { 2001:db8::7 timeout 90s }\n");
  EXPECT_TRUE(blocks.kernel_change(t0 + seconds(1)).empty());  // nothing new: nothing to do
}

TEST(SharedBlocks, DeletedDecisionsLeaveTheKernel) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "203.0.113.9"), ban(2, "203.0.113.10")}, {}}, true, t0, {}, {}, {});
  (void)blocks.kernel_change(t0);
  auto report = blocks.apply({{}, {ban(1, "203.0.113.9")}}, false, t0 + seconds(5), {}, {}, {});
  EXPECT_EQ(report.deleted, 1u);
  auto change = blocks.kernel_change(t0 + seconds(5));
  ASSERT_EQ(change.remove.size(), 1u);
  EXPECT_EQ(change.remove[0], net("203.0.113.9"));
  EXPECT_EQ(kernel_script(change), "delete element inet pbxwall crowdsec4 { 203.0.113.9 }\n");
  EXPECT_EQ(blocks.size(), 1u);
}

// Networks are deleted from the interval sets, addresses from the hash sets; a flush empties
// all four.
TEST(SharedBlocks, NetworksAndAddressesLeaveTheirOwnSets) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "198.51.100.0/24", hours(4), "Range"), ban(2, "2001:db8::9"), ban(3, "2001:db8:1::/48", hours(4), "Range")}, {}},
                     true, t0, {}, {}, {});
  (void)blocks.kernel_change(t0);
  (void)blocks.apply({{}, {ban(1, "198.51.100.0/24", hours(4), "Range"), ban(2, "2001:db8::9"), ban(3, "2001:db8:1::/48", hours(4), "Range")}},
                     false, t0 + seconds(5), {}, {}, {});
  EXPECT_EQ(kernel_script(blocks.kernel_change(t0 + seconds(5))),
            "delete element inet pbxwall crowdsec_nets4 { 198.51.100.0/24 }\n"
            "delete element inet pbxwall crowdsec6 { 2001:db8::9 }\n"
            "delete element inet pbxwall crowdsec_nets6 { 2001:db8:1::/48 }\n");
  EXPECT_EQ(flush_script(),
            "flush set inet pbxwall crowdsec4\nflush set inet pbxwall crowdsec_nets4\n"
            "flush set inet pbxwall crowdsec6\nflush set inet pbxwall crowdsec_nets6\n");
}

TEST(SharedBlocks, AnotherDecisionOnTheSameAddressKeepsItBlocked) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "203.0.113.9", hours(1)), ban(2, "203.0.113.9", hours(4))}, {}}, true, t0, {}, {}, {});
  auto first = blocks.kernel_change(t0);
  ASSERT_EQ(first.add.size(), 1u);
  EXPECT_EQ(first.add[0].second, hours(4));  // the longest wins
  (void)blocks.apply({{}, {ban(2, "203.0.113.9")}}, false, t0 + seconds(10), {}, {}, {});
  auto change = blocks.kernel_change(t0 + seconds(10));
  // Its end moved: out and back in with what remains of decision 1.
  ASSERT_EQ(change.remove.size(), 1u);
  ASSERT_EQ(change.add.size(), 1u);
  EXPECT_EQ(change.add[0].second, hours(1) - seconds(10));
}

TEST(SharedBlocks, ExpiryIsLeftToTheKernel) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "203.0.113.9", seconds(30))}, {}}, true, t0, {}, {}, {});
  (void)blocks.kernel_change(t0);
  // The deletion arrives one second before the element's timeout: a delete could race it.
  (void)blocks.apply({{}, {ban(1, "203.0.113.9")}}, false, t0 + seconds(29), {}, {}, {});
  EXPECT_TRUE(blocks.kernel_change(t0 + seconds(29)).empty());
  EXPECT_TRUE(blocks.kernel_change(t0 + seconds(31)).empty());
  EXPECT_EQ(blocks.kernel_size(), 0u);
  EXPECT_TRUE(blocks.blocks(t0 + seconds(31)).empty());
}

TEST(SharedBlocks, StartupReplacesEverything) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "203.0.113.9"), ban(2, "203.0.113.10")}, {}}, true, t0, {}, {}, {});
  (void)blocks.kernel_change(t0);
  (void)blocks.apply({{ban(3, "203.0.113.10"), ban(4, "203.0.113.11")}, {}}, true, t0 + seconds(60), {}, {}, {});
  auto change = blocks.kernel_change(t0 + seconds(60));
  // .9 gone; .10 has a new end; .11 new.
  EXPECT_EQ(change.remove, (std::vector<Cidr>{net("203.0.113.9"), net("203.0.113.10")}));
  ASSERT_EQ(change.add.size(), 2u);
}

TEST(SharedBlocks, NestedNetworksKeepOnlyTheOutermostInTheKernel) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "198.51.100.7", hours(8)), ban(2, "198.51.100.0/24", hours(1), "Range"),
                       ban(3, "198.51.101.1")}, {}},
                     true, t0, {}, {}, {});
  auto change = blocks.kernel_change(t0);
  ASSERT_EQ(change.add.size(), 2u);
  EXPECT_EQ(change.add[0].first, net("198.51.100.0/24"));
  EXPECT_EQ(change.add[1].first, net("198.51.101.1"));
  // The range ends (kernel timeout); the inner address it held goes in with its own end.
  auto later = blocks.kernel_change(t0 + hours(1) + seconds(1));
  ASSERT_EQ(later.add.size(), 1u);
  EXPECT_EQ(later.add[0].first, net("198.51.100.7"));
  EXPECT_EQ(later.add[0].second, hours(7) - seconds(1));
}

TEST(SharedBlocks, SparedOwnFilteredAndSkippedAreCounted) {
  SharedBlocks blocks;
  DecisionFilter filter;
  filter.origins = {"crowdsec", "pbxwall"};
  const SpareCheck spare = [](const Cidr& n) -> std::optional<std::string> {
    if (n == net("192.0.2.10")) return std::string("trusted network");
    return std::nullopt;
  };
  const OwnCheck own = [](const Cidr& n, const LapiDecision& d) { return d.origin == "pbxwall" && n == net("203.0.113.5"); };
  StreamDelta delta{{ban(1, "192.0.2.10"), ban(2, "203.0.113.5", hours(1), "Ip", "pbxwall"),
                     ban(3, "203.0.113.6", hours(1), "Ip", "CAPI"), ban(4, "FR", hours(1), "Country"),
                     ban(5, "203.0.113.7", hours(1), "Ip", "pbxwall")},
                    {}};
  auto report = blocks.apply(delta, true, t0, filter, spare, own);
  ASSERT_EQ(report.spared.size(), 1u);
  EXPECT_EQ(report.spared[0].reason, "trusted network");
  EXPECT_EQ(report.spared[0].label, "crowdsec:crowdsec/crowdsecurity/asterisk_bf");
  EXPECT_EQ(report.own, 1u);
  EXPECT_EQ(report.filtered, 1u);
  EXPECT_EQ(report.skipped, 1u);
  EXPECT_EQ(report.added, 1u);
  EXPECT_EQ(report.added_by_origin["pbxwall"], 1u);
  auto held = blocks.find(net("203.0.113.7"), t0);
  ASSERT_TRUE(held);
  EXPECT_EQ(held->label, "crowdsec:pbxwall/crowdsecurity/asterisk_bf");
}

TEST(SharedBlocks, AResetPutsEverythingBack) {
  SharedBlocks blocks;
  (void)blocks.apply({{ban(1, "203.0.113.9"), ban(2, "2001:db8::/64", hours(2), "Range")}, {}}, true, t0, {}, {}, {});
  (void)blocks.kernel_change(t0);
  EXPECT_EQ(blocks.kernel_content(t0).size(), 2u);
  blocks.kernel_reset();
  EXPECT_EQ(blocks.kernel_change(t0 + seconds(1)).add.size(), 2u);
}

TEST(SharedBlocks, HundredThousandDecisionsInOneStartup) {
  SharedBlocks blocks;
  StreamDelta delta;
  for (std::uint32_t i = 0; i < 100'000; ++i)
    delta.added.push_back(ban(i + 1, IpAddress::v4(0xCB000000u + i).str()));  // 203.0.0.0 upwards
  auto report = blocks.apply(delta, true, t0, {}, {}, {});
  EXPECT_EQ(report.added, 100'000u);
  auto change = blocks.kernel_change(t0);
  EXPECT_EQ(change.add.size(), 100'000u);
  const std::string script = kernel_script(change);
  // Split into commands of bounded size.
  EXPECT_EQ(std::count(script.begin(), script.end(), '\n'), 25);
}

}  // namespace
}  // namespace pbxwall::crowdsec
