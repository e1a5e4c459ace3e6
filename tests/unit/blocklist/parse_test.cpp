#include <random>
#include <set>

#include <gtest/gtest.h>

#include "blocklist/blocklist.h"

namespace pbxwall::blocklist {
namespace {

Cidr net(std::string_view s) { return *Cidr::parse(s); }

std::vector<std::string> texts(const std::vector<Cidr>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.str());
  return out;
}

TEST(BlocklistParse, PlainListWithCommentsAndTrailingFields) {
  const auto p = parse_plain(
      "# VoIPBL-style header\r\n"
      "\r\n"
      "192.0.2.7\r\n"
      "198.51.100.0/24 # a network\n"
      "203.0.113.9;scanner\n"
      "2001:db8::5 2026-01-01\n"
      "2001:db8:1::/48,extra\n"
      "   \t\n");
  EXPECT_EQ(p.lines_read, 5u);
  EXPECT_EQ(p.bad_lines, 0u);
  EXPECT_EQ(texts(p.entries),
            (std::vector<std::string>{"192.0.2.7", "198.51.100.0/24", "203.0.113.9", "2001:db8::5", "2001:db8:1::/48"}));
  EXPECT_FALSE(refusal(p));
}

TEST(BlocklistParse, BadLinesAreCountedWithTheirNumbers) {
  const auto p = parse_plain("192.0.2.1\nnot-an-address\n10.0.0.1/8\n0.0.0.0/0\n127.0.0.1\n192.0.2.2\n192.0.2.3\n192.0.2.4\n");
  EXPECT_EQ(p.lines_read, 8u);
  EXPECT_EQ(p.bad_lines, 4u);
  ASSERT_EQ(p.first_errors.size(), 4u);
  EXPECT_EQ(p.first_errors[0].rfind("line 2: \"not-an-address\"", 0), 0u) << p.first_errors[0];
  EXPECT_EQ(p.first_errors[1].rfind("line 3: \"10.0.0.1/8\"", 0), 0u) << p.first_errors[1];
  EXPECT_NE(p.first_errors[2].find("line 4: \"0.0.0.0/0\": a whole address family"), std::string::npos) << p.first_errors[2];
  EXPECT_NE(p.first_errors[3].find("line 5: \"127.0.0.1\": not a remote address"), std::string::npos);
  EXPECT_EQ(p.entries.size(), 4u);
  EXPECT_FALSE(refusal(p)) << "half of the lines good: the list is used";
}

TEST(BlocklistParse, AnErrorPageIsNoList) {
  const auto html = parse_plain("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>192.0.2.1</body>\n</html>\n");
  ASSERT_TRUE(refusal(html));
  EXPECT_NE(refusal(html)->find("4 of 4 lines are not addresses"), std::string::npos) << *refusal(html);
  EXPECT_TRUE(refusal(parse_plain("")));
  EXPECT_TRUE(refusal(parse_plain("# only comments\n")));
  const auto mostly_bad = parse_plain("x\ny\n192.0.2.1\n");
  EXPECT_TRUE(refusal(mostly_bad));
}

TEST(BlocklistParse, ApibanPages) {
  auto page = parse_apiban_page(R"({"ipaddress":["192.0.2.1","2001:db8::7","bogus",5],"ID":"1589583829"})");
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(texts(page->entries), (std::vector<std::string>{"192.0.2.1", "2001:db8::7"}));
  EXPECT_EQ(page->bad_entries, 2u);
  EXPECT_EQ(page->next_id, "1589583829");

  auto last = parse_apiban_page(R"({"ipaddress":["no new bans"],"ID":"none"})");
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->entries.empty());
  EXPECT_FALSE(last->next_id);

  auto denied = parse_apiban_page(R"({"ipaddress":["unauthorized"],"ID":"unauthorized"})");
  ASSERT_FALSE(denied.ok());
  EXPECT_NE(denied.error().find("refused the key"), std::string::npos);
  auto limited = parse_apiban_page(R"({"ipaddress":"rate limit exceeded","ID":"1589583829"})");
  ASSERT_FALSE(limited.ok());
  EXPECT_NE(limited.error().find("rate limit exceeded"), std::string::npos);
  EXPECT_FALSE(parse_apiban_page("<html>").ok());
  EXPECT_FALSE(parse_apiban_page(R"({"ID":"5"})").ok());
}

TEST(BlocklistContent, HostsApartNestedLeftOut) {
  const auto c = content_of("x", {net("192.0.2.9"), net("198.51.100.0/24"), net("198.51.100.7"), net("192.0.2.9"),
                                  net("198.51.100.128/25"), net("2001:db8::/32"), net("2001:db8:5::1"),
                                  net("2001:db9::1"), net("203.0.113.0/24"), net("192.0.2.0/25")});
  EXPECT_EQ(c.name, "x");
  EXPECT_EQ(texts(c.hosts4), std::vector<std::string>{});
  EXPECT_EQ(texts(c.nets4), (std::vector<std::string>{"192.0.2.0/25", "198.51.100.0/24", "203.0.113.0/24"}));
  EXPECT_EQ(texts(c.hosts6), (std::vector<std::string>{"2001:db9::1"}));
  EXPECT_EQ(texts(c.nets6), (std::vector<std::string>{"2001:db8::/32"}));
}

// Against a direct check on random lists: every entry is covered by exactly what is kept,
// and nothing kept lies inside another kept entry.
TEST(BlocklistContent, RandomListsKeepExactlyTheOutermost) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<Cidr> entries;
    const int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      const int prefix = 20 + static_cast<int>(rng() % 13);
      const std::uint32_t addr = 0xC0000200u | (rng() & 0x3FFu);  // 192.0.2.0 .. 192.0.5.255
      entries.emplace_back(IpAddress::v4(addr), prefix);
    }
    const auto c = content_of("r", entries);
    std::vector<Cidr> kept = c.nets4;
    kept.insert(kept.end(), c.hosts4.begin(), c.hosts4.end());
    for (const auto& e : entries) {
      int covering = 0;
      for (const auto& k : kept) covering += k.prefix() <= e.prefix() && k.contains(e.address());
      EXPECT_EQ(covering, 1) << e.str() << " in round " << round;
    }
    for (const auto& k : kept)
      EXPECT_NE(std::find(entries.begin(), entries.end(), k), entries.end()) << "kept " << k.str() << " is no entry";
  }
}

}  // namespace
}  // namespace pbxwall::blocklist
