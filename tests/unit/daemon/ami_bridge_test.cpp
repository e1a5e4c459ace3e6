// The AMI bridge on a Firewall built with recording fakes: a scripted Asterisk on loopback
// sends security and registration events; the kernel sets, the database and the engine show
// what they changed. Also how the PBX's word merges with what the packet path sees.
#include "daemon/ami_bridge.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio.hpp>
#include <filesystem>
#include <fstream>

#include "../ami/scripted_server.h"
#include "ami/message.h"
#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using namespace std::chrono_literals;
using ami::test::ScriptedServer;
using ami::test::SessionScript;
const IpAddress kGuesser = *IpAddress::parse("203.0.113.9");
const IpAddress kPhone = *IpAddress::parse("198.51.100.23");
const IpAddress kPacketPhone = *IpAddress::parse("198.51.100.10");

std::string invalid_password(const std::string& remote, const std::string& account = "101") {
  return "Event: InvalidPassword\r\nPrivilege: security,all\r\nEventTV: 2024-03-12T09:14:04.230+0000\r\n"
         "Severity: Error\r\nService: PJSIP\r\nEventVersion: 2\r\nAccountID: " + account +
         "\r\nSessionID: 0x7f3a1c0041b0\r\nLocalAddress: IPV4/UDP/203.0.113.1/5060\r\nRemoteAddress: " + remote + "\r\n\r\n";
}

std::string contact_status(const std::string& status, const std::string& aor, const std::string& uri,
                           std::optional<std::int64_t> reg_expire = std::nullopt) {
  std::string m = "Event: ContactStatus\r\nPrivilege: system,all\r\nURI: " + uri + "\r\nContactStatus: " + status +
                  "\r\nAOR: " + aor + "\r\nEndpointName: " + aor + "\r\n";
  if (reg_expire) m += "RegExpire: " + std::to_string(*reg_expire) + "\r\n";
  return m + "\r\n";
}

std::string peer_status(const std::string& status, const std::string& peer, const std::string& address) {
  std::string m = "Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: SIP\r\nPeer: SIP/" + peer +
                  "\r\nPeerStatus: " + status + "\r\n";
  if (!address.empty()) m += "Address: " + address + "\r\n";
  return m + "\r\n";
}

using test::pbx_answer;
using test::phone_register;

// Events as the client hands them over, from wire text.
std::vector<ami::Event> events_of(const std::string& text) {
  ami::Parser parser;
  std::vector<ami::Message> messages;
  parser.feed("Asterisk Call Manager/5.0.1\r\n" + text, messages);
  std::vector<ami::Event> out;
  for (const auto& m : messages)
    if (auto i = ami::interpret(m); i.event) out.push_back(*i.event);
  return out;
}

SessionScript send(std::string bytes, bool then_close) {
  SessionScript s;
  s.after_login = std::move(bytes);
  s.close_after_sending = then_close;
  return s;
}

class AmiBridgeTest : public test::FirewallFixture {
 protected:
  void SetUp() override {
    FirewallFixture::SetUp();
    start("[networks]\n\"198.51.100.200\" = \"trusted\"\n");
  }
  void TearDown() override {
    bridge_.reset();
    FirewallFixture::TearDown();
  }

  AmiBridge& bridge_for(const ScriptedServer& server) {
    ami::ClientSettings s;
    s.port = server.port();
    s.username = "pbxwall";
    s.secret = "s3cret";
    s.backoff_initial = 20ms;
    s.backoff_max = 200ms;
    s.response_timeout = 2s;
    bridge_ = std::make_unique<AmiBridge>(io_, *firewall_, s);
    return *bridge_;
  }
  // A bridge whose client never starts: events are handed to it directly.
  AmiBridge& offline_bridge() {
    ami::ClientSettings s;
    s.port = 1;
    bridge_ = std::make_unique<AmiBridge>(io_, *firewall_, s);
    return *bridge_;
  }
  void feed(const std::string& text) {
    for (const auto& e : events_of(text)) bridge_->on_event(e);
    run_posted();
  }
  void run_posted() {
    io_.poll();
    io_.restart();
  }
  // Runs the loop until done() holds or the limit passes; the limit only bounds a failing test.
  bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(10ms);
      if (io_.stopped()) io_.restart();
    }
    return done();
  }

  asio::io_context io_;
  std::unique_ptr<AmiBridge> bridge_;
};

