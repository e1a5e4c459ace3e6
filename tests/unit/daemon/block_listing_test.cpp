// `list blocked` over this server's blocks, the bans shared by the fleet and the community
// blocklists: sections in a fixed order, pages whose cursors name their section, the origin
// filter for all three, and listings without a limit that stay bounded.
#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/block_listing.h"
#include "daemon/firewall.h"
#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

Cidr net(const char* text) { return *Cidr::parse(text); }

class BlockListingTest : public test::FirewallFixture {
 protected:
  void SetUp() override {
    test::FirewallFixture::SetUp();
    start("");
    for (const char* a : {"192.0.2.2", "192.0.2.1"})
      ASSERT_TRUE(firewall_->handle({{"cmd", "block"}, {"addr", a}})["ok"].get<bool>());
    const TimePoint until = clock_.now() + std::chrono::hours(1);
    shared_ = {{net("192.0.2.50"), until, "crowdsec:CAPI/ssh-bf"}, {net("198.51.100.0/24"), until, "crowdsec:cscli/manual"}};
    voipbl_.name = "voipbl";
    voipbl_.hosts4 = {net("203.0.113.5"), net("203.0.113.9")};
    voipbl_.nets4 = {net("203.0.113.16/28")};
    voipbl_.hosts6 = {net("2001:db8::7")};
    apiban_.name = "apiban";
    apiban_.hosts4 = {net("198.51.100.9")};
    firewall_->set_block_sections([this] {
      BlockSection shared;
      shared.name = shared.rule = "crowdsec";
      shared.reason = "shared by the fleet";
      shared.size = shared_.size();
      shared.walk = [this](TimePoint, const std::optional<Cidr>& after, const ListedBlockVisitor& each) {
        for (const auto& b : shared_)
          if ((!after || *after < b.net) && !each(b)) return;
      };
      // Lists come in any order; the listing puts them in name order.
      return std::vector<BlockSection>{blocklist_section(voipbl_, "on blocklist voipbl"), shared,
                                       blocklist_section(apiban_, "on blocklist apiban")};
    });
  }
  json list(json request) {
    request["cmd"] = "list";
    request["what"] = "blocked";
    return firewall_->handle(request);
  }
  static std::vector<std::string> addrs(const json& answer) {
    std::vector<std::string> out;
    for (const auto& i : answer["items"]) out.push_back(i["addr"]);
    return out;
  }
  std::vector<ListedBlock> shared_;
  ruleset::ListContent voipbl_, apiban_;
};

TEST_F(BlockListingTest, PagesGoThroughOwnBlocksThenTheFleetsThenEachListByName) {
  json page = list({{"limit", 2}, {"addr", "0.0.0.0/0"}});
  std::vector<std::string> seen, origins, cursors;
  for (int pages = 0;; ++pages) {
    ASSERT_TRUE(page["ok"].get<bool>()) << page.dump();
    ASSERT_LT(pages, 10);
    EXPECT_LE(page["items"].size(), 2u);
    for (const auto& i : page["items"]) {
      seen.push_back(i["addr"]);
      origins.push_back(i["origin"]);
    }
    if (page["next"].is_null()) break;
    cursors.push_back(page["next"]);
    page = list({{"limit", 2}, {"addr", "0.0.0.0/0"}, {"after", page["next"]}});
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.50", "198.51.100.0/24", "198.51.100.9",
                                            "203.0.113.5", "203.0.113.9", "203.0.113.16/28"}));
  EXPECT_EQ(origins, (std::vector<std::string>{"manual", "manual", "crowdsec:CAPI/ssh-bf", "crowdsec:cscli/manual",
                                               "blocklist:apiban", "blocklist:voipbl", "blocklist:voipbl",
                                               "blocklist:voipbl"}));
  EXPECT_EQ(cursors, (std::vector<std::string>{"192.0.2.2", "crowdsec:198.51.100.0/24", "blocklist:voipbl:203.0.113.5"}));
}

