// Replays over synthetic captures: scans, phones, SIP over TCP, IAX2, PBX detection, output.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <nlohmann/json.hpp>

#include "capture/replay.h"
#include "capture/replay_format.h"
#include "capture/synth.h"
#include "sip_traffic.h"
#include "temp_dir.h"

namespace pbxwall::capture {
namespace {

using responsive::Action;
using responsive::Decision;
using responsive::Rule;
using synth::Bytes;
using traffic::Request;

const IpAddress kPbx = *IpAddress::parse("203.0.113.1");
const IpAddress kPhone = *IpAddress::parse("198.51.100.10");
const IpAddress kPhoneB = *IpAddress::parse("198.51.100.11");
const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const TimePoint kT0 = from_epoch_seconds(1'790'000'000);

// Frames with their times, fed to a Replay or written to a pcap file.
struct Capture {
  std::vector<std::pair<TimePoint, Bytes>> frames;  // raw IP
  void udp(TimePoint t, const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
           const std::string& payload) {
    frames.emplace_back(t, synth::udp(src, sport, dst, dport, payload));
  }
  void tcp(TimePoint t, const IpAddress& src, std::uint16_t sport, const IpAddress& dst, std::uint16_t dport,
           std::uint32_t seq, std::uint8_t flags, const std::string& payload) {
    frames.emplace_back(t, synth::tcp(src, sport, dst, dport, seq, flags, payload));
  }
  std::string write(const TempDir& dir) const {
    const auto path = dir.file("replay.pcap");
    auto w = synth::PcapWriter::create(path, DLT_RAW);
    EXPECT_TRUE(w.ok());
    for (const auto& [t, f] : frames) w->write(t, f);
    return path;
  }
};

struct Outcome {
  std::vector<std::pair<Decision, TimePoint>> decisions;
  ReplayReport report;
  const SourceSummary* source(const IpAddress& a) const {
    for (const auto& s : report.sources)
      if (s.addr == a) return &s;
    return nullptr;
  }
  std::vector<Decision> for_addr(const IpAddress& a, Action action) const {
    std::vector<Decision> out;
    for (const auto& [d, t] : decisions)
      if (d.addr == a && d.action == action) out.push_back(d);
    return out;
  }
};

Outcome replay(const Capture& c, std::vector<IpAddress> pbx = {kPbx}, ReplayOptions options = {}) {
  Outcome o;
  Replay r(std::move(pbx), options, [&](const Decision& d, TimePoint t) { o.decisions.emplace_back(d, t); });
  for (const auto& [t, f] : c.frames) r.frame(static_cast<std::uint32_t>(LinkType::raw), t, f);
  o.report = r.finish();
  return o;
}

// svwar-like: REGISTER to extensions 100.. with 404 answers, `per_second` requests a second.
// With `probe`, the first request is for it, as svwar's random-extension check is.
Capture scan(int extensions, const std::string& user_agent, int per_second = 100, const std::string& probe = {}) {
  Capture c;
  const int first = probe.empty() ? 0 : -1;
  for (int i = first; i < extensions; ++i) {
    const TimePoint t = kT0 + Duration((i - first) * 1'000'000 / per_second);
    Request r;
    r.user = i < 0 ? probe : std::to_string(100 + i);
    r.from_host = "192.0.2.66";
    r.via_host = "127.0.0.1";
    r.user_agent = user_agent;
    r.call_id = "scan-" + std::to_string(i);
    r.branch = "z9hG4bK-scan-" + std::to_string(i);
    c.udp(t, kScanner, 5061, kPbx, 5060, traffic::request_text(r));
    c.udp(t + std::chrono::milliseconds(1), kPbx, 5060, kScanner, 5061, traffic::response_text(r, 404, "Not Found"));
  }
  return c;
}

// A phone registering: REGISTER, 401 challenge, REGISTER with credentials, 200 with expires.
void phone_registers(Capture& c, TimePoint t, const IpAddress& phone, const std::string& user, int n,
                     bool right_password) {
  Request r;
  r.user = user;
  r.from_host = r.via_host = phone.str();
  r.call_id = "reg-" + user + "-" + std::to_string(n);
  r.cseq = 1;
  r.branch = "z9hG4bK-" + user + "-" + std::to_string(n) + "-1";
  c.udp(t, phone, 5060, kPbx, 5060, traffic::request_text(r));
  c.udp(t + std::chrono::milliseconds(2), kPbx, 5060, phone, 5060, traffic::challenge(r));
  r.cseq = 2;
  r.branch = "z9hG4bK-" + user + "-" + std::to_string(n) + "-2";
  r.authorization = traffic::digest(user, "203.0.113.1");
  c.udp(t + std::chrono::milliseconds(10), phone, 5060, kPbx, 5060, traffic::request_text(r));
  c.udp(t + std::chrono::milliseconds(12), kPbx, 5060, phone, 5060,
        right_password ? traffic::registered(r, 3600) : traffic::challenge(r));
}

TEST(Replay, FriendlyScannerIsBlockedAtItsFirstRequest) {
  auto o = replay(scan(200, "friendly-scanner"));
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].rule, Rule::fingerprint);
  EXPECT_NE(blocks[0].reason.find("friendly-scanner"), std::string::npos) << blocks[0].reason;
  EXPECT_EQ(o.decisions[0].second, kT0);  // taken at the first packet's time
  const auto* s = o.source(kScanner);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->requests, 200u);
  EXPECT_EQ(s->answers, 200u);
  EXPECT_EQ(s->requests_before_block, 1u);
  EXPECT_EQ(s->answered_before_block, 0u);
  EXPECT_EQ(s->blocks, 1u);
  EXPECT_EQ(s->state, FinalState::blocked);
  EXPECT_EQ(o.report.stats.sip_messages, 400u);
  EXPECT_EQ(o.report.stats.decode_errors, 0u);
}

