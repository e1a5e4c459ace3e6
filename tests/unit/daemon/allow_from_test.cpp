// [users."EXT"] allow_from in the daemon: a registration from outside the extension's
// networks (seen in packets, or reported by the PBX) puts its source into the blocked set with
// rule outside-allow-from, without a validation or grants; a reload that narrows the list
// takes the same step for validations already held.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const IpAddress kOffice = *IpAddress::parse("198.51.100.10");
const IpAddress kElsewhere = *IpAddress::parse("192.0.2.50");
const IpAddress kElsewhere6 = *IpAddress::parse("2001:db8:9::50");
const IpAddress kPbx6 = *IpAddress::parse("2001:db8::1");

const std::string kConfig =
    "[users.\"300\"]\n"
    "services = [\"ucp\"]\n"
    "allow_from = [\"198.51.100.0/24\", \"2001:db8:1::/48\"]\n";

std::string register_request(const IpAddress& phone, const std::string& user, int cseq, bool credentials) {
  const std::string host = phone.is_v4() ? phone.str() : "[" + phone.str() + "]";
  std::string m = "REGISTER sip:203.0.113.1 SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP " + host + ":5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport\r\n"
                  "Max-Forwards: 70\r\n"
                  "From: <sip:" + user + "@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:" + user + "@203.0.113.1>\r\n"
                  "Call-ID: reg-" + user + "\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
                  "Contact: <sip:" + user + "@" + host + ":5060>;expires=60\r\n"
                  "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n";
  if (credentials)
    m += "Authorization: Digest username=\"" + user + "\", realm=\"pbx\", nonce=\"abc\", uri=\"sip:203.0.113.1\", "
         "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

std::string register_answer(const IpAddress& phone, const std::string& user, int cseq, int status) {
  const std::string host = phone.is_v4() ? phone.str() : "[" + phone.str() + "]";
  std::string m = "SIP/2.0 " + std::to_string(status) + (status == 200 ? " OK" : " Unauthorized") + "\r\n"
                  "Via: SIP/2.0/UDP " + host + ":5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport=5060\r\n"
                  "From: <sip:" + user + "@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:" + user + "@203.0.113.1>;tag=pbx1\r\n"
                  "Call-ID: reg-" + user + "\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  if (status == 401) m += "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", qop=\"auth\"\r\n";
  if (status == 200) m += "Contact: <sip:" + user + "@" + host + ":5060>;expires=60\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

packets::SetKey ucp_grant(const IpAddress& a) { return packets::SetKey::grant(a, IPPROTO_TCP, 81); }

class AllowFromTest : public test::FirewallFixture {
 protected:
  // REGISTER → 401 → REGISTER with credentials → 200, then the end of the loop tick.
  void register_phone(const IpAddress& phone, const std::string& user) {
    to_pbx(phone, register_request(phone, user, 1, false));
    from_pbx(phone, register_answer(phone, user, 1, 401));
    to_pbx(phone, register_request(phone, user, 2, true));
    from_pbx(phone, register_answer(phone, user, 2, 200));
    firewall_->flush();
  }
  // Packets of the PBX's own family (the fixture's PBX address is IPv4).
  void to_pbx(const IpAddress& phone, const std::string& sip) {
    if (phone.is_v4()) return inbound(phone, sip);
    firewall_->on_packet(1, capture::synth::udp(phone, 5060, kPbx6, 5060, sip), clock_.now());
  }
  void from_pbx(const IpAddress& phone, const std::string& sip) {
    if (phone.is_v4()) return outbound(phone, sip);
    firewall_->on_packet(2, capture::synth::udp(kPbx6, 5060, phone, 5060, sip), clock_.now());
  }
  std::vector<store::BlockRecord> blocks() {
    auto b = store_->active_blocks(clock_.now());
    return b.ok() ? *b : std::vector<store::BlockRecord>{};
  }
  std::uint64_t decisions_by_rule(const std::string& rule) {
    return firewall_->handle({{"cmd", "status"}})["decisions"][rule].get<std::uint64_t>();
  }
};

TEST_F(AllowFromTest, RegistrationFromInsideIsValidatedWithItsGrants) {
  auto& fw = start(kConfig);
  register_phone(kOffice, "300");
  EXPECT_TRUE(validated(kOffice));
  EXPECT_TRUE(in_set(ucp_grant(kOffice)));
  EXPECT_FALSE(blocked(kOffice));
  EXPECT_EQ(fw.grants().holders(), 1u);
  EXPECT_EQ(decisions_by_rule("outside-allow-from"), 0u);
}

TEST_F(AllowFromTest, RegistrationFromOutsideIsBlockedWithoutValidationOrGrants) {
  auto& fw = start(kConfig);
  register_phone(kElsewhere, "300");
  const std::string reason =
      "extension 300 registered from 192.0.2.50, outside its allow_from 198.51.100.0/24, 2001:db8:1::/48";

  // Kernel: in the blocked set with the reason as comment, a 15-minute timeout (first step of
  // the ladder); not validated, no grants; its conntrack entries flushed.
  ASSERT_TRUE(blocked(kElsewhere));
  const auto& element = sets_.contents().at(packets::SetKey::blocked(kElsewhere));
  EXPECT_EQ(element.comment, reason);
  EXPECT_EQ(element.timeout, Duration(15min));
  EXPECT_FALSE(validated(kElsewhere));
  EXPECT_FALSE(in_set(ucp_grant(kElsewhere)));
  EXPECT_EQ(fw.grants().holders(), 0u);
  ASSERT_FALSE(conntrack_.calls.empty());
  EXPECT_EQ(conntrack_.calls.back(), std::vector<IpAddress>{kElsewhere});

  // Database: the block under its rule (parsed back after a restart), the event, no validation.
  const auto b = blocks();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].address, "192.0.2.50");
  EXPECT_EQ(b[0].rule, "outside-allow-from");
  EXPECT_EQ(b[0].reason, reason);
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
  EXPECT_EQ(events_of_kind("block", "192.0.2.50"), 1u);
  EXPECT_EQ(events_of_kind("validate", "192.0.2.50"), 0u);
  EXPECT_EQ(events().back().rule, "outside-allow-from");
  EXPECT_EQ(events().back().user, "300");

  // Counted by rule in status (and so in /metrics).
  EXPECT_EQ(decisions_by_rule("outside-allow-from"), 1u);
  EXPECT_EQ(decisions_by_rule("registration"), 0u);
}

