// Replay throughput: packets per second through decoder, SIP/IAX2 parsers and the engine, over
// a generated capture of 1,000,000 packets (Ethernet) mixing phones and scanners:
//   - 40 % fingerprinted scanners (svwar-like REGISTERs and 404s) from 256 IPv4 addresses,
//   - 20 % scanners with an ordinary User-Agent (caught by behaviour) from 256 IPv6 addresses,
//   - 40 % phones registering (REGISTER, 401, REGISTER with credentials, 200) from 20,000
//     IPv6 and 250 IPv4 addresses.
// One packet every 100 us (100 s of traffic). The file is written once to a temporary
// directory and removed at exit.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "capture/replay.h"
#include "capture/synth.h"
#include "sip_traffic.h"
#include "temp_dir.h"

namespace pbxwall::capture {
namespace {

constexpr std::size_t kPackets = 1'000'000;
const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kPbx6 = *IpAddress::parse("2001:db8:1::1");

IpAddress v6(const char* prefix, std::uint32_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%x:%x", prefix, n >> 16, n & 0xffff);
  return *IpAddress::parse(buf);
}

struct Generated {
  TempDir dir;
  std::string path = dir.file("mix.pcap");
  std::size_t packets = 0;
};

void generate(Generated& out) {
  {
    auto w = synth::PcapWriter::create(out.path, 1 /* DLT_EN10MB */);
    if (!w.ok()) std::abort();
    TimePoint t = from_epoch_seconds(1'790'000'000);
    std::size_t n = 0;
    auto put = [&](const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
                   const std::string& payload) {
      t += std::chrono::microseconds(100);
      w->write(t, synth::ethernet(synth::udp(src, sport, dst, dport, payload)));
      ++n;
    };
    std::uint32_t scan_i = 0, stealth_i = 0, phone_i = 0;
    while (n < kPackets) {
      const std::size_t slot = (n / 2) % 10;  // request/answer pairs
      if (slot < 4) {  // fingerprinted scanner
        const auto a = IpAddress::v4(0xc0000200u | (scan_i % 256));  // 192.0.2.x
        traffic::Request r;
        r.user = std::to_string(100 + scan_i / 256 % 900);
        r.from_host = a.str();
        r.via_host = "127.0.0.1";
        r.user_agent = "friendly-scanner";
        r.call_id = "s" + std::to_string(scan_i);
        put(a, 5061, kPbx, 5060, traffic::request_text(r));
        put(kPbx, 5060, a, 5061, traffic::response_text(r, 404, "Not Found"));
        ++scan_i;
      } else if (slot < 6) {  // scanner with an ordinary User-Agent, IPv6
        const auto a = v6("2001:db8:3::", stealth_i % 256);
        traffic::Request r;
        r.user = std::to_string(100 + stealth_i / 256 % 900);
        r.domain = r.from_host = r.via_host = "[" + a.str() + "]";
        r.user_agent = "Zoiper rv2.10.20";
        r.call_id = "e" + std::to_string(stealth_i);
        put(a, 5060, kPbx6, 5060, traffic::request_text(r));
        put(kPbx6, 5060, a, 5060, traffic::response_text(r, 404, "Not Found"));
        ++stealth_i;
      } else {  // phones: a registration is two request/answer pairs
        const std::uint32_t phone = phone_i / 2 % 20'250;
        const bool v4 = phone >= 20'000;
        const auto a = v4 ? IpAddress::v4(0xc6336400u | (phone - 20'000 + 1)) : v6("2001:db8:2::", phone);
        const auto& pbx = v4 ? kPbx : kPbx6;
        traffic::Request r;
        r.user = std::to_string(1000 + phone);
        r.from_host = r.via_host = v4 ? a.str() : "[" + a.str() + "]";
        r.call_id = "p" + std::to_string(phone_i / 2);
        if (phone_i % 2 == 0) {
          put(a, 5060, pbx, 5060, traffic::request_text(r));
          put(pbx, 5060, a, 5060, traffic::challenge(r));
        } else {
          r.cseq = 2;
          r.authorization = traffic::digest(r.user, "203.0.113.1");
          put(a, 5060, pbx, 5060, traffic::request_text(r));
          put(pbx, 5060, a, 5060, traffic::registered(r, 3600));
        }
        ++phone_i;
      }
    }
    w->close();
    out.packets = n;
  }
}

const Generated& capture_file() {
  static Generated g;
  static const bool ready = (generate(g), true);
  (void)ready;
  return g;
}

void run(benchmark::State& state, bool given_pbx) {
  const auto& g = capture_file();
  ReplayOptions options;
  if (given_pbx) options.pbx = {kPbx, kPbx6};
  std::uint64_t decisions = 0, blocked = 0, validated = 0;
  for (auto _ : state) {
    decisions = 0;
    auto report = replay_file(g.path, options, [&](const responsive::Decision&, TimePoint) { ++decisions; });
    if (!report.ok()) {
      state.SkipWithError(report.error().c_str());
      return;
    }
    blocked = validated = 0;
    for (const auto& s : report->sources) {
      blocked += s.state == FinalState::blocked;
      validated += s.state == FinalState::validated;
    }
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * g.packets));
  state.counters["packets"] = static_cast<double>(g.packets);
  state.counters["decisions"] = static_cast<double>(decisions);
  state.counters["blocked"] = static_cast<double>(blocked);
  state.counters["validated"] = static_cast<double>(validated);
  state.counters["pkt/s"] =
      benchmark::Counter(static_cast<double>(g.packets), benchmark::Counter::kIsIterationInvariantRate);
}

// --pbx given: one pass over the file.
void BM_ReplayGivenPbx(benchmark::State& state) { run(state, true); }
// PBX worked out from the capture: two passes (find, then replay).
void BM_ReplayFindPbx(benchmark::State& state) { run(state, false); }

// The decoder alone (no parsing, no engine), over the same file read into memory.
void BM_DecodeOnly(benchmark::State& state) {
  const auto& g = capture_file();
  std::vector<std::pair<TimePoint, std::vector<std::uint8_t>>> frames;
  auto reader = PcapReader::open(g.path);
  if (!reader.ok()) std::abort();
  while (auto f = reader->next()) {
    if (!f.ok() || !*f) break;
    frames.emplace_back((*f)->t, std::vector<std::uint8_t>((*f)->bytes.begin(), (*f)->bytes.end()));
  }
  for (auto _ : state) {
    Decoder d;
    std::size_t bytes = 0;
    for (const auto& [t, f] : frames) {
      auto p = d.feed(1, t, f);
      if (p.ok() && *p) bytes += (*p)->payload.size();
    }
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["pkt/s"] =
      benchmark::Counter(static_cast<double>(frames.size()), benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_ReplayGivenPbx)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_ReplayFindPbx)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond)->Iterations(5);

}  // namespace
}  // namespace pbxwall::capture

BENCHMARK_MAIN();
