// Builders for observations and a small simulated PBX conversation, so rule tests read as
// what happens on the wire: "REGISTER without credentials, 401, REGISTER with, 403".
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "responsive/responsive.h"

namespace pbxwall::responsive::testing {

using namespace std::chrono_literals;

inline const IpAddress kPbx = *IpAddress::parse("192.0.2.10");
inline IpAddress addr(const char* s) { return *IpAddress::parse(s); }

inline PacketMeta to_pbx(const IpAddress& remote) {
  PacketMeta m;
  m.dir = Direction::to_pbx;
  m.src = remote;
  m.dst = kPbx;
  m.sport = 5060;
  m.dport = 5060;
  return m;
}
inline PacketMeta from_pbx(const IpAddress& remote) {
  PacketMeta m;
  m.dir = Direction::from_pbx;
  m.src = kPbx;
  m.dst = remote;
  m.sport = 5060;
  m.dport = 5060;
  return m;
}

// Storage for the strings observations point into: observations hold views.
struct Strings {
  std::vector<std::unique_ptr<std::string>> held;
  std::string_view keep(std::string s) {
    held.push_back(std::make_unique<std::string>(std::move(s)));
    return *held.back();
  }
};

struct Request {
  SipMethod method = SipMethod::register_;
  std::string user = "100";        // To user for REGISTER, request-URI user otherwise
  bool credentials = false;
  std::string call_id = "call-1";
  std::uint32_t cseq = 1;
  std::string user_agent = "Yealink SIP-T46S 66.86.0.15";
  std::string from_display;
  std::string via_host = "198.51.100.7";
  std::optional<std::uint32_t> expires;
  std::uint16_t port = 5060;  // the remote's port
};

// Drives an engine with a simulated clock and collects every decision.
class EngineFixture : public ::testing::Test {
 protected:
  explicit EngineFixture(Settings s = {}) : engine_(std::make_unique<Engine>(std::move(s))) {}

  void reset(Settings s = {}, Engine::NeverBlock nb = nullptr, Engine::AllowFrom af = nullptr,
             Engine::KnownUser ku = nullptr) {
    engine_ = std::make_unique<Engine>(std::move(s), std::move(nb), std::move(af), std::move(ku));
  }
  Engine& engine() { return *engine_; }

  TimePoint now() const { return now_; }
  void advance(Duration d) { now_ += d; }

  std::vector<Decision> feed(const Observation& o) {
    auto d = engine_->observe(o, now_);
    all_.insert(all_.end(), d.begin(), d.end());
    return d;
  }

  std::vector<Decision> request(const IpAddress& from, const Request& r) {
    SipRequest q;
    q.method = r.method;
    if (r.method == SipMethod::register_) {
      q.to_user = strings_.keep(r.user);
      q.uri_user = {};
    } else {
      q.uri_user = strings_.keep(r.user);
      q.to_user = q.uri_user;
    }
    q.from_user = q.to_user;
    q.from_display = strings_.keep(r.from_display);
    q.has_credentials = r.credentials;
    q.auth_response_present = r.credentials;
    q.auth_user = r.credentials ? (r.method == SipMethod::register_ ? q.to_user : strings_.keep("caller")) : std::string_view{};
    q.user_agent = strings_.keep(r.user_agent);
    q.call_id = strings_.keep(r.call_id);
    q.cseq = r.cseq;
    q.expires = r.expires;
    q.via_host = strings_.keep(r.via_host);
    PacketMeta m = to_pbx(from);
    m.sport = r.port;
    return feed(Observation{m, q});
  }

  std::vector<Decision> response(const IpAddress& to, const Request& r, int status,
                                 std::optional<std::uint32_t> expires = std::nullopt) {
    SipResponse s;
    s.status = status;
    s.call_id = strings_.keep(r.call_id);
    s.cseq = r.cseq;
    s.cseq_method = r.method;
    s.has_challenge = status == 401 || status == 407;
    s.to_user = strings_.keep(r.method == SipMethod::register_ ? r.user : r.user);
    s.expires = expires;
    PacketMeta m = from_pbx(to);
    m.dport = r.port;
    return feed(Observation{m, s});
  }

  // A phone's registration: REGISTER without credentials → 401 → REGISTER with credentials
  // → `final_status` (200 with `expires`, or 401/403 for a wrong password).
  // A new Call-ID each time unless `call_id` is given (a device retrying its registration).
  std::vector<Decision> register_cycle(const IpAddress& phone, const std::string& user, int final_status,
                                       std::uint32_t expires = 3600, std::uint16_t port = 5060,
                                       const std::string& call_id = {}) {
    std::vector<Decision> out;
    Request r;
    r.user = user;
    r.port = port;
    r.call_id = call_id.empty() ? "reg-" + user + "-" + std::to_string(++cycle_) : call_id;
    r.cseq = 1;
    r.expires = expires;
    append(out, request(phone, r));
    append(out, response(phone, r, 401));
    r.cseq = 2;
    r.credentials = true;
    append(out, request(phone, r));
    append(out, response(phone, r, final_status, final_status == 200 ? std::optional<std::uint32_t>(expires) : std::nullopt));
    return out;
  }

  // One probe of a scanner: REGISTER for `user` without credentials answered `status`.
  std::vector<Decision> probe(const IpAddress& from, const std::string& user, int status,
                              const std::string& ua = "PolyScan 1.0") {
    Request r;
    r.user = user;
    r.user_agent = ua;
    r.call_id = "probe-" + std::to_string(++cycle_);
    std::vector<Decision> out;
    append(out, request(from, r));
    append(out, response(from, r, status));
    return out;
  }

  static void append(std::vector<Decision>& a, const std::vector<Decision>& b) { a.insert(a.end(), b.begin(), b.end()); }

  static int count(const std::vector<Decision>& ds, Action a) {
    int n = 0;
    for (const auto& d : ds) n += d.action == a;
    return n;
  }
  static const Decision* find(const std::vector<Decision>& ds, Action a) {
    for (const auto& d : ds)
      if (d.action == a) return &d;
    return nullptr;
  }

  const std::vector<Decision>& all() const { return all_; }

  std::unique_ptr<Engine> engine_;
  Strings strings_;
  TimePoint now_ = TimePoint(Duration(1'700'000'000'000'000));
  std::vector<Decision> all_;
  int cycle_ = 0;
};

}  // namespace pbxwall::responsive::testing