TEST_F(AllowFromTest, IPv6RegistrationFromOutsideIsBlocked) {
  start(kConfig);
  const IpAddress inside = *IpAddress::parse("2001:db8:1::20");
  register_phone(inside, "300");
  EXPECT_TRUE(validated(inside));
  register_phone(kElsewhere6, "300");
  EXPECT_TRUE(blocked(kElsewhere6));
  EXPECT_FALSE(validated(kElsewhere6));
}

TEST_F(AllowFromTest, OtherExtensionsRegisterFromAnywhere) {
  start(kConfig);
  register_phone(kElsewhere, "301");
  EXPECT_TRUE(validated(kElsewhere));
  EXPECT_FALSE(blocked(kElsewhere));
}

TEST_F(AllowFromTest, TheDefaultListAppliesToExtensionsWithoutTheirOwn) {
  start("[users.default]\nallow_from = [\"198.51.100.0/24\"]\n"
        "[users.\"302\"]\nallow_from = []\n");
  register_phone(kElsewhere, "301");
  EXPECT_TRUE(blocked(kElsewhere));
  EXPECT_EQ(blocks().at(0).reason, "extension 301 registered from 192.0.2.50, outside its allow_from 198.51.100.0/24");
  const IpAddress other = *IpAddress::parse("203.0.113.77");
  register_phone(other, "302");  // its own empty list: anywhere
  EXPECT_TRUE(validated(other));
}

TEST_F(AllowFromTest, RegistrationReportedByThePbxFromOutsideIsBlocked) {
  auto& fw = start(kConfig);
  EXPECT_FALSE(fw.on_pbx_registration(kElsewhere, "300", clock_.now() + 1h, "registered as 300 (PBX: contact)"));
  // In the kernel at once: the AMI bridge flushes only after validations it counted.
  EXPECT_TRUE(blocked(kElsewhere));
  EXPECT_FALSE(validated(kElsewhere));
  EXPECT_EQ(fw.grants().holders(), 0u);
  EXPECT_TRUE(fw.pbx_registrations_of("300").empty());
  ASSERT_EQ(blocks().size(), 1u);
  EXPECT_EQ(blocks()[0].rule, "outside-allow-from");

  EXPECT_TRUE(fw.on_pbx_registration(kOffice, "300", clock_.now() + 1h, "registered as 300 (PBX: contact)"));
  fw.flush();
  EXPECT_TRUE(validated(kOffice));
  EXPECT_TRUE(in_set(ucp_grant(kOffice)));
}

TEST_F(AllowFromTest, TrustedSourcesAreNeitherBlockedNorValidated) {
  auto& fw = start(kConfig + "[networks]\n\"192.0.2.0/24\" = \"trusted\"\n");
  register_phone(kElsewhere, "300");
  EXPECT_FALSE(fw.on_pbx_registration(kElsewhere, "300", clock_.now() + 1h, "registered as 300"));
  fw.flush();
  EXPECT_FALSE(blocked(kElsewhere));
  EXPECT_FALSE(validated(kElsewhere));
  EXPECT_TRUE(blocks().empty());
  EXPECT_EQ(fw.engine().counters().never_block_spared, 2u);  // the packets and the PBX's word
}

TEST_F(AllowFromTest, AReloadThatNarrowsTheListBlocksValidationsFromOutsideIt) {
  auto& fw = start(kConfig);
  register_phone(kOffice, "300");
  const IpAddress other = *IpAddress::parse("198.51.100.11");
  register_phone(other, "301");
  ASSERT_TRUE(validated(kOffice));
  ASSERT_TRUE(in_set(ucp_grant(kOffice)));

  write_config("[users.\"300\"]\nservices = [\"ucp\"]\nallow_from = [\"203.0.113.0/24\"]\n");
  auto s = fw.reload();
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(blocked(kOffice));
  EXPECT_FALSE(validated(kOffice));
  EXPECT_FALSE(in_set(ucp_grant(kOffice)));
  EXPECT_EQ(blocks().at(0).reason, "extension 300 registered from 198.51.100.10, outside its allow_from 203.0.113.0/24");
  EXPECT_TRUE(validated(other)) << "301 has no list";
}

TEST_F(AllowFromTest, ARestartAppliesTheListToValidationsPutBack) {
  {
    start(kConfig);
    register_phone(kOffice, "300");
    ASSERT_TRUE(validated(kOffice));
    firewall_.reset();
  }
  start("[users.\"300\"]\nallow_from = [\"203.0.113.0/24\"]\n");
  EXPECT_TRUE(blocked(kOffice));
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
}

TEST_F(AllowFromTest, ABadEntryIsRefusedWithItsPlace) {
  write_config("[users.\"300\"]\nallow_from = [\"198.51.100.1/24\"]\n");
  auto& fw = make();
  auto s = fw.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("pbxwall.toml:2:"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("users.300.allow_from"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("bits set beyond the prefix length"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace pbxwall::daemon
