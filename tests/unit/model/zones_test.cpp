#include <gtest/gtest.h>

#include "model/model.h"

namespace pbxwall::model {
namespace {

IpAddress ip(std::string_view s) {
  auto a = IpAddress::parse(s);
  EXPECT_TRUE(a) << s;
  return a.value_or(IpAddress{});
}

Policy policy_of(std::string_view text) {
  auto r = load_string(text, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().str());
  return r.ok() ? r->policy : Policy{};
}

const char* kOverlapping =
    "[interfaces]\n"
    "eth0 = \"internet\"\n"
    "eth1 = \"local\"\n"
    "[networks]\n"
    "\"192.0.2.0/24\" = \"trusted\"\n"
    "\"192.0.2.128/25\" = \"other\"\n"
    "\"192.0.2.200\" = \"reject\"\n"
    "\"2001:db8::/32\" = \"local\"\n"
    "\"2001:db8:1::/48\" = \"trusted\"\n"
    "\"2001:db8:1::5\" = \"internet\"\n"
    "\"pbx.example.com\" = \"trusted\"\n";

TEST(ZoneOf, MostSpecificNetworkWinsIPv4) {
  const auto p = policy_of(kOverlapping);
  EXPECT_EQ(zone_of(p, ip("192.0.2.1"), "eth0"), Zone::trusted);
  EXPECT_EQ(zone_of(p, ip("192.0.2.129"), "eth0"), Zone::other);
  EXPECT_EQ(zone_of(p, ip("192.0.2.200"), "eth0"), Zone::reject);
  EXPECT_EQ(zone_of(p, ip("192.0.2.201"), "eth1"), Zone::other);  // network beats interface
}

TEST(ZoneOf, MostSpecificNetworkWinsIPv6) {
  const auto p = policy_of(kOverlapping);
  EXPECT_EQ(zone_of(p, ip("2001:db8:2::1"), "eth0"), Zone::local);
  EXPECT_EQ(zone_of(p, ip("2001:db8:1::4"), "eth0"), Zone::trusted);
  EXPECT_EQ(zone_of(p, ip("2001:db8:1::5"), "eth1"), Zone::internet);
}

TEST(ZoneOf, InterfaceFallbackAndUnlistedInterfaceIsInternet) {
  const auto p = policy_of(kOverlapping);
  EXPECT_EQ(zone_of(p, ip("203.0.113.9"), "eth1"), Zone::local);
  EXPECT_EQ(zone_of(p, ip("203.0.113.9"), "eth0"), Zone::internet);
  EXPECT_EQ(zone_of(p, ip("203.0.113.9"), "wg0"), Zone::internet);
  EXPECT_EQ(zone_of(p, ip("2001:db9::1"), "eth1"), Zone::local);
  EXPECT_EQ(zone_of(p, ip("2001:db9::1"), "ppp0"), Zone::internet);
  // A v4-mapped v6 address is the v4 host.
  EXPECT_EQ(zone_of(p, ip("::ffff:192.0.2.200"), "eth0"), Zone::reject);
}

TEST(ZoneOf, HostnamesMatchThroughResolvedAddresses) {
  const auto p = policy_of(kOverlapping);
  EXPECT_EQ(zone_of(p, ip("198.51.100.7"), "eth0"), Zone::internet);
  ResolvedHosts resolved{{"pbx.example.com", {ip("198.51.100.7"), ip("2001:db8:1::5")}}};
  EXPECT_EQ(zone_of(p, ip("198.51.100.7"), "eth0", resolved), Zone::trusted);
  // Same specificity as the /128 "internet" entry: the more restrictive zone wins.
  EXPECT_EQ(zone_of(p, ip("2001:db8:1::5"), "eth0", resolved), Zone::internet);
}

TEST(ZoneNetworks, ListsCidrsAndResolvedHosts) {
  const auto p = policy_of(kOverlapping);
  ResolvedHosts resolved{{"pbx.example.com", {ip("198.51.100.7")}}};
  const auto nets = zone_networks(p, resolved);
  ASSERT_EQ(nets.size(), 7u);
  EXPECT_EQ(nets.front().first.str(), "192.0.2.0/24");
  EXPECT_EQ(nets.back().first.str(), "198.51.100.7");
  EXPECT_EQ(nets.back().second, Zone::trusted);
  EXPECT_EQ(zone_networks(p).size(), 6u);
}

TEST(Hostname, Syntax) {
  EXPECT_TRUE(is_valid_hostname("pbx.example.com"));
  EXPECT_TRUE(is_valid_hostname("pbx.example.com."));
  EXPECT_TRUE(is_valid_hostname("sip-1.example"));
  EXPECT_TRUE(is_valid_hostname("localhost"));
  EXPECT_FALSE(is_valid_hostname(""));
  EXPECT_FALSE(is_valid_hostname("a..b"));
  EXPECT_FALSE(is_valid_hostname("a_b.com"));
  EXPECT_FALSE(is_valid_hostname("-a.com"));
  EXPECT_FALSE(is_valid_hostname("a-.com"));
  EXPECT_FALSE(is_valid_hostname("10.0.0.300"));
  EXPECT_FALSE(is_valid_hostname(std::string(64, 'a') + ".com"));
  EXPECT_TRUE(is_valid_hostname(std::string(63, 'a') + ".com"));
}

TEST(ZoneNames, RoundTrip) {
  for (Zone z : kAllZones) EXPECT_EQ(parse_zone(zone_name(z)), z);
  EXPECT_FALSE(parse_zone("Trusted"));
  EXPECT_LT(restrictiveness(Zone::trusted), restrictiveness(Zone::reject));
}

}  // namespace
}  // namespace pbxwall::model
