#include "kernel/set_listing.h"

#include <gtest/gtest.h>

namespace pbxwall::kernel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// `nft list table inet pbxwall` of nftables 1.0.6, elements as the kernel reports them.
constexpr std::string_view kListing = R"(table inet pbxwall {
	set blocked4 {
		type ipv4_addr
		flags dynamic,timeout
		elements = { 192.0.2.1 timeout 1h expires 59m59s868ms comment "svwar fingerprint: User-Agent friendly-scanner", 192.0.2.2 timeout 1d1h1m1s expires 1d1h1m868ms,
			     192.0.2.3 comment "no, timeout {x}" }
	}

	set blocked6 {
		type ipv6_addr
		flags dynamic,timeout
		elements = { 2001:db8::1 timeout 1m40s expires 1m39s868ms comment "a" }
	}

	set validated4 {
		type ipv4_addr
		flags timeout
	}

	set grants4 {
		type ipv4_addr . inet_proto . inet_service
		flags timeout
		elements = { 192.0.2.9 . udp . 5060 timeout 5m expires 4m59s comment "user 300" }
	}

	set blocked_nets6 {
		type ipv6_addr
		flags interval,timeout
		elements = { 2001:db8:1::/64 timeout 8m20s expires 8m19s868ms comment "rot" }
	}

	chain input {
		ip saddr @blocked4 drop
	}
}
)";

TEST(SetListing, ReadsKeysTimeoutsExpiryAndComments) {
  auto b = listed_elements(kListing, "blocked4");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(b->size(), 3u);
  EXPECT_EQ((*b)[0], (ListedElement{"192.0.2.1", seconds(3600), seconds(3599) + milliseconds(868),
                                    "svwar fingerprint: User-Agent friendly-scanner"}));
  EXPECT_EQ((*b)[1].key, "192.0.2.2");
  EXPECT_EQ((*b)[1].timeout, seconds(90061));
  EXPECT_EQ((*b)[1].comment, "");
  EXPECT_EQ((*b)[2], (ListedElement{"192.0.2.3", std::nullopt, std::nullopt, "no, timeout {x}"}));

  auto six = listed_elements(kListing, "blocked6");
  ASSERT_TRUE(six.ok());
  ASSERT_EQ(six->size(), 1u);
  EXPECT_EQ((*six)[0].key, "2001:db8::1");
  auto nets = listed_elements(kListing, "blocked_nets6");
  ASSERT_TRUE(nets.ok());
  ASSERT_EQ(nets->size(), 1u);
  EXPECT_EQ((*nets)[0].key, "2001:db8:1::/64");
  EXPECT_EQ((*nets)[0].timeout, seconds(500));
}

TEST(SetListing, ConcatenatedKeysStayWhole) {
  auto g = listed_elements(kListing, "grants4");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ((*g)[0].key, "192.0.2.9 . udp . 5060");
  EXPECT_EQ((*g)[0].comment, "user 300");
}

TEST(SetListing, EmptyOrAbsentSetsHaveNoElements) {
  auto v = listed_elements(kListing, "validated4");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->empty());
  auto absent = listed_elements(kListing, "validated6");
  ASSERT_TRUE(absent.ok());
  EXPECT_TRUE(absent->empty());
  auto none = listed_elements("", "blocked4");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// The rendered script (what the dry-run applier keeps as "the table") lists elements one a line.
TEST(SetListing, ReadsTheRenderedScriptForm) {
  constexpr std::string_view script = "table inet pbxwall {\n\tset blocked4 {\n\t\ttype ipv4_addr\n"
                                      "\t\tflags dynamic,timeout\n\t\telements = {\n"
                                      "\t\t\t192.0.2.7 timeout 900s comment \"manual\",\n"
                                      "\t\t\t192.0.2.8 timeout 60s\n\t\t}\n\t}\n}\n";
  auto b = listed_elements(script, "blocked4");
  ASSERT_TRUE(b.ok()) << b.error();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0], (ListedElement{"192.0.2.7", seconds(900), std::nullopt, "manual"}));
  EXPECT_EQ((*b)[1].timeout, seconds(60));
}

TEST(SetListing, UnterminatedListIsAnErrorNamingTheSet) {
  auto b = listed_elements("\tset blocked4 {\n\t\telements = { 192.0.2.1 comment \"x }\n", "blocked4");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().find("blocked4"), std::string::npos) << b.error();
}

TEST(SetListing, Durations) {
  EXPECT_EQ(parse_nft_duration("3600s"), seconds(3600));
  EXPECT_EQ(parse_nft_duration("1d2h3m4s5ms"), seconds(93784) + milliseconds(5));
  EXPECT_EQ(parse_nft_duration("868ms"), milliseconds(868));
  EXPECT_FALSE(parse_nft_duration(""));
  EXPECT_FALSE(parse_nft_duration("5"));
  EXPECT_FALSE(parse_nft_duration("5x"));
}

}  // namespace
}  // namespace pbxwall::kernel