TEST(Replay, ScannerWithAnOrdinaryUserAgentIsBlockedForEnumeration) {
  ReplayOptions options;
  options.settings.fingerprint_loopback_via = false;  // only behaviour can tell
  auto o = replay(scan(200, "Zoiper rv2.10"), {kPbx}, options);
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].rule, Rule::user_enumeration);
  const auto* s = o.source(kScanner);
  ASSERT_NE(s, nullptr);
  // The enumeration threshold counts usernames answered 404: the block follows the answer to
  // the threshold-th request, before the next request.
  EXPECT_EQ(s->requests_before_block, options.settings.enumeration.count);
  EXPECT_EQ(s->answered_before_block, options.settings.enumeration.count);
  EXPECT_EQ(s->requests, 200u);
  EXPECT_EQ(s->state, FinalState::blocked);
}

TEST(Replay, SvwarsRandomFirstExtensionIsNotTheUserOfItsFingerprintBlock) {
  auto o = replay(scan(20, "friendly-scanner", 100, "3514970746"));
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].rule, Rule::fingerprint);
  EXPECT_EQ(blocks[0].user, "");
  EXPECT_NE(blocks[0].reason.find("its first request was for 3514970746 (svwar's random check"), std::string::npos)
      << blocks[0].reason;
  // A scan starting at a real extension keeps it as the block's user.
  auto plain = replay(scan(20, "friendly-scanner"));
  ASSERT_EQ(plain.for_addr(kScanner, Action::block).size(), 1u);
  EXPECT_EQ(plain.for_addr(kScanner, Action::block)[0].user, "100");
}

TEST(Replay, SvwarsRandomFirstExtensionIsNamedAsSuchInAnEnumerationBlock) {
  ReplayOptions options;
  options.settings.fingerprints.clear();
  options.settings.fingerprint_loopback_via = false;
  auto o = replay(scan(20, "Zoiper rv2.10", 100, "1834140718"), {kPbx}, options);
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].rule, Rule::user_enumeration);
  EXPECT_NE(blocks[0].reason.find(": 1834140718 (svwar's random check, not an extension it targets), 100, 101"), std::string::npos)
      << blocks[0].reason;
}

