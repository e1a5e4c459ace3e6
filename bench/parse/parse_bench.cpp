// Messages parsed per second on one core: pbxwall's SIP parser and libosip2 on the same bytes
// (tests/data/sip/samples), plus the stream framer and the IAX2 parser.
//
//   build-*/bench/parse/bench_parse --benchmark_min_time=1
//
// Both parsers get the message from a buffer of its exact size; libosip2 allocates and frees
// its message each time, which is how it is used.
#include <benchmark/benchmark.h>
#include <osipparser2/osip_parser.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "iax/iax.h"
#include "sip/sip.h"

namespace {

std::string load(const std::string& relative) {
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/" + relative, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  if (s.str().empty()) {
    std::fprintf(stderr, "missing %s\n", relative.c_str());
    std::abort();
  }
  return s.str();
}

const std::string& message(int which) {
  static const std::string messages[] = {
      load("sip/samples/sipp_register.sip"),
      load("sip/samples/svcrack_register_auth.sip"),
      load("sip/samples/phone_invite_sdp.sip"),
      load("sip/samples/kamailio_401.sip"),
      load("sip/samples/kamailio_200_register.sip"),
  };
  return messages[which];
}

void label(benchmark::State& state, int which) {
  static const char* names[] = {"REGISTER", "REGISTER+auth", "INVITE+SDP", "401", "200"};
  state.SetLabel(names[which]);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * message(which).size()));
}

void BM_pbxwall_sip(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::string& m = message(which);
  for (auto _ : state) {
    auto r = pbxwall::sip::parse(m);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r->call_id.data());
    benchmark::DoNotOptimize(r->authorization.username.data());
  }
  label(state, which);
}

void BM_pbxwall_sip_into(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::string& m = message(which);
  pbxwall::sip::Message parsed;
  for (auto _ : state) {
    if (pbxwall::sip::parse_into(m, parsed)) std::abort();
    benchmark::DoNotOptimize(parsed.call_id.data());
    benchmark::DoNotOptimize(parsed.authorization.username.data());
  }
  label(state, which);
}

void BM_libosip2(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::string& m = message(which);
  parser_init();
  for (auto _ : state) {
    osip_message_t* sip = nullptr;
    osip_message_init(&sip);
    if (osip_message_parse(sip, m.data(), m.size()) != 0) std::abort();
    benchmark::DoNotOptimize(sip->call_id);
    osip_message_free(sip);
  }
  label(state, which);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Both parsers in the same loop, alternating batches, so a machine whose load changes during
// the run slows both alike and the ratio stays meaningful. Counters: messages per CPU-second
// for parse() (returns a Result), parse_into() (fills a reused Message) and libosip2, and
// libosip2's time over each of ours.
void BM_side_by_side(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  const std::string& m = message(which);
  constexpr int kBatch = 256;
  parser_init();
  double ours = 0, ours_into = 0, theirs = 0;
  pbxwall::sip::Message parsed;
  for (auto _ : state) {
    const double t0 = thread_cpu_seconds();
    for (int i = 0; i < kBatch; ++i) {
      auto r = pbxwall::sip::parse(m);
      if (!r.ok()) std::abort();
      benchmark::DoNotOptimize(r->call_id.data());
    }
    const double ta = thread_cpu_seconds();
    for (int i = 0; i < kBatch; ++i) {
      if (pbxwall::sip::parse_into(m, parsed)) std::abort();
      benchmark::DoNotOptimize(parsed.call_id.data());
    }
    const double t1 = thread_cpu_seconds();
    for (int i = 0; i < kBatch; ++i) {
      osip_message_t* sip = nullptr;
      osip_message_init(&sip);
      if (osip_message_parse(sip, m.data(), m.size()) != 0) std::abort();
      benchmark::DoNotOptimize(sip->call_id);
      osip_message_free(sip);
    }
    const double t2 = thread_cpu_seconds();
    ours += ta - t0;
    ours_into += t1 - ta;
    theirs += t2 - t1;
  }
  const double n = static_cast<double>(state.iterations()) * kBatch;
  state.counters["parse_per_s"] = n / ours;
  state.counters["parse_into_per_s"] = n / ours_into;
  state.counters["libosip2_per_s"] = n / theirs;
  state.counters["ratio_parse"] = theirs / ours;
  state.counters["ratio_parse_into"] = theirs / ours_into;
  static const char* names[] = {"REGISTER", "REGISTER+auth", "INVITE+SDP", "401", "200"};
  state.SetLabel(names[which]);
}

void BM_pbxwall_stream_framer(benchmark::State& state) {
  // Ten REGISTERs per TCP segment.
  std::string segment;
  for (int i = 0; i < 10; ++i) segment += message(0);
  pbxwall::sip::StreamFramer framer;
  std::int64_t messages = 0;
  for (auto _ : state) {
    framer.feed(segment);
    while (auto m = framer.next()) {
      if (!m->ok()) std::abort();
      ++messages;
    }
  }
  state.SetItemsProcessed(messages);
  state.SetLabel("REGISTER x10 per segment");
}

void BM_pbxwall_iax(benchmark::State& state) {
  const std::string frame = load("iax/new.bin");
  for (auto _ : state) {
    auto r = pbxwall::iax::parse(frame);
    if (!r.ok()) std::abort();
    benchmark::DoNotOptimize(r->ies.username.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel("NEW with 8 IEs");
}

}  // namespace

BENCHMARK(BM_pbxwall_sip)->DenseRange(0, 4);
BENCHMARK(BM_pbxwall_sip_into)->DenseRange(0, 4);
BENCHMARK(BM_libosip2)->DenseRange(0, 4);
BENCHMARK(BM_side_by_side)->DenseRange(0, 4);
BENCHMARK(BM_pbxwall_stream_framer);
BENCHMARK(BM_pbxwall_iax);
BENCHMARK_MAIN();
