// observe() throughput for a realistic mix and for the worst cases, and the memory a tracked
// source costs with the table at 1,000,000 sources.
//
//   build/bench/engine/bench_engine                       all
//   build/bench/engine/bench_engine --benchmark_filter=Memory
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "responsive/responsive.h"

namespace {

using namespace pbxwall;
using namespace pbxwall::responsive;
using namespace std::chrono_literals;

const IpAddress kPbx = IpAddress::v4(0xc000020au);  // 192.0.2.10

PacketMeta meta(const IpAddress& remote, Direction dir) {
  PacketMeta m;
  m.dir = dir;
  m.src = dir == Direction::to_pbx ? remote : kPbx;
  m.dst = dir == Direction::to_pbx ? kPbx : remote;
  m.sport = m.dport = 5060;
  return m;
}

// Observations hold views: the strings live in this pool for the whole benchmark.
struct Pool {
  std::vector<std::unique_ptr<std::string>> strings;
  std::string_view keep(std::string s) {
    strings.push_back(std::make_unique<std::string>(std::move(s)));
    return *strings.back();
  }
};

struct Trace {
  Pool pool;
  std::vector<Observation> obs;
  std::vector<TimePoint> at;
};

void add_register(Trace& tr, const IpAddress& who, std::string_view user, std::string_view call_id, std::uint32_t cseq,
                  bool credentials, int status, TimePoint t, std::string_view ua) {
  SipRequest r;
  r.method = SipMethod::register_;
  r.to_user = r.from_user = user;
  r.has_credentials = r.auth_response_present = credentials;
  if (credentials) r.auth_user = user;
  r.user_agent = ua;
  r.call_id = call_id;
  r.cseq = cseq;
  r.expires = 3600;
  r.via_host = "198.51.100.1";
  tr.obs.push_back(Observation{meta(who, Direction::to_pbx), r});
  tr.at.push_back(t);
  SipResponse a;
  a.status = status;
  a.call_id = call_id;
  a.cseq = cseq;
  a.cseq_method = SipMethod::register_;
  a.has_challenge = status == 401;
  a.to_user = user;
  if (status == 200) a.expires = 3600;
  tr.obs.push_back(Observation{meta(who, Direction::from_pbx), a});
  tr.at.push_back(t);
}

// The mix a PBX on the internet sees: phones re-registering (challenge, then credentials),
// phones qualifying with OPTIONS, and scanners sweeping extensions from many addresses.
Trace mix_trace(std::size_t phones, std::size_t scanners, std::size_t rounds) {
  Trace tr;
  TimePoint t(Duration(1'700'000'000'000'000));
  const std::string_view phone_ua = "Yealink SIP-T46S 66.86.0.15", scan_ua = "PolyScan 1.0";
  std::vector<std::string_view> users;
  for (std::size_t i = 0; i < 1000; ++i) users.push_back(tr.pool.keep(std::to_string(100 + i)));
  for (std::size_t round = 0; round < rounds; ++round) {
    for (std::size_t p = 0; p < phones; ++p) {
      const IpAddress who = IpAddress::v4(0xc6336400u + static_cast<std::uint32_t>(p));  // 198.51.100.0/24 and on
      const auto call = tr.pool.keep("reg-" + std::to_string(p) + "-" + std::to_string(round));
      add_register(tr, who, users[p % users.size()], call, 1, false, 401, t, phone_ua);
      add_register(tr, who, users[p % users.size()], call, 2, true, 200, t, phone_ua);
      SipRequest o;
      o.method = SipMethod::options;
      o.user_agent = phone_ua;
      o.call_id = tr.pool.keep("opt-" + std::to_string(p) + "-" + std::to_string(round));
      o.cseq = 1;
      tr.obs.push_back(Observation{meta(who, Direction::to_pbx), o});
      tr.at.push_back(t);
      t += 10ms;
    }
    for (std::size_t s = 0; s < scanners; ++s) {
      const IpAddress who = IpAddress::v4(0xcb007100u + static_cast<std::uint32_t>(s * 7919 + round * 104729));
      for (std::size_t k = 0; k < 5; ++k) {
        const auto call = tr.pool.keep("scan-" + std::to_string(s) + "-" + std::to_string(round) + "-" + std::to_string(k));
        add_register(tr, who, users[(s + k) % users.size()], call, 1, false, 404, t, scan_ua);
      }
      t += 10ms;
    }
  }
  return tr;
}

void run_trace(benchmark::State& state, const Trace& tr, std::size_t ceiling) {
  Settings s;
  s.max_sources = ceiling;
  std::vector<Decision> out;
  std::size_t decisions = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto engine = std::make_unique<Engine>(s);
    state.ResumeTiming();
    for (std::size_t i = 0; i < tr.obs.size(); ++i) {
      out.clear();
      engine->observe(tr.obs[i], tr.at[i], out);
      decisions += out.size();
    }
    benchmark::DoNotOptimize(decisions);
    state.PauseTiming();
    engine.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * tr.obs.size()));
  state.counters["decisions/run"] = static_cast<double>(decisions) / static_cast<double>(state.iterations());
}

void BM_ObserveMix(benchmark::State& state) {
  static const Trace tr = mix_trace(10'000, 2'000, 3);
  run_trace(state, tr, 1'000'000);
}
BENCHMARK(BM_ObserveMix)->Unit(benchmark::kMillisecond);

// A phone's re-registration: the common case on a busy PBX.
void BM_ObservePhonesOnly(benchmark::State& state) {
  static const Trace tr = mix_trace(50'000, 0, 2);
  run_trace(state, tr, 1'000'000);
}
BENCHMARK(BM_ObservePhonesOnly)->Unit(benchmark::kMillisecond);

// Spoofed sources: every packet from a new address, the table full, each one evicting.
void BM_ObserveSpoofedFlood(benchmark::State& state) {
  Trace tr;
  TimePoint t(Duration(1'700'000'000'000'000));
  SipRequest o;
  o.method = SipMethod::options;
  o.user_agent = "x";
  o.call_id = "flood";
  for (std::uint32_t i = 0; i < 400'000; ++i) {
    tr.obs.push_back(Observation{meta(IpAddress::v4(0x0a000000u + i), Direction::to_pbx), o});
    tr.at.push_back(t);
    t += 1us;
  }
  run_trace(state, tr, 100'000);
}
BENCHMARK(BM_ObserveSpoofedFlood)->Unit(benchmark::kMillisecond);

long resident_kib() {
  long pages_total = 0, pages_resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
    std::fclose(f);
  }
  return pages_resident * 4;  // 4 KiB pages on x86-64 Linux
}

// Resident memory growth while the table fills with 1,000,000 sources (then 1,000,000 more,
// which must all be evictions: no growth past the ceiling).
void BM_MemoryPerSource(benchmark::State& state) {
  constexpr std::uint32_t kSources = 1'000'000;
  for (auto _ : state) {
    Settings s;
    s.max_sources = kSources;
    const long before = resident_kib();
    Engine engine(s);
    SipRequest r;
    r.method = SipMethod::register_;
    r.to_user = "100";
    r.user_agent = "Yealink";
    r.call_id = "c";
    TimePoint t(Duration(1'700'000'000'000'000));
    std::vector<Decision> out;
    for (std::uint32_t i = 0; i < kSources; ++i) engine.observe(Observation{meta(IpAddress::v4(0x0a000000u + i), Direction::to_pbx), r}, t, out);
    const long full = resident_kib();
    for (std::uint32_t i = 0; i < kSources; ++i)
      engine.observe(Observation{meta(IpAddress::v4(0x0b000000u + i), Direction::to_pbx), r}, t, out);
    const long after = resident_kib();
    state.counters["bytes/source"] = static_cast<double>(full - before) * 1024.0 / kSources;
    state.counters["growth_after_ceiling_KiB"] = static_cast<double>(after - full);
    state.counters["record_bytes"] = static_cast<double>(Engine::bytes_per_source());
    state.counters["evictions"] = static_cast<double>(engine.counters().evictions);
  }
}
BENCHMARK(BM_MemoryPerSource)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
