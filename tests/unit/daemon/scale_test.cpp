// Many blocks: [responsive] max_blocked sizes the blocked sets and refuses a new block at the
// ceiling (answer, event, counter); block listings come in pages; start applies the table once.
#include <gtest/gtest.h>

#include "daemon/firewall.h"
#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

class BlockCeilingTest : public test::FirewallFixture {
 protected:
  json block(const std::string& addr, int seconds = 600) {
    return firewall_->handle({{"cmd", "block"}, {"addr", addr}, {"seconds", seconds}});
  }
  json status() { return firewall_->handle({{"cmd", "status"}}); }
};

TEST_F(BlockCeilingTest, TheSetsAreSizedByTheCeiling) {
  start("[responsive]\nmax_blocked = 3\n");
  ASSERT_FALSE(applier_.applied.empty());
  const std::string& script = applier_.applied.back();
  for (const char* set : {"set blocked4 {", "set blocked6 {", "set blocked_nets6 {"}) {
    const auto at = script.find(set);
    ASSERT_NE(at, std::string::npos) << set;
    const auto end = script.find('}', at);
    EXPECT_NE(script.substr(at, end - at).find("size 3\n"), std::string::npos) << set;
  }
}

TEST_F(BlockCeilingTest, TheDefaultCeilingIsAMillion) {
  start("");
  EXPECT_NE(applier_.applied.back().find("size 1000000\n"), std::string::npos);
  EXPECT_EQ(status()["max_blocked"], 1'000'000);
}

TEST_F(BlockCeilingTest, ABlockAtTheCeilingIsRefusedAndReported) {
  start("[responsive]\nmax_blocked = 2\n");
  ASSERT_TRUE(block("192.0.2.1")["ok"].get<bool>());
  ASSERT_TRUE(block("2001:db8::1")["ok"].get<bool>());
  const json refused = block("192.0.2.3");
  EXPECT_FALSE(refused["ok"].get<bool>()) << refused.dump();
  EXPECT_TRUE(refused.value("refused", false));
  EXPECT_NE(refused.value("error", "").find("max_blocked"), std::string::npos) << refused.dump();
  EXPECT_FALSE(blocked(*IpAddress::parse("192.0.2.3")));
  EXPECT_EQ(events_of_kind("refused", "192.0.2.3"), 1u);
  EXPECT_EQ(events_of_kind("block", "192.0.2.3"), 0u);
  const json s = status();
  EXPECT_EQ(s["blocks_refused"], 1);
  EXPECT_EQ(s["blocks_held"], 2);
  // The engine was told: the address is not reported blocked.
  json listed = firewall_->handle({{"cmd", "list"}, {"what", "blocked"}});
  for (const auto& i : listed["items"]) EXPECT_NE(i["addr"], "192.0.2.3");
  // Renewing a block in force is no new block.
  EXPECT_TRUE(block("192.0.2.1", 1200)["ok"].get<bool>());
  EXPECT_EQ(status()["blocks_refused"], 1);
}

TEST_F(BlockCeilingTest, BlocksThatEndMakeRoomAgain) {
  start("[responsive]\nmax_blocked = 1\n");
  ASSERT_TRUE(block("192.0.2.1", 60)["ok"].get<bool>());
  EXPECT_FALSE(block("192.0.2.2")["ok"].get<bool>());
  clock_.advance(std::chrono::seconds(61));
  firewall_->housekeeping();
  EXPECT_EQ(status()["blocks_held"], 0);
  EXPECT_TRUE(block("192.0.2.2")["ok"].get<bool>());
  EXPECT_TRUE(blocked(*IpAddress::parse("192.0.2.2")));
}

TEST_F(BlockCeilingTest, ARestartCountsTheBlocksItPutsBack) {
  start("[responsive]\nmax_blocked = 2\n");
  ASSERT_TRUE(block("192.0.2.1")["ok"].get<bool>());
  ASSERT_TRUE(block("192.0.2.2")["ok"].get<bool>());
  firewall_.reset();
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(status()["blocks_held"], 2);
  EXPECT_FALSE(block("192.0.2.3")["ok"].get<bool>());
}

TEST_F(BlockCeilingTest, AnOutOfRangeCeilingIsAConfigurationError) {
  write_config("[responsive]\nmax_blocked = 0\n");
  auto& fw = make();
  const auto started = fw.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("max_blocked"), std::string::npos) << started.error();
}

}  // namespace
}  // namespace pbxwall::daemon

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

