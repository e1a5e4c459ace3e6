// A Firewall with every edge replaced by a recording fake: a dry-run applier (the scripts it
// was given), a recording set updater (commits and resulting contents), a recording conntrack
// flusher, an SQLite store in a directory of the test's own and a simulated clock. Used by the
// daemon's unit tests (tests/unit/daemon, tests/unit/dns).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "capture/synth.h"
#include "daemon/firewall.h"
#include "packets/recording_set_updater.h"

namespace pbxwall::daemon::test {

// The PBX's address in the synthetic packets.
inline const IpAddress kFixturePbx = *IpAddress::parse("203.0.113.1");

// Phone 300 at 198.51.100.10 registering with the PBX: REGISTER number `cseq`, with digest
// credentials or without, and the PBX's answer to it (401 with a challenge, or 200).
inline std::string phone_register(int cseq, bool credentials) {
  std::string m = "REGISTER sip:203.0.113.1 SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport\r\n"
                  "Max-Forwards: 70\r\n"
                  "From: <sip:300@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:300@203.0.113.1>\r\n"
                  "Call-ID: phone-a-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
                  "Contact: <sip:300@198.51.100.10:5060>;expires=60\r\n"
                  "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n";
  if (credentials)
    m += "Authorization: Digest username=\"300\", realm=\"pbx\", nonce=\"abc\", uri=\"sip:203.0.113.1\", "
         "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

inline std::string pbx_answer(int cseq, int status) {
  std::string m = "SIP/2.0 " + std::to_string(status) + (status == 200 ? " OK" : " Unauthorized") + "\r\n"
                  "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport=5060\r\n"
                  "From: <sip:300@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:300@203.0.113.1>;tag=pbx1\r\n"
                  "Call-ID: phone-a-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  if (status == 401) m += "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", qop=\"auth\"\r\n";
  if (status == 200) m += "Contact: <sip:300@198.51.100.10:5060>;expires=60\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

class FirewallFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pbxwall-daemon-test-" + std::to_string(::getpid()) + "-" +
                                                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    config_ = (dir_ / "pbxwall.toml").string();
    write_config("");
    auto s = store::StateStore::open((dir_ / "state.db").string());
    ASSERT_TRUE(s.ok()) << s.error();
    store_ = std::move(*s);
  }
  void TearDown() override {
    firewall_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void write_config(const std::string& text) { std::ofstream(config_) << text; }
  // A Firewall over the fakes, not started.
  Firewall& make() {
    FirewallOptions options;
    options.config_path = config_;
    options.pending_change_path = (dir_ / "pending-change.json").string();
    options.probe_queue = probe_queue_;
    firewall_ = std::make_unique<Firewall>(Edges{applier_, sets_, conntrack_, *store_, clock_}, options);
    return *firewall_;
  }
  // Writes `config`, makes the Firewall and starts it (a failed start fails the test).
  Firewall& start(const std::string& config) {
    write_config(config);
    auto& fw = make();
    auto s = fw.start();
    EXPECT_TRUE(s.ok()) << s.error();
    return fw;
  }

  // A UDP packet from `remote` to the PBX (nflog group 1) and from the PBX to it (group 2).
  void inbound(const IpAddress& remote, const std::string& payload, std::uint16_t pbx_port = 5060) {
    firewall_->on_packet(1, capture::synth::udp(remote, 5060, kFixturePbx, pbx_port, payload), clock_.now());
  }
  void outbound(const IpAddress& remote, const std::string& payload, std::uint16_t pbx_port = 5060) {
    firewall_->on_packet(2, capture::synth::udp(kFixturePbx, pbx_port, remote, 5060, payload), clock_.now());
  }

  bool in_set(const packets::SetKey& key) const { return sets_.contents().count(key) > 0; }
  bool blocked(const IpAddress& a) const { return in_set(packets::SetKey::blocked(a)); }
  bool validated(const IpAddress& a) const { return in_set(packets::SetKey::validated(a)); }

  std::vector<store::EventRecord> events() {
    auto e = store_->events_after(0, 1000);
    return e.ok() ? *e : std::vector<store::EventRecord>{};
  }
  std::size_t events_of_kind(const std::string& kind, const std::string& addr) {
    std::size_t n = 0;
    for (const auto& e : events()) n += e.kind == kind && e.address == addr;
    return n;
  }
  std::int64_t clock_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  }

  std::filesystem::path dir_;
  std::string config_;
  kernel::DryRunApplier applier_;
  packets::RecordingSetUpdater sets_;
  packets::RecordingConntrackFlusher conntrack_;
  SimulatedClock clock_;
  std::function<packets::ProbeAnswer(std::uint16_t)> probe_queue_;  // unset: no nftables queue
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<Firewall> firewall_;
};

}  // namespace pbxwall::daemon::test