TEST(Replay, SvwarsRandomCheckAfterASvmapProbeIsNamedAsSuch) {
  ReplayOptions options;
  options.settings.fingerprints.clear();
  options.settings.fingerprint_loopback_via = false;
  // svmap's OPTIONS for 100 five seconds before svwar starts, from the same address.
  Capture c;
  Request svmap;
  svmap.method = "OPTIONS";
  svmap.user = "100";
  svmap.from_host = "192.0.2.66";
  svmap.via_host = "127.0.0.1";
  svmap.user_agent = "Zoiper rv2.10";
  svmap.call_id = "svmap-1";
  c.udp(kT0 - std::chrono::seconds(5), kScanner, 5061, kPbx, 5060, traffic::request_text(svmap));
  c.udp(kT0 - std::chrono::seconds(5) + std::chrono::milliseconds(1), kPbx, 5060, kScanner, 5061,
        traffic::response_text(svmap, 200, "OK"));
  for (auto& f : scan(20, "Zoiper rv2.10", 100, "3363626577").frames) c.frames.push_back(std::move(f));
  auto o = replay(c, {kPbx}, options);
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].user, "");
  EXPECT_NE(blocks[0].reason.find("3363626577 (svwar's random check, not an extension it targets)"), std::string::npos)
      << blocks[0].reason;
}

TEST(Replay, ATenDigitNumberLaterInAScanIsNotTakenForSvwarsCheck) {
  ReplayOptions options;
  options.settings.fingerprints.clear();
  options.settings.fingerprint_loopback_via = false;
  // Three requests for 100, then a 10-digit number as the second name, then 101, 102.
  Capture c;
  int n = 0;
  for (const char* user : {"100", "100", "100", "3363626577", "101", "102"}) {
    Request r;
    r.user = user;
    r.from_host = "192.0.2.66";
    r.via_host = "127.0.0.1";
    r.user_agent = "Zoiper rv2.10";
    r.call_id = "late-" + std::to_string(n);
    r.branch = "z9hG4bK-late-" + std::to_string(n);
    const TimePoint t = kT0 + std::chrono::milliseconds(10 * n++);
    c.udp(t, kScanner, 5061, kPbx, 5060, traffic::request_text(r));
    c.udp(t + std::chrono::milliseconds(1), kPbx, 5060, kScanner, 5061, traffic::response_text(r, 404, "Not Found"));
  }
  auto o = replay(c, {kPbx}, options);
  const auto blocks = o.for_addr(kScanner, Action::block);
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_NE(blocks[0].reason.find(": 100, 3363626577, 101"), std::string::npos) << blocks[0].reason;
  EXPECT_EQ(blocks[0].reason.find("svwar's random check"), std::string::npos) << blocks[0].reason;
}

TEST(Replay, PhoneWithTheRightPasswordIsValidatedAndNeverBlocked) {
  Capture c;
  for (int n = 0; n < 5; ++n) phone_registers(c, kT0 + std::chrono::seconds(60 * n), kPhone, "300", n, true);
  auto o = replay(c);
  EXPECT_TRUE(o.for_addr(kPhone, Action::block).empty());
  const auto validations = o.for_addr(kPhone, Action::validate);
  ASSERT_FALSE(validations.empty());
  EXPECT_EQ(validations[0].user, "300");
  const auto* s = o.source(kPhone);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->requests, 10u);
  EXPECT_EQ(s->answers, 10u);
  EXPECT_EQ(s->state, FinalState::validated);
  EXPECT_EQ(s->user, "300");
  EXPECT_EQ(s->blocks, 0u);
}