TEST_F(AmiBridgeTest, WrongPasswordsReportedByThePbxBlockTheGuesser) {
  std::string burst;
  for (int i = 0; i < 6; ++i) burst += invalid_password("IPV4/UDP/203.0.113.9/5060");
  ScriptedServer server({send(burst, false)});
  auto& bridge = bridge_for(server);
  bridge.start();
  ASSERT_TRUE(run_until([&] { return blocked(kGuesser); }));
  auto blocks = store_->active_blocks(clock_.now());
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].address, "203.0.113.9");
  EXPECT_EQ((*blocks)[0].rule, "password-guessing");
  ASSERT_EQ(conntrack_.calls.size(), 1u);
  EXPECT_EQ(conntrack_.calls[0], std::vector<IpAddress>{kGuesser});
  // The threshold is 4 at once; later events from the blocked source change nothing.
  EXPECT_TRUE(run_until([&] { return bridge.counters().security_fed == 6; }));
  EXPECT_EQ(events_of_kind("block", "203.0.113.9"), 1u);
}

TEST_F(AmiBridgeTest, ContactCreatedValidatesUntilItsExpiryAndRemovedForgets) {
  const std::int64_t expires = clock_seconds() + 300;
  ScriptedServer server({send(contact_status("Created", "301", "sip:301@198.51.100.23:5060;ob", expires), true),
                         send(contact_status("Removed", "301", "sip:301@198.51.100.23:5060;ob"), false)});
  auto& bridge = bridge_for(server);
  bridge.start();
  ASSERT_TRUE(run_until([&] { return bridge.counters().validations == 1; }));
  const auto source = firewall_->engine().source(kPhone);
  ASSERT_TRUE(source);
  EXPECT_EQ(source->user, "301");

  ASSERT_TRUE(run_until([&] { return bridge.counters().forgets == 1; }));
  // The bridge counts the forget when the event arrives and posts the kernel flush behind it.
  run_posted();
  // The kernel saw the validation with RegExpire plus the registration grace (60 s) as its
  // timeout, then its removal.
  std::optional<packets::SetElement> added;
  bool removed = false;
  for (const auto& batch : sets_.commits) {
    for (const auto& e : batch.added)
      if (e.key == packets::SetKey::validated(kPhone)) added = e;
    for (const auto& k : batch.removed) removed |= added && k == packets::SetKey::validated(kPhone);
  }
  ASSERT_TRUE(added);
  EXPECT_EQ(added->timeout, std::chrono::seconds(300 + 60));
  EXPECT_TRUE(removed);
  EXPECT_FALSE(validated(kPhone));
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
  EXPECT_EQ(events_of_kind("validate", "198.51.100.23"), 1u);
  EXPECT_EQ(events_of_kind("forget", "198.51.100.23"), 1u);
  // The engine's own expiry of that validation later has nothing left to forget.
  clock_.advance(std::chrono::seconds(400));
  firewall_->housekeeping();
  EXPECT_EQ(events_of_kind("forget", "198.51.100.23"), 1u);
}

TEST_F(AmiBridgeTest, ReconnectsWithBackoffAndEventsResume) {
  SessionScript refused;
  refused.accept_login = false;
  ScriptedServer server({send(invalid_password("IPV4/UDP/203.0.113.9/5060") + invalid_password("IPV4/UDP/203.0.113.9/5060"), true),
                         refused,
                         send(invalid_password("IPV4/UDP/203.0.113.9/5060") + invalid_password("IPV4/UDP/203.0.113.9/5060"), false)});
  auto& bridge = bridge_for(server);
  bridge.start();
  ASSERT_TRUE(run_until([&] { return blocked(kGuesser); }));
  const auto& c = bridge.client().counters();
  EXPECT_EQ(c.connects, 3u);
  EXPECT_EQ(c.logins, 2u);
  EXPECT_EQ(c.login_failures, 1u);
  EXPECT_GE(c.disconnects, 1u);
  // The refused login doubled the delay; the accepted one after it reset it.
  EXPECT_EQ(bridge.client().next_backoff(), 20ms);
  EXPECT_EQ(bridge.counters().security_fed, 4u);
  EXPECT_GE(server.sessions_finished(), 2);
}

