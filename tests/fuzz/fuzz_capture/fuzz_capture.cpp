// Fuzzes the frame decoder (link layers, IP fragments, TCP reassembly) and the replay runner
// behind it (SIP framing over TCP, SIP/IAX2 parsing, the engine) with sequences of frames.
//
// Input: byte 0 picks the link type; then frames, each a 2-byte big-endian length and that many
// bytes (a final short frame takes what is left). Each frame is 1 ms after the previous one,
// with a jump of a minute every 16 frames so fragment and stream timeouts fire. The decoder
// runs with small limits so eviction paths are reached.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <algorithm>
#include <chrono>
#include <span>
#include <vector>

#include "capture/capture.h"
#include "capture/replay.h"

namespace {

using namespace pbxwall;
using namespace pbxwall::capture;

constexpr std::uint32_t kLinkTypes[] = {1, 12, 14, 101, 113, 228, 229, 239, 276, 0, 147 /* unsupported */};

DecoderLimits small_limits() {
  DecoderLimits l;
  l.max_fragmented_datagrams = 4;
  l.max_fragment_bytes = 8192;
  l.max_tcp_streams = 4;
  l.max_tcp_out_of_order_segments = 4;
  l.max_tcp_out_of_order_bytes = 4096;
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint32_t linktype = kLinkTypes[data[0] % std::size(kLinkTypes)];
  const DecoderLimits limits = small_limits();
  Decoder decoder(limits);

  ReplayOptions options;
  options.limits = limits;
  options.max_tcp_framers = 2;
  options.settings.max_sources = 8;
  Replay replay({*IpAddress::parse("203.0.113.1"), *IpAddress::parse("2001:db8:1::1")}, options, nullptr);

  std::span<const std::uint8_t> rest(data + 1, size - 1);
  TimePoint t = from_epoch_seconds(1'790'000'000);
  for (int i = 0; !rest.empty(); ++i) {
    std::size_t n = rest.size();
    if (rest.size() >= 2) {
      n = std::min<std::size_t>(static_cast<std::size_t>(rest[0] << 8 | rest[1]), rest.size() - 2);
      rest = rest.subspan(2);
    }
    // A copy of exactly the frame, so reads past its end are caught.
    std::vector<std::uint8_t> frame(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
    rest = rest.subspan(n);
    t += (i % 16 == 15) ? Duration(std::chrono::minutes(1)) : Duration(std::chrono::milliseconds(1));

    auto r = decoder.feed(linktype, t, frame);
    if (r.ok() && *r) {
      const Packet& p = **r;
      volatile std::uint8_t sink = 0;
      for (auto b : p.payload) sink = static_cast<std::uint8_t>(sink ^ b);  // payload must be readable
      if (p.payload.size() > 65535 + 1024 * 1024) std::abort();
    }
    if (decoder.fragments_in_flight() > limits.max_fragmented_datagrams) std::abort();
    if (decoder.tcp_streams() > limits.max_tcp_streams) std::abort();
    replay.frame(linktype, t, frame);
  }
  const auto report = replay.finish();
  if (report.engine.table_size > options.settings.max_sources) std::abort();
  return 0;
}