TEST_F(BlockListingTest, ItemsFromElsewhereSayTheirRuleOriginAndReason) {
  const json page = list({{"limit", 100}, {"origin", "blocklist:apiban"}});
  ASSERT_EQ(page["items"].size(), 1u);
  const json& item = page["items"][0];
  EXPECT_EQ(item["rule"], "blocklist");
  EXPECT_EQ(item["reason"], "on blocklist apiban");
  EXPECT_TRUE(item["until"].is_null());
  const json shared = list({{"limit", 100}, {"origin", "crowdsec"}});
  ASSERT_EQ(shared["items"].size(), 2u);
  EXPECT_EQ(shared["items"][0]["rule"], "crowdsec");
  EXPECT_EQ(shared["items"][0]["until"], clock_seconds() + 3600);
}

TEST_F(BlockListingTest, TheOriginFilterWorksForAllThree) {
  EXPECT_EQ(addrs(list({{"limit", 100}, {"origin", "local"}})), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(addrs(list({{"limit", 100}, {"origin", "manual"}})), (std::vector<std::string>{"192.0.2.1", "192.0.2.2"}));
  EXPECT_EQ(addrs(list({{"limit", 100}, {"origin", "crowdsec"}})), (std::vector<std::string>{"192.0.2.50", "198.51.100.0/24"}));
  EXPECT_EQ(addrs(list({{"limit", 100}, {"origin", "crowdsec:cscli"}})), std::vector<std::string>{"198.51.100.0/24"});
  EXPECT_EQ(list({{"limit", 100}, {"origin", "blocklist"}})["items"].size(), 5u);
  EXPECT_EQ(list({{"limit", 100}, {"origin", "blocklist:voipbl"}})["items"].size(), 4u);
  EXPECT_EQ(list({{"limit", 100}, {"origin", "blocklist:none"}})["items"].size(), 0u);
  EXPECT_EQ(list({{"limit", 100}, {"rule", "blocklist"}})["items"].size(), 5u);
  EXPECT_EQ(addrs(list({{"limit", 100}, {"addr", "2001:db8::/32"}})), std::vector<std::string>{"2001:db8::7"});
  EXPECT_EQ(addrs(list({{"limit", 100}, {"addr", "203.0.113.0/24"}, {"origin", "blocklist"}})),
            (std::vector<std::string>{"203.0.113.5", "203.0.113.9", "203.0.113.16/28"}));
  const json bad = list({{"origin", "martians"}});
  EXPECT_FALSE(bad["ok"].get<bool>());
  EXPECT_NE(bad["error"].get<std::string>().find("blocklist:<name>"), std::string::npos);
  EXPECT_FALSE(list({{"limit", 2}, {"after", "blocklist:voipbl"}})["ok"].get<bool>());
}

TEST_F(BlockListingTest, ACursorInAListThatIsGoneGoesOnWithTheNextList) {
  EXPECT_EQ(addrs(list({{"limit", 2}, {"addr", "203.0.113.0/24"}, {"after", "blocklist:b:192.0.2.1"}})),
            (std::vector<std::string>{"203.0.113.5", "203.0.113.9"}));
  EXPECT_EQ(list({{"limit", 2}, {"after", "blocklist:zz:192.0.2.1"}})["items"].size(), 0u);
}

TEST_F(BlockListingTest, WithoutALimitBlocklistEntriesAreCountedUnlessAskedFor) {
  const json all = list(json::object());
  EXPECT_EQ(addrs(all), (std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.50", "198.51.100.0/24"}));
  EXPECT_EQ(all["blocklist_not_listed"], 5);
  EXPECT_FALSE(all.contains("crowdsec_not_listed"));
  EXPECT_TRUE(all["next"].is_null());
  EXPECT_EQ(list({{"origin", "blocklist"}})["items"].size(), 5u);
}

TEST_F(BlockListingTest, WithoutALimitAtMostTenThousandBlocksFromElsewhere) {
  const TimePoint until = clock_.now() + std::chrono::hours(1);
  shared_.clear();
  for (std::uint32_t i = 0; i < 10'005; ++i) shared_.push_back({Cidr(IpAddress::v4(0x0A000000u + i), 32), until, "crowdsec:CAPI/x"});
  const json all = list(json::object());
  EXPECT_EQ(all["items"].size(), 2u + 10'000u);
  EXPECT_EQ(all["crowdsec_not_listed"], 5);
}

}  // namespace
}  // namespace pbxwall::daemon