TEST_F(AmiBridgeTest, MalformedLinesAndEventsAreIgnored) {
  const std::string junk = "this line has no key\r\n" + std::string(9000, 'x') + "\r\n\r\n" +
                           invalid_password("IPV4/UDP/not-an-address/5060") + invalid_password("") +
                           "Event: ContactStatus\r\nContactStatus: Created\r\n\r\n" +
                           contact_status("Created", "302", "sip:302@phone.example.com:5060") +
                           contact_status("Created", "301", "sip:301@198.51.100.23:5060;ob");
  ScriptedServer server({send(junk, false)});
  auto& bridge = bridge_for(server);
  bridge.start();
  ASSERT_TRUE(run_until([&] { return validated(kPhone); }));
  EXPECT_GE(bridge.client().parser_counters().malformed_lines, 1u);
  EXPECT_GE(bridge.client().parser_counters().oversized_lines, 1u);
  EXPECT_EQ(bridge.client().counters().event_problems, 3u);
  EXPECT_EQ(bridge.counters().security_fed, 0u);
  EXPECT_EQ(bridge.counters().without_address, 1u);
  EXPECT_EQ(bridge.counters().validations, 1u);
  for (const auto& [key, element] : sets_.contents()) EXPECT_EQ(key.address, kPhone) << key.set_name();
}

TEST_F(AmiBridgeTest, ARegistrationSeenByPacketsAndByThePbxIsOneValidation) {
  auto& bridge = offline_bridge();
  inbound(kPacketPhone, phone_register(1, false));
  outbound(kPacketPhone, pbx_answer(1, 401));
  inbound(kPacketPhone, phone_register(2, true));
  outbound(kPacketPhone, pbx_answer(2, 200));
  firewall_->flush();
  ASSERT_TRUE(validated(kPacketPhone));
  feed(contact_status("Created", "300", "sip:300@198.51.100.10:5060", clock_seconds() + 60));
  EXPECT_EQ(bridge.counters().validations_merged, 1u);
  EXPECT_EQ(bridge.counters().validations, 0u);
  EXPECT_EQ(events_of_kind("validate", "198.51.100.10"), 1u);
  // The PBX's removal still forgets what the packets validated.
  feed(contact_status("Removed", "300", "sip:300@198.51.100.10:5060"));
  EXPECT_FALSE(validated(kPacketPhone));
  EXPECT_EQ(events_of_kind("forget", "198.51.100.10"), 1u);
  // And the phone registering again validates again.
  feed(contact_status("Created", "300", "sip:300@198.51.100.10:5060", clock_seconds() + 60));
  EXPECT_TRUE(validated(kPacketPhone));
  EXPECT_EQ(events_of_kind("validate", "198.51.100.10"), 2u);
}

// Asterisk 22 reports the new contact as NonQualified without RegExpire: the validation the
// packets took (with the PBX's own expiry) stands, no second one.
TEST_F(AmiBridgeTest, ARegistrationSeenByPacketsAndAnAsterisk22ContactIsOneValidation) {
  auto& bridge = offline_bridge();
  inbound(kPacketPhone, phone_register(1, false));
  outbound(kPacketPhone, pbx_answer(1, 401));
  inbound(kPacketPhone, phone_register(2, true));
  outbound(kPacketPhone, pbx_answer(2, 200));
  firewall_->flush();
  ASSERT_TRUE(validated(kPacketPhone));
  feed(contact_status("NonQualified", "300", "sip:300@198.51.100.10:5060"));
  EXPECT_EQ(bridge.counters().validations_merged, 1u);
  EXPECT_EQ(bridge.counters().validations, 0u);
  EXPECT_EQ(events_of_kind("validate", "198.51.100.10"), 1u);
}

