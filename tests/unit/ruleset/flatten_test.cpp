#include <gtest/gtest.h>

#include <algorithm>

#include "ruleset/intervals.h"
#include "ruleset/ports.h"
#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {
namespace {

using model::Zone;

Cidr net(std::string_view s) {
  auto c = Cidr::parse(s);
  EXPECT_TRUE(c) << s;
  return c.value_or(Cidr{});
}

// "first-last zone" per range, for compact assertions.
std::vector<std::string> show(const std::vector<ZoneRange>& ranges) {
  std::vector<std::string> v;
  for (const auto& r : ranges)
    v.push_back(r.first.str() + "-" + r.last.str() + " " + std::string(model::zone_name(r.zone)));
  return v;
}

using Strings = std::vector<std::string>;

TEST(Flatten, NestedNetworksSplitTheParent) {
  const auto r = flatten_zones({{net("192.0.2.0/24"), Zone::trusted},
                                {net("192.0.2.128/25"), Zone::local},
                                {net("192.0.2.200"), Zone::reject}});
  EXPECT_EQ(show(r), (Strings{"192.0.2.0-192.0.2.127 trusted", "192.0.2.128-192.0.2.199 local",
                              "192.0.2.200-192.0.2.200 reject", "192.0.2.201-192.0.2.255 local"}));
}

TEST(Flatten, InputOrderDoesNotMatter) {
  const auto a = flatten_zones({{net("192.0.2.200"), Zone::reject},
                                {net("192.0.2.0/24"), Zone::trusted},
                                {net("192.0.2.128/25"), Zone::local}});
  const auto b = flatten_zones({{net("192.0.2.128/25"), Zone::local},
                                {net("192.0.2.0/24"), Zone::trusted},
                                {net("192.0.2.200"), Zone::reject}});
  EXPECT_EQ(a, b);
}

TEST(Flatten, ChildAtTheEndOfItsParent) {
  const auto r = flatten_zones({{net("192.0.2.0/24"), Zone::local}, {net("192.0.2.255"), Zone::other}});
  EXPECT_EQ(show(r), (Strings{"192.0.2.0-192.0.2.254 local", "192.0.2.255-192.0.2.255 other"}));
  const auto s = flatten_zones({{net("192.0.2.0/24"), Zone::local}, {net("192.0.2.0"), Zone::other}});
  EXPECT_EQ(show(s), (Strings{"192.0.2.0-192.0.2.0 other", "192.0.2.1-192.0.2.255 local"}));
}

TEST(Flatten, AdjacentSameZoneRangesMerge) {
  const auto r = flatten_zones({{net("192.0.2.0/25"), Zone::local},
                                {net("192.0.2.128/25"), Zone::local},
                                {net("198.51.100.0/24"), Zone::local}});
  EXPECT_EQ(show(r), (Strings{"192.0.2.0-192.0.2.255 local", "198.51.100.0-198.51.100.255 local"}));
  // A child of the same zone as its parent disappears into it.
  const auto s = flatten_zones({{net("192.0.2.0/24"), Zone::local}, {net("192.0.2.9"), Zone::local}});
  EXPECT_EQ(show(s), (Strings{"192.0.2.0-192.0.2.255 local"}));
}

TEST(Flatten, SameNetworkTwiceMoreRestrictiveWins) {
  const auto r = flatten_zones({{net("192.0.2.7"), Zone::reject}, {net("192.0.2.7"), Zone::trusted}});
  EXPECT_EQ(show(r), (Strings{"192.0.2.7-192.0.2.7 reject"}));
}

TEST(Flatten, DeepNestingAndIPv6) {
  const auto r = flatten_zones({{net("2001:db8::/32"), Zone::local},
                                {net("2001:db8:1::/48"), Zone::trusted},
                                {net("2001:db8:1::5"), Zone::internet},
                                {net("10.0.0.0/8"), Zone::other}});
  EXPECT_EQ(show(r), (Strings{"10.0.0.0-10.255.255.255 other",
                              "2001:db8::-2001:db8:0:ffff:ffff:ffff:ffff:ffff local",
                              "2001:db8:1::-2001:db8:1::4 trusted",
                              "2001:db8:1::5-2001:db8:1::5 internet",
                              "2001:db8:1::6-2001:db8:1:ffff:ffff:ffff:ffff:ffff trusted",
                              "2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff local"}));
}

TEST(Flatten, WholeAddressSpaces) {
  const auto r = flatten_zones({{net("0.0.0.0/0"), Zone::other},
                                {net("255.255.255.255"), Zone::reject},
                                {net("::/0"), Zone::internet},
                                {net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Zone::reject},
                                {net("::"), Zone::local}});
  EXPECT_EQ(show(r),
            (Strings{"0.0.0.0-255.255.255.254 other", "255.255.255.255-255.255.255.255 reject",
                     "::-:: local", "::1-ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe internet",
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff reject"}));
}

TEST(Flatten, EveryAddressGetsTheMostSpecificZone) {
  // Brute force over a /24: compare with a direct longest-prefix lookup.
  std::vector<std::pair<Cidr, Zone>> nets = {
      {net("192.0.2.0/24"), Zone::trusted}, {net("192.0.2.0/26"), Zone::local},
      {net("192.0.2.16/28"), Zone::other},  {net("192.0.2.20/30"), Zone::reject},
      {net("192.0.2.21"), Zone::internet},  {net("192.0.2.64/26"), Zone::trusted},
      {net("192.0.2.96/27"), Zone::reject}, {net("192.0.2.255"), Zone::local}};
  const auto ranges = flatten_zones(nets);
  for (std::uint32_t host = 0; host < 256; ++host) {
    const auto a = IpAddress::v4(0xc0000200u | host);
    int best = -1;
    Zone expected = Zone::internet;
    for (const auto& [c, z] : nets)
      if (c.contains(a) && c.prefix() > best) best = c.prefix(), expected = z;
    int hits = 0;
    Zone got = Zone::internet;
    for (const auto& r : ranges)
      if (!(a < r.first) && !(r.last < a)) ++hits, got = r.zone;
    EXPECT_EQ(hits, 1) << a.str();
    EXPECT_EQ(got, expected) << a.str();
  }
}

// The kernel sets and model::zone_of implement the same precedence rule; they must agree on
// every address. Random nested networks (fixed seed) inside 198.51.100.0/24 and 2001:db8::/120.
TEST(Flatten, AgreesWithZoneOf) {
  std::uint32_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) & 0xffffu;
  };
  model::Policy policy;
  for (int i = 0; i < 60; ++i) {
    const bool v6 = i % 2 == 1;
    const int prefix_in_block = static_cast<int>(next() % 9);  // 0..8 bits below the /24 or /120
    const std::uint32_t offset = next() & 0xffu & ~((1u << (8 - prefix_in_block)) - 1);
    model::NetworkEntry e;
    e.zone = model::kAllZones[next() % model::kAllZones.size()];
    if (v6) {
      auto bytes = IpAddress::parse("2001:db8::")->bytes();
      bytes[15] = static_cast<std::uint8_t>(offset);
      e.cidr = Cidr(IpAddress::v6_bytes(bytes.data()), 120 + prefix_in_block);
    } else {
      e.cidr = Cidr(IpAddress::v4(0xc6336400u | offset), 24 + prefix_in_block);
    }
    e.text = e.cidr->str();
    if (std::none_of(policy.networks.begin(), policy.networks.end(),
                     [&](const model::NetworkEntry& n) { return n.cidr == e.cidr; }))
      policy.networks.push_back(e);
  }
  const auto ranges = flatten_zones(model::zone_networks(policy));
  for (std::uint32_t host = 0; host < 256; ++host) {
    auto bytes = IpAddress::parse("2001:db8::")->bytes();
    bytes[15] = static_cast<std::uint8_t>(host);
    for (const auto& a : {IpAddress::v4(0xc6336400u | host), IpAddress::v6_bytes(bytes.data())}) {
      std::optional<Zone> in_set;
      for (const auto& r : ranges)
        if (r.first.family() == a.family() && !(a < r.first) && !(r.last < a)) in_set = r.zone;
      const bool covered = std::any_of(policy.networks.begin(), policy.networks.end(),
                                       [&](const model::NetworkEntry& n) { return n.cidr->contains(a); });
      ASSERT_EQ(in_set.has_value(), covered) << a.str();
      if (covered) {
        EXPECT_EQ(*in_set, model::zone_of(policy, a, "unlisted")) << a.str();
      }
    }
  }
}

TEST(RangeText, CidrWhenAlignedElseRange) {
  auto ip = [](std::string_view s) { return *IpAddress::parse(s); };
  EXPECT_EQ(detail::range_text(ip("192.0.2.0"), ip("192.0.2.255")), "192.0.2.0/24");
  EXPECT_EQ(detail::range_text(ip("192.0.2.7"), ip("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(detail::range_text(ip("192.0.2.0"), ip("192.0.2.127")), "192.0.2.0/25");
  EXPECT_EQ(detail::range_text(ip("192.0.2.1"), ip("192.0.2.2")), "192.0.2.1-192.0.2.2");
  EXPECT_EQ(detail::range_text(ip("192.0.2.128"), ip("192.0.3.127")), "192.0.2.128-192.0.3.127");
  EXPECT_EQ(detail::range_text(ip("0.0.0.0"), ip("255.255.255.255")), "0.0.0.0/0");
  EXPECT_EQ(detail::range_text(ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), "::/0");
  EXPECT_EQ(detail::range_text(ip("2001:db8::"), ip("2001:db8::ff")), "2001:db8::/120");
}

TEST(MergePorts, OverlapsAndNeighboursJoinPerProtocol) {
  auto p = [](std::string_view s) { return *model::PortRange::parse(s); };
  const auto merged = detail::merge_ports({p("udp/10000-20000"), p("tcp/80"), p("udp/5060"),
                                           p("tcp/81"), p("udp/15000-25000"), p("tcp/80"),
                                           p("udp/5061-5062"), p("tcp/65535")});
  std::vector<std::string> s;
  for (const auto& r : merged) s.push_back(r.str());
  EXPECT_EQ(s, (Strings{"tcp/80-81", "tcp/65535", "udp/5060-5062", "udp/10000-25000"}));
}

}  // namespace
}  // namespace pbxwall::ruleset