TEST(Replay, PhoneRetryingAWrongPasswordEveryTwentySecondsIsFlaggedNotBlocked) {
  Capture c;
  for (int n = 0; n < 30; ++n) phone_registers(c, kT0 + std::chrono::seconds(20 * n), kPhoneB, "301", n, false);
  auto o = replay(c);
  EXPECT_TRUE(o.for_addr(kPhoneB, Action::block).empty());
  const auto flags = o.for_addr(kPhoneB, Action::flag);
  ASSERT_FALSE(flags.empty());
  EXPECT_EQ(flags[0].user, "301");
  const auto* s = o.source(kPhoneB);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, FinalState::flagged);
}

TEST(Replay, APhoneRetryingNinetyTimesCountsNinetyWrongPasswordsOnItsFlag) {
  Capture c;
  for (int n = 0; n < 90; ++n) phone_registers(c, kT0 + std::chrono::seconds(20 * n), kPhoneB, "301", n, false);
  auto o = replay(c);
  EXPECT_EQ(o.for_addr(kPhoneB, Action::flag).size(), 1u);
  // The later failures count on the flag without a line of their own.
  EXPECT_TRUE(o.for_addr(kPhoneB, Action::failed_again).empty());
  const auto* s = o.source(kPhoneB);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->state, FinalState::flagged);
  EXPECT_EQ(s->flag_failures, 90u);
  EXPECT_NE(summary_text(o.report).find("301 (90 wrong passwords)"), std::string::npos) << summary_text(o.report);
  EXPECT_NE(summary_json(o.report).find("\"flag_failures\":90"), std::string::npos) << summary_json(o.report);
}

TEST(Replay, SipOverTcpSplitAndCoalescedSegmentsValidateThePhone) {
  Request r;
  r.transport = "TCP";
  r.user = "302";
  r.from_host = r.via_host = kPhone.str();
  const std::string first = traffic::request_text(r);
  const std::string chal = traffic::challenge(r);
  r.cseq = 2;
  r.branch = "z9hG4bK-tcp-2";
  r.authorization = traffic::digest("302", "203.0.113.1");
  const std::string second = traffic::request_text(r);
  const std::string ok = traffic::registered(r, 600);

  Capture c;
  std::uint32_t cseq = 1000, sseq = 5000;
  TimePoint t = kT0;
  const auto step = [&] { return t += std::chrono::milliseconds(1); };
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq++, 0x02, "");
  c.tcp(step(), kPbx, 5060, kPhone, 40000, sseq++, 0x12, "");
  // The first REGISTER over three segments, the middle one retransmitted.
  const auto a = first.substr(0, 50), b = first.substr(50, 100), rest = first.substr(150);
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq, 0x18, a);
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq + 50, 0x18, b);
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq + 50, 0x18, b);
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq + 150, 0x18, rest);
  cseq += static_cast<std::uint32_t>(first.size());
  c.tcp(step(), kPbx, 5060, kPhone, 40000, sseq, 0x18, chal);
  sseq += static_cast<std::uint32_t>(chal.size());
  c.tcp(step(), kPhone, 40000, kPbx, 5060, cseq, 0x18, second);
  // The 401's retransmission and the 200 coalesced: only the 200 is new.
  c.tcp(step(), kPbx, 5060, kPhone, 40000, sseq - static_cast<std::uint32_t>(chal.size()), 0x18, chal + ok);

  auto o = replay(c);
  const auto validations = o.for_addr(kPhone, Action::validate);
  ASSERT_EQ(validations.size(), 1u);
  EXPECT_EQ(validations[0].user, "302");
  EXPECT_EQ(o.report.stats.sip_messages, 4u);
  EXPECT_EQ(o.report.stats.malformed, 0u);
  EXPECT_EQ(o.report.stats.decoder.tcp_retransmissions, 1u);
  const auto* s = o.source(kPhone);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->requests, 2u);
  EXPECT_EQ(s->answers, 2u);
}