TEST_F(AmiBridgeTest, FailedAttemptsSeenByPacketsAreCountedOnce) {
  auto& bridge = offline_bridge();
  // Three wrong passwords: below the guessing threshold of 4. Counted twice they would block.
  for (int i = 1; i <= 3; ++i) {
    inbound(kPacketPhone, phone_register(i, true));
    outbound(kPacketPhone, pbx_answer(i, 401));
    feed(invalid_password("IPV4/UDP/198.51.100.10/5060", "300"));
  }
  firewall_->flush();
  EXPECT_EQ(bridge.counters().security_seen_by_packets, 3u);
  EXPECT_EQ(bridge.counters().security_fed, 0u);
  EXPECT_FALSE(blocked(kPacketPhone));
  // Over TLS the packet path sees nothing of the same remote's attempts: the PBX's word counts.
  for (int i = 0; i < 4; ++i) feed(invalid_password("IPV4/TLS/198.51.100.10/5061", "300"));
  EXPECT_GE(bridge.counters().security_fed, 3u);
  EXPECT_TRUE(blocked(kPacketPhone));
}

TEST_F(AmiBridgeTest, PhonesBehindOneAddressAndChanSipPeers) {
  auto& bridge = offline_bridge();
  feed(contact_status("Created", "301", "sip:301@198.51.100.23:5060"));
  feed(contact_status("Created", "302", "sip:302@198.51.100.23:5062"));
  ASSERT_TRUE(validated(kPhone));
  feed(contact_status("Removed", "301", "sip:301@198.51.100.23:5060"));
  EXPECT_TRUE(validated(kPhone)) << "302 is still registered there";
  feed(contact_status("Removed", "302", "sip:302@198.51.100.23:5062"));
  EXPECT_FALSE(validated(kPhone));

  const IpAddress peer = *IpAddress::parse("2001:db8::44");
  feed(peer_status("Registered", "401", "[2001:db8::44]:5060"));
  EXPECT_TRUE(validated(peer));
  // chan_sip's Unregistered names no address: the one the PBX reported for that peer is forgotten.
  feed(peer_status("Unregistered", "401", ""));
  EXPECT_FALSE(validated(peer));
  EXPECT_EQ(bridge.counters().forgets, 2u);
  EXPECT_EQ(bridge.counters().validations, 3u);
}

// The events Asterisk 22.10.1 sent in the lab (tests/data/ami/asterisk22-session.txt): 300
// registered over UDP and 400 over IAX2 from 198.51.100.10, 302 over TCP from 198.51.100.11
// until its connection closed.
TEST_F(AmiBridgeTest, Asterisk22RegistrationsAreLearntAndForgotten) {
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/ami/asterisk22-session.txt", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  text.erase(0, text.find("\r\n") + 2);  // the banner (events_of gives its own)
  auto& bridge = offline_bridge();
  feed(text);
  EXPECT_TRUE(validated(*IpAddress::parse("198.51.100.10"))) << "300's NonQualified contact";
  EXPECT_FALSE(validated(*IpAddress::parse("198.51.100.11"))) << "302 removed with its TCP connection";
  EXPECT_EQ(bridge.counters().validations, 3u);  // 300, IAX2 400, 302
  EXPECT_EQ(bridge.counters().forgets, 1u);      // 302; 400's release leaves 300 registered there
}

TEST_F(AmiBridgeTest, RegistrationsOutsideAllowFromAreBlockedNotValidated) {
  firewall_.reset();
  start("[users.\"301\"]\nallow_from = [\"198.51.100.0/24\"]\n[users.\"401\"]\nallow_from = [\"2001:db8:1::/48\"]\n");
  auto& bridge = offline_bridge();
  feed(contact_status("Created", "301", "sip:301@203.0.113.9:5060", clock_seconds() + 300));
  EXPECT_TRUE(blocked(kGuesser));
  EXPECT_FALSE(validated(kGuesser));
  ASSERT_EQ(events().size(), 1u);
  EXPECT_EQ(events()[0].rule, "outside-allow-from");
  EXPECT_EQ(events()[0].reason, "extension 301 registered from 203.0.113.9, outside its allow_from 198.51.100.0/24");

  const IpAddress peer = *IpAddress::parse("2001:db8::44");
  feed(peer_status("Registered", "401", "[2001:db8::44]:5060"));
  EXPECT_TRUE(blocked(peer));
  EXPECT_FALSE(validated(peer));

  feed(contact_status("Created", "301", "sip:301@198.51.100.23:5060"));
  EXPECT_TRUE(validated(kPhone));
  EXPECT_EQ(bridge.counters().validations, 1u);
  EXPECT_EQ(firewall_->grants().holders(), 1u);
}