class BlockedListingTest : public test::FirewallFixture {
 protected:
  json list(json request) {
    request["cmd"] = "list";
    request["what"] = "blocked";
    return firewall_->handle(request);
  }
  std::vector<std::string> addrs(const json& answer) {
    std::vector<std::string> out;
    for (const auto& i : answer["items"]) out.push_back(i["addr"]);
    return out;
  }
};

TEST_F(BlockedListingTest, PagesFollowEachOtherInAddressOrder) {
  start("");
  for (int i = 1; i <= 7; ++i)
    ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "192.0.2." + std::to_string(i)}})["ok"].get<bool>());
  std::vector<std::string> seen;
  json page = list({{"limit", 3}});
  std::size_t pages = 1;
  for (;;) {
    ASSERT_TRUE(page["ok"].get<bool>()) << page.dump();
    EXPECT_LE(page["items"].size(), 3u);
    for (const auto& a : addrs(page)) seen.push_back(a);
    if (page["next"].is_null()) break;
    ASSERT_LT(pages++, 5u);
    page = list({{"limit", 3}, {"after", page["next"]}});
  }
  EXPECT_EQ(pages, 3u);
  EXPECT_EQ(seen, (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5",
                                            "192.0.2.6", "192.0.2.7"}));
  // Without a limit: all of them, no next page.
  const json all = list(json::object());
  EXPECT_EQ(all["items"].size(), 7u);
  EXPECT_TRUE(all["next"].is_null());
}

TEST_F(BlockedListingTest, FiltersByAddressRuleAndOrigin) {
  start("");
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "192.0.2.1"}})["ok"].get<bool>());
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "198.51.100.1"}})["ok"].get<bool>());
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "2001:db8::5"}})["ok"].get<bool>());
  EXPECT_EQ(addrs(list({{"addr", "192.0.2.0/24"}})), std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(addrs(list({{"addr", "2001:db8::5"}})), std::vector<std::string>{"2001:db8::5"});
  EXPECT_EQ(list({{"rule", "manual"}})["items"].size(), 3u);
  EXPECT_EQ(list({{"rule", "fingerprint"}})["items"].size(), 0u);
  EXPECT_EQ(list({{"origin", "manual"}})["items"].size(), 3u);
  EXPECT_EQ(list({{"origin", "engine"}})["items"].size(), 0u);
  EXPECT_EQ(list({{"origin", "manual"}})["items"][0]["origin"], "manual");
  EXPECT_FALSE(list({{"origin", "martians"}})["ok"].get<bool>());
  EXPECT_FALSE(list({{"addr", "not-an-address"}})["ok"].get<bool>());
  EXPECT_FALSE(list({{"limit", 0}})["ok"].get<bool>());
}

TEST_F(BlockedListingTest, UnsavedBlocksAreListedInOrder) {
  start("");
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "192.0.2.2"}})["ok"].get<bool>());
  ASSERT_TRUE(store_->refuse_writes(true).ok());
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "192.0.2.1"}})["ok"].get<bool>());
  ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", "192.0.2.3"}})["ok"].get<bool>());
  ASSERT_TRUE(firewall_->handle({{"cmd", "unblock"}, {"addr", "192.0.2.2"}})["ok"].get<bool>());
  EXPECT_EQ(addrs(list(json::object())), (std::vector<std::string>{"192.0.2.1", "192.0.2.3"}));
  EXPECT_EQ(addrs(list({{"limit", 1}, {"after", "192.0.2.1"}})), std::vector<std::string>{"192.0.2.3"});
}

}  // namespace
}  // namespace pbxwall::daemon

namespace pbxwall::daemon {
namespace {

TEST_F(BlockCeilingTest, StartAppliesTheTableOnceWithThePbxPorts) {
  write_config("");
  auto& fw = make();
  ruleset::DiscoveredPorts ports;
  ports.sip = {model::PortRange{model::Proto::udp, 5080, 5080}};
  fw.set_port_discovery([&](const IntegrationSettings&) { return std::optional<ruleset::DiscoveredPorts>(ports); });
  ASSERT_TRUE(fw.start().ok());
  ASSERT_EQ(applier_.applied.size(), 1u);
  EXPECT_NE(applier_.applied.back().find("5080"), std::string::npos);
  // The discovery that follows start finds the same ports: no second apply.
  ASSERT_TRUE(fw.set_discovered_ports(ports).ok());
  EXPECT_EQ(applier_.applied.size(), 1u);
  EXPECT_EQ(fw.counters().reloads, 1u);
}

}  // namespace
}  // namespace pbxwall::daemon