TEST(Replay, IaxRegistrationValidates) {
  using traffic::iax_frame;
  using traffic::iax_ie;
  Capture c;
  const std::string user = iax_ie(6, "400");
  c.udp(kT0, kPhone, 4569, kPbx, 4569, iax_frame(1, 0, 0, 0, 13, user + traffic::iax_ie16(19, 60)));
  c.udp(kT0 + std::chrono::milliseconds(1), kPbx, 4569, kPhone, 4569,
        iax_frame(7, 1, 0, 1, 14, user + traffic::iax_ie16(14, 2) + iax_ie(15, "214748364")));
  c.udp(kT0 + std::chrono::milliseconds(2), kPhone, 4569, kPbx, 4569,
        iax_frame(1, 7, 1, 1, 13, user + iax_ie(16, "0123456789abcdef0123456789abcdef") + traffic::iax_ie16(19, 60)));
  c.udp(kT0 + std::chrono::milliseconds(3), kPbx, 4569, kPhone, 4569,
        iax_frame(7, 1, 1, 2, 15, user + traffic::iax_ie16(19, 60)));
  auto o = replay(c);
  const auto validations = o.for_addr(kPhone, Action::validate);
  ASSERT_EQ(validations.size(), 1u);
  EXPECT_EQ(validations[0].user, "400");
  EXPECT_EQ(o.report.stats.iax_frames, 4u);
  const auto* s = o.source(kPhone);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->requests, 2u);
  EXPECT_EQ(s->answers, 2u);
  EXPECT_EQ(s->state, FinalState::validated);
}

TEST(Replay, KeepalivesAndOtherTrafficAreSkipped) {
  Capture c;
  c.udp(kT0, kPhone, 5060, kPbx, 5060, "\r\n\r\n");
  c.udp(kT0, kPhone, 10000, kPbx, 20000, "rtp media");
  c.udp(kT0, kPhone, 5060, kPhoneB, 5060, "OPTIONS sip:x SIP/2.0\r\n\r\n");
  auto o = replay(c);
  EXPECT_EQ(o.report.stats.keepalives, 1u);
  EXPECT_EQ(o.report.stats.not_signalling, 1u);
  EXPECT_EQ(o.report.stats.not_pbx, 1u);
  EXPECT_EQ(o.report.stats.sip_messages, 0u);
  EXPECT_TRUE(o.report.sources.empty());
}

TEST(Replay, GarbageOnTheSipPortIsMalformedNotACrash) {
  Capture c;
  c.udp(kT0, kScanner, 5060, kPbx, 5060, "\x16\x03\x01 not sip at all");
  auto o = replay(c);
  EXPECT_EQ(o.report.stats.malformed, 1u);
  const auto* s = o.source(kScanner);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->malformed, 1u);
  EXPECT_EQ(s->requests, 0u);
}

TEST(PbxFinder, TheRegistrarIsThePbxNotThePhonesItQualifies) {
  Capture c = scan(20, "friendly-scanner");
  phone_registers(c, kT0, kPhone, "300", 0, true);
  // The PBX pings the phone with OPTIONS (qualify) many times.
  for (int i = 0; i < 50; ++i) {
    Request q;
    q.method = "OPTIONS";
    q.call_id = "qualify-" + std::to_string(i);
    c.udp(kT0 + std::chrono::seconds(i), kPbx, 5060, kPhone, 5060, traffic::request_text(q));
  }
  ReplayOptions options;
  PbxFinder finder(options);
  Decoder d;
  for (const auto& [t, f] : c.frames) {
    auto p = d.feed(static_cast<std::uint32_t>(LinkType::raw), t, f);
    ASSERT_TRUE(p.ok());
    if (*p) finder.packet(**p);
  }
  EXPECT_EQ(finder.result(), std::vector<IpAddress>{kPbx});
}