// ---- [ami] settings --------------------------------------------------------------------------

Result<AmiSettings, Diagnostics> parse_settings(const std::string& text, const std::string& source) {
  auto table = toml::parse(text, source);
  return ami_settings_from_toml(table, source);
}

TEST(AmiSettings, DefaultsAndAFullSection) {
  auto none = parse_settings("", "/etc/pbxwall/pbxwall.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->enabled);
  EXPECT_EQ(none->client.host, "127.0.0.1");
  EXPECT_EQ(none->client.port, 5038);

  auto full = parse_settings("[ami]\nenabled = true\nhost = \"::1\"\nport = 5039\nusername = \"pbxwall\"\n"
                             "secret = \"s3cret\"\nreconnect_min_ms = 500\nreconnect_max_ms = 30000\nkeepalive_seconds = 20\n",
                             "/etc/pbxwall/pbxwall.toml");
  ASSERT_TRUE(full.ok()) << full.error().front().str();
  EXPECT_TRUE(full->enabled);
  EXPECT_EQ(full->client.host, "::1");
  EXPECT_EQ(full->client.port, 5039);
  EXPECT_EQ(full->client.username, "pbxwall");
  EXPECT_EQ(full->client.secret, "s3cret");
  EXPECT_EQ(full->client.backoff_initial, 500ms);
  EXPECT_EQ(full->client.backoff_max, 30000ms);
  EXPECT_EQ(full->client.keepalive_interval, 20s);
}

TEST(AmiSettings, SecretFileIsReadBesideTheConfiguration) {
  const auto dir = std::filesystem::temp_directory_path() / ("pbxwall-ami-settings-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "ami.secret") << "from-file\n";
  const std::string source = (dir / "pbxwall.toml").string();
  auto s = parse_settings("[ami]\nenabled = true\nusername = \"pbxwall\"\nsecret_file = \"ami.secret\"\n", source);
  auto missing = parse_settings("[ami]\nenabled = true\nusername = \"pbxwall\"\nsecret_file = \"nope\"\n", source);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(s.ok()) << s.error().front().str();
  EXPECT_EQ(s->client.secret, "from-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().front().str().find("pbxwall.toml:4:15"), std::string::npos) << missing.error().front().str();
  EXPECT_NE(missing.error().front().str().find("cannot read"), std::string::npos);
}

TEST(AmiSettings, ErrorsNameTheirPlace) {
  auto bad = parse_settings("[ami]\nenabled = true\nport = 70000\nusename = \"x\"\nreconnect_min_ms = 9000\n"
                            "reconnect_max_ms = 1000\n",
                            "pbxwall.toml");
  ASSERT_FALSE(bad.ok());
  std::string all;
  for (const auto& d : bad.error()) all += d.str() + "\n";
  EXPECT_NE(all.find("pbxwall.toml:3:8"), std::string::npos) << all;
  EXPECT_NE(all.find("ami.port"), std::string::npos) << all;
  EXPECT_NE(all.find("ami.usename"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown key"), std::string::npos) << all;
  EXPECT_NE(all.find("ami.reconnect_max_ms"), std::string::npos) << all;

  auto no_user = parse_settings("[ami]\nenabled = true\nsecret = \"x\"\n", "pbxwall.toml");
  ASSERT_FALSE(no_user.ok());
  EXPECT_NE(no_user.error().front().str().find("ami.username"), std::string::npos);
  // Disabled, the credentials may be left out.
  EXPECT_TRUE(parse_settings("[ami]\nenabled = false\n", "pbxwall.toml").ok());
  auto injected = parse_settings("[ami]\nusername = \"a\\r\\nAction: Originate\"\n", "pbxwall.toml");
  EXPECT_FALSE(injected.ok());
}

}  // namespace
}  // namespace pbxwall::daemon
