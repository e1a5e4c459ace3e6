// ZoneIndex against the linear walk of model::zone_of, on random policies of nested and
// overlapping networks (IPv4 and IPv6), with hostnames resolved to addresses.
#include "ruleset/zone_index.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

namespace pbxwall::ruleset {
namespace {

using model::Zone;

constexpr std::array kZones = {Zone::trusted, Zone::local, Zone::other, Zone::internet, Zone::reject};

// Addresses clustered in two /16s (IPv4) and two /48s (IPv6) so networks nest and collide.
IpAddress random_address(std::mt19937_64& rng, bool v4) {
  std::uint8_t b[16] = {};
  if (v4) {
    b[0] = 10;
    b[1] = static_cast<std::uint8_t>(rng() % 2);
    b[2] = static_cast<std::uint8_t>(rng() % 4);
    b[3] = static_cast<std::uint8_t>(rng());
    if (rng() % 16 == 0) b[3] = static_cast<std::uint8_t>(rng() % 2 ? 0 : 255);  // the edges of ranges
    return IpAddress::v4_bytes(b);
  }
  b[0] = 0x20;
  b[1] = 0x01;
  b[2] = 0x0d;
  b[3] = 0xb8;
  b[5] = static_cast<std::uint8_t>(rng() % 2);
  b[7] = static_cast<std::uint8_t>(rng() % 4);
  for (int i = 14; i < 16; ++i) b[i] = static_cast<std::uint8_t>(rng());
  if (rng() % 8 == 0) b[15] = 0;
  return IpAddress::v6_bytes(b);
}

Cidr random_network(std::mt19937_64& rng, bool v4) {
  const IpAddress a = random_address(rng, v4);
  const int prefix = v4 ? static_cast<int>(8 + rng() % 25) : static_cast<int>(32 + rng() % 97);
  return Cidr(a, prefix);  // host bits cleared by Cidr
}

model::Policy random_policy(std::mt19937_64& rng, model::ResolvedHosts& resolved) {
  model::Policy p;
  const std::size_t n = 1 + rng() % 40;
  for (std::size_t i = 0; i < n; ++i) {
    model::NetworkEntry e;
    e.zone = kZones[rng() % kZones.size()];
    if (rng() % 8 == 0) {
      e.hostname = "host" + std::to_string(i) + ".example.net";
      auto& addrs = resolved[e.hostname];
      for (std::size_t k = 0; k < 1 + rng() % 3; ++k) addrs.push_back(random_address(rng, rng() % 2 == 0));
    } else {
      e.cidr = random_network(rng, rng() % 2 == 0);
    }
    p.networks.push_back(e);
  }
  return p;
}

TEST(ZoneIndex, AgreesWithTheLinearWalkOnRandomPolicies) {
  std::mt19937_64 rng(20261202);
  int matched = 0;
  for (int round = 0; round < 400; ++round) {
    model::ResolvedHosts resolved;
    const model::Policy policy = random_policy(rng, resolved);
    const ZoneIndex index = ZoneIndex::of_networks(model::zone_networks(policy, resolved));
    for (int q = 0; q < 200; ++q) {
      const IpAddress a = random_address(rng, q % 2 == 0);
      const Zone walked = model::zone_of(policy, a, "", resolved);
      const auto indexed = index.zone_of(a);
      matched += indexed.has_value();
      ASSERT_EQ(indexed.value_or(Zone::internet), walked) << "round " << round << " address " << a.str();
    }
  }
  EXPECT_GT(matched, 10'000);  // the policies do cover the addresses asked
}

TEST(ZoneIndex, AnAddressInNoNetworkHasNoZone) {
  const ZoneIndex index = ZoneIndex::of_networks({{*Cidr::parse("192.0.2.0/24"), Zone::trusted}});
  EXPECT_EQ(index.zone_of(*IpAddress::parse("192.0.2.255")), Zone::trusted);
  EXPECT_FALSE(index.zone_of(*IpAddress::parse("192.0.3.0")).has_value());
  EXPECT_FALSE(index.zone_of(*IpAddress::parse("192.0.1.255")).has_value());
  EXPECT_FALSE(index.zone_of(*IpAddress::parse("2001:db8::1")).has_value());
  EXPECT_FALSE(ZoneIndex().zone_of(*IpAddress::parse("192.0.2.1")).has_value());
}

TEST(ZoneIndex, TheWholeAddressSpaceAndItsLastAddress) {
  const ZoneIndex index = ZoneIndex::of_networks({{*Cidr::parse("::/0"), Zone::reject},
                                                  {*Cidr::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), Zone::trusted},
                                                  {*Cidr::parse("0.0.0.0/0"), Zone::local}});
  EXPECT_EQ(index.zone_of(*IpAddress::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), Zone::trusted);
  EXPECT_EQ(index.zone_of(*IpAddress::parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")), Zone::reject);
  EXPECT_EQ(index.zone_of(*IpAddress::parse("255.255.255.255")), Zone::local);
}

}  // namespace
}  // namespace pbxwall::ruleset
