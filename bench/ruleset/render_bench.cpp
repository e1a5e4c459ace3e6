// How long rendering takes for large policies: flattening the zone networks and writing the
// script. Networks are spread over all zones, IPv4 and IPv6, with some nesting so the flattening
// has real work to do. Run: build/bench/ruleset/bench_ruleset
#include <benchmark/benchmark.h>

#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {
namespace {

// n networks: 3/4 IPv4 (a /24 every 64th entry, host addresses otherwise, some of them inside
// those /24s), 1/4 IPv6 /64s; zones rotate so every zone set gets a share.
model::Policy synthetic_policy(std::size_t n) {
  model::Policy p;
  p.services = model::builtin_services();
  p.interfaces = {{"eth0", model::Zone::internet}, {"eth1", model::Zone::local}};
  p.networks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    model::NetworkEntry e;
    e.zone = model::kAllZones[i % model::kAllZones.size()];
    const auto k = static_cast<std::uint32_t>(i);
    if (i % 4 == 3) {
      std::uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, static_cast<std::uint8_t>(k >> 24),
                            static_cast<std::uint8_t>(k >> 16), static_cast<std::uint8_t>(k >> 8),
                            static_cast<std::uint8_t>(k)};
      e.cidr = Cidr(IpAddress::v6_bytes(b), 64);
    } else if (i % 64 == 0) {
      e.cidr = Cidr(IpAddress::v4(0x0a000000u + (k << 8)), 24);  // 10.x.y.0/24
    } else {
      // Hosts; every 8th lands inside one of the /24s above (k rounded down to a multiple of 64).
      const std::uint32_t host = i % 8 == 1 ? 0x0a000000u + ((k & ~63u) << 8) + (k % 251) + 1
                                            : 0x0b000000u + k * 3;
      e.cidr = Cidr(IpAddress::v4(host), 32);
    }
    e.text = e.cidr->str();
    p.networks.push_back(std::move(e));
  }
  return p;
}

void BM_Render(benchmark::State& state) {
  const auto policy = synthetic_policy(static_cast<std::size_t>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto script = render({policy});
    bytes = script.size();
    benchmark::DoNotOptimize(script);
  }
  state.counters["script_bytes"] = static_cast<double>(bytes);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Render)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_FlattenOnly(benchmark::State& state) {
  const auto policy = synthetic_policy(static_cast<std::size_t>(state.range(0)));
  const auto networks = model::zone_networks(policy);
  for (auto _ : state) {
    auto ranges = flatten_zones(networks);
    benchmark::DoNotOptimize(ranges);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_FlattenOnly)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pbxwall::ruleset
