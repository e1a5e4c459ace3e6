// Feeds the engine a sequence of synthetic observations decoded from the input, over a small
// address and name space so state builds up (pending requests, buckets, validations, blocks,
// evictions), and checks invariants after every step:
//  - the table never holds more sources than its ceiling;
//  - no block for a never-block address;
//  - every block and validation carries an end in the future, every decision a reason;
//  - a blocked source gets no further decision until its block ends.
//
// Input: records of 4 bytes [op, remote, a, b]; see the switch below for their meaning. Only
// the first kMaxSteps records are used and the thresholds are lowered, so that short inputs
// reach every rule and one run stays well under a millisecond even with sanitizers.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "responsive/responsive.h"

namespace pr = pbxwall::responsive;
using pbxwall::Duration;
using pbxwall::IpAddress;
using pbxwall::TimePoint;

namespace {

constexpr std::size_t kCeiling = 8;
constexpr std::size_t kMaxSteps = 64;
const char* const kUsers[] = {"100", "101", "102", "103", "alice", "0044123456", "+97259", ""};
const char* const kAgents[] = {"Yealink SIP-T46S", "friendly-scanner", "", "Zoiper", "SIPVicious", "pplsip"};
const char* const kCallIds[] = {"c0", "c1", "c2", "c3"};
const int kStatuses[] = {100, 180, 200, 401, 403, 404, 407, 486, 500, 604, 202, 301};

IpAddress remote_of(std::uint8_t b) {
  const unsigned i = b % 16;
  if (i < 12) return IpAddress::v4(0xcb007100u + i);  // 203.0.113.0/28
  std::uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
  v6[15] = static_cast<std::uint8_t>(i);
  return IpAddress::v6_bytes(v6);
}
const IpAddress kTrusted = IpAddress::v4(0xcb007100u + 7);

[[noreturn]] void violated(const char*) { std::abort(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pr::Settings s;
  s.max_sources = kCeiling;
  s.flood = {12, std::chrono::seconds(5)};
  pr::Engine engine(s, [](const IpAddress& a) { return a == kTrusted; });
  TimePoint now(Duration(1'700'000'000'000'000));
  std::vector<pr::Decision> out;

  size = std::min(size, kMaxSteps * 4);
  for (std::size_t i = 0; i + 4 <= size; i += 4) {
    const std::uint8_t op = data[i], rb = data[i + 1], a = data[i + 2], b = data[i + 3];
    const IpAddress remote = remote_of(rb);
    pr::PacketMeta to;
    to.dir = pr::Direction::to_pbx;
    to.src = remote;
    to.dst = IpAddress::v4(0xc0000201u);
    pr::PacketMeta from = to;
    from.dir = pr::Direction::from_pbx;
    std::swap(from.src, from.dst);
    out.clear();
    const auto before = engine.source(remote);
    const bool was_blocked = before && before->state == pr::SourceState::blocked && before->until && *before->until > now;
    switch (op % 10) {
      case 0:
      case 1: {
        pr::SipRequest r;
        r.method = static_cast<pr::SipMethod>(a % 9);
        r.to_user = r.uri_user = kUsers[a / 9 % 8];
        r.has_credentials = r.auth_response_present = (b & 1) != 0;
        if (r.has_credentials) r.auth_user = kUsers[b / 2 % 8];
        r.user_agent = kAgents[b / 16 % 6];
        r.call_id = kCallIds[b / 4 % 4];
        r.cseq = b % 3;
        if (b & 2) r.expires = (b & 8) ? 0u : 60u;
        r.via_host = (b & 0x80) ? "127.0.0.1" : "198.51.100.9";
        engine.observe(pr::Observation{to, r}, now, out);
        break;
      }
      case 2:
      case 3: {
        pr::SipResponse r;
        r.status = kStatuses[a % 12];
        r.call_id = kCallIds[b / 4 % 4];
        r.cseq = b % 3;
        r.cseq_method = static_cast<pr::SipMethod>(a / 12 % 9);
        r.to_user = kUsers[b / 16 % 8];
        if (b & 2) r.expires = (b & 1) ? 0u : 120u;
        engine.observe(pr::Observation{(op & 0x10) ? to : from, r}, now, out);
        break;
      }
      case 4: {
        pr::IaxFrame f;
        f.command = static_cast<pr::IaxCommand>(a % 14);
        f.source_call = static_cast<std::uint16_t>(b % 4);
        f.dest_call = static_cast<std::uint16_t>(b / 4 % 4);
        f.username = kUsers[a / 14 % 8];
        f.called_number = kUsers[b / 16 % 8];
        f.has_md5_result = (b & 0x40) != 0;
        if (b & 0x80) f.refresh = 60;
        if (a & 0x80) f.cause_code = static_cast<std::uint8_t>(b % 40);
        f.retransmitted = (op & 0x20) != 0;
        engine.observe(pr::Observation{(op & 0x10) ? from : to, f}, now, out);
        break;
      }
      case 5:
        engine.observe(pr::Observation{(op & 0x10) ? from : to, pr::Malformed{pr::Protocol::sip, "fuzz"}}, now, out);
        break;
      case 6: {
        pr::SecurityEvent e{static_cast<pr::SecurityEventKind>(a % 3), kUsers[b % 8]};
        engine.observe(pr::Observation{to, e}, now, out);
        break;
      }
      case 7:  // time passes: up to ~18 h in uneven steps
        now += Duration(static_cast<std::int64_t>(a) * static_cast<std::int64_t>(b + 1) * 1'000'000);
        engine.expire(now, out);
        break;
      case 8:
        out = engine.block(remote, now, (a & 1) ? std::optional<Duration>(Duration(std::int64_t{b} * 60'000'000)) : std::nullopt, "fuzz");
        break;
      case 9:
        if (auto d = engine.unblock(remote, now)) out.push_back(*d);
        break;
    }

    if (engine.counters().table_size > kCeiling) violated("table above its ceiling");
    const bool operator_step = op % 10 >= 8;
    for (const auto& d : out) {
      if (d.reason.empty()) violated("decision without a reason");
      if (d.addr == remote && was_blocked && !operator_step) violated("decision for a source while it is blocked");
      if (d.action == pr::Action::block) {
        if (d.addr == kTrusted) violated("blocked a never-block address");
        if (!d.until || *d.until < now) violated("block without a future end");
      } else if (d.action == pr::Action::validate) {
        if (!d.until || *d.until < now) violated("validation without a future end");
      }
    }
  }
  // The snapshot agrees with the table: nothing listed twice.
  auto snap = engine.snapshot();
  std::map<IpAddress, int> seen;
  for (const auto& v : snap)
    if (++seen[v.addr] > 1) violated("source listed twice");
  return 0;
}
