// Render + apply of a large policy through libnftables, timed. Run inside a network
// namespace (bench/apply/run does that); it replaces table inet pbxwall there.
//
//   apply_bench [NETWORKS] [ROUNDS]   defaults: 100000 networks, 3 rounds
//
// Networks are spread over the zones like a real site with blocklists: most in `reject`, the
// rest in trusted/local/other/internet, with a few wide networks around narrower ones of
// other zones, so the most-specific-wins flattening has work to do. Addresses: 2001:db8::/32 and the IPv4
// documentation ranges only.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "model/model.h"
#include "ruleset/ruleset.h"

namespace {

using pbxwall::Cidr;
using pbxwall::IpAddress;
using pbxwall::model::Zone;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU time of this process, user + system. The kernel's work on the netlink batch runs in
// the sending process's context, so it is included. On a shared machine this is the figure
// that does not depend on how many other processes compete for the cores.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

Zone zone_for(int i) {
  switch (i % 10) {
    case 0: return Zone::trusted;
    case 1: return Zone::local;
    case 2: return Zone::other;
    case 3: return Zone::internet;
    default: return Zone::reject;  // blocklists dominate large configurations
  }
}

std::vector<pbxwall::model::NetworkEntry> make_networks(int count) {
  std::vector<pbxwall::model::NetworkEntry> out;
  out.reserve(static_cast<std::size_t>(count));
  auto add = [&](const std::string& text, Zone z) {
    pbxwall::model::NetworkEntry e;
    e.text = text;
    e.cidr = Cidr::parse(text);
    if (!e.cidr) {
      std::fprintf(stderr, "bad generated network %s\n", text.c_str());
      std::exit(1);
    }
    e.zone = z;
    out.push_back(std::move(e));
  };
  // IPv4: every documentation address as a host (768), a few /28s over them.
  const char* v4_prefixes[] = {"192.0.2.", "198.51.100.", "203.0.113."};
  for (const char* p : v4_prefixes) {
    for (int h = 0; h < 256 && static_cast<int>(out.size()) < count; ++h)
      add(p + std::to_string(h), zone_for(h));
    for (int n = 0; n < 256 && static_cast<int>(out.size()) < count; n += 64)
      add(p + std::to_string(n) + "/28", Zone::local);
  }
  // IPv6: /64 networks and /128 hosts in 2001:db8::/32; every 5000th a /56 (of another
  // zone) over the 256 /64 slots around it, so the networks inside it punch holes in it.
  char buf[64];
  for (int i = 0; static_cast<int>(out.size()) < count; ++i) {
    const unsigned hi = static_cast<unsigned>(i) >> 16, lo = static_cast<unsigned>(i) & 0xffff;
    if (i % 5000 == 4999) {
      std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::/56", hi + 0x100, lo & 0xff00);
      add(buf, Zone::other);
      continue;
    }
    if (i % 2 == 0) std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::/64", hi + 0x100, lo);
    else std::snprintf(buf, sizeof buf, "2001:db8:%x:%x::1", hi + 0x100, lo);
    add(buf, zone_for(i));
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  auto loaded = pbxwall::model::load_string("[firewall]\nsafe_mode = false\n", "bench.toml");
  if (!loaded) {
    std::fprintf(stderr, "base configuration failed to load\n");
    return 1;
  }
  pbxwall::model::Policy policy = loaded->policy;
  policy.networks = make_networks(count);

  pbxwall::kernel::NftApplier applier;
  std::printf("networks=%d rounds=%d\n", count, rounds);
  for (int r = 1; r <= rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    double c0 = cpu_seconds();
    const std::string script = pbxwall::ruleset::render(pbxwall::ruleset::RenderInput{policy});
    const double render_s = seconds_since(t0);
    const double render_cpu = cpu_seconds() - c0;
    t0 = std::chrono::steady_clock::now();
    c0 = cpu_seconds();
    auto applied = applier.apply(script);
    const double apply_s = seconds_since(t0);
    const double apply_cpu = cpu_seconds() - c0;
    if (!applied) {
      std::fprintf(stderr, "apply failed: %s\n", applied.error().substr(0, 2000).c_str());
      return 1;
    }
    std::printf("round=%d wall: render %.3f s + apply %.3f s = %.3f s | cpu: render %.3f s + apply "
                "%.3f s = %.3f s | script %zu bytes\n",
                r, render_s, apply_s, render_s + apply_s, render_cpu, apply_cpu,
                render_cpu + apply_cpu, script.size());
    std::fflush(stdout);
  }
  // The table really holds the elements: count them in the listing (not timed above).
  auto listed = applier.list_table();
  if (!listed) {
    std::fprintf(stderr, "list failed: %s\n", listed.error().c_str());
    return 1;
  }
  std::size_t colons = 0;
  for (std::size_t at = listed->find("2001:db8:"); at != std::string::npos;
       at = listed->find("2001:db8:", at + 1))
    ++colons;
  std::printf("listed_ipv6_elements=%zu listing_bytes=%zu\n", colons, listed->size());
  return 0;
}