TEST(ReplayFile, WorksOutThePbxAndReplaysAFile) {
  TempDir dir;
  Capture c = scan(30, "friendly-scanner");
  phone_registers(c, kT0 + std::chrono::seconds(1), kPhone, "300", 0, true);
  std::stable_sort(c.frames.begin(), c.frames.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto path = c.write(dir);
  std::vector<std::string> lines;
  auto report = replay_file(path, ReplayOptions{}, [&](const Decision& d, TimePoint t) {
    lines.push_back(decision_json(d, t));
  });
  ASSERT_TRUE(report.ok()) << report.error();
  EXPECT_TRUE(report->pbx_detected);
  EXPECT_EQ(report->pbx, std::vector<IpAddress>{kPbx});
  ASSERT_GE(lines.size(), 2u);  // the scanner's block, the phone's validation
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["action"], "block");
  EXPECT_EQ(first["addr"], "192.0.2.66");
  EXPECT_EQ(first["rule"], "fingerprint");
  EXPECT_DOUBLE_EQ(first["t"].get<double>(), 1'790'000'000.0);
  EXPECT_TRUE(first["until"].is_number());

  const auto summary = nlohmann::json::parse(summary_json(*report));
  const auto& s = summary.at("summary");
  EXPECT_EQ(s["pbx"], nlohmann::json::array({"203.0.113.1"}));
  EXPECT_EQ(s["sources"]["192.0.2.66"]["requests"], 30);
  EXPECT_EQ(s["sources"]["192.0.2.66"]["requests_before_block"], 1);
  EXPECT_EQ(s["sources"]["192.0.2.66"]["state"], "blocked");
  EXPECT_EQ(s["sources"]["198.51.100.10"]["state"], "validated");
  EXPECT_EQ(s["sources"]["198.51.100.10"]["user"], "300");
  EXPECT_EQ(s["sources"]["198.51.100.10"]["blocks"], 0);
  EXPECT_EQ(s["sources"]["198.51.100.10"]["requests_before_block"], 2);  // never blocked: all
}

TEST(ReplayFile, WithoutRequestsThePbxCannotBeWorkedOut) {
  TempDir dir;
  Capture c;
  c.udp(kT0, kPhone, 10000, kPbx, 20000, "media");
  auto report = replay_file(c.write(dir), ReplayOptions{}, nullptr);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.error().find("--pbx"), std::string::npos);
}

TEST(ReplayFormat, DecisionLineForPeople) {
  Decision d;
  d.action = Action::block;
  d.addr = kScanner;
  d.rule = Rule::fingerprint;
  d.reason = "svwar fingerprint: User-Agent friendly-scanner";
  const TimePoint t = TimePoint(Duration(1'795'600'801'234'000));  // 2026-11-25 10:00:01.234
  d.until = t + std::chrono::minutes(15);
  EXPECT_EQ(decision_text(d, t),
            "2026-11-25 10:00:01.234  BLOCK     192.0.2.66       rule=fingerprint  until 10:15:01  "
            "svwar fingerprint: User-Agent friendly-scanner");
  d.until = t + std::chrono::hours(24);
  d.user = "100";
  EXPECT_NE(decision_text(d, t).find("user=100  until 2026-11-26 10:00:01"), std::string::npos);
}

TEST(ReplayFormat, DecisionJsonHasExactlyTheDocumentedFields) {
  Decision d;
  d.action = Action::flag;
  d.addr = kPhoneB;
  d.user = "301";
  d.rule = Rule::misconfigured_device;
  d.reason = "wrong password \"x\"";
  const auto j = nlohmann::json::parse(decision_json(d, kT0 + std::chrono::microseconds(250)));
  EXPECT_EQ(j.size(), 7u);
  EXPECT_DOUBLE_EQ(j["t"].get<double>(), 1'790'000'000.00025);
  EXPECT_EQ(j["action"], "flag");
  EXPECT_EQ(j["addr"], "198.51.100.11");
  EXPECT_EQ(j["user"], "301");
  EXPECT_EQ(j["rule"], responsive::rule_name(Rule::misconfigured_device));
  EXPECT_EQ(j["reason"], "wrong password \"x\"");
  EXPECT_TRUE(j["until"].is_null());
  d.user.clear();
  EXPECT_TRUE(nlohmann::json::parse(decision_json(d, kT0))["user"].is_null());
}

}  // namespace
}  // namespace pbxwall::capture
