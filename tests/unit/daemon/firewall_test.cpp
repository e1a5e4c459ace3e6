// The daemon's behaviour without its event loop: packets in, kernel set updates, database
// rows and control answers out, with every edge replaced by a recording fake.
#include "daemon/firewall.h"

#include <gtest/gtest.h>

#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const IpAddress kPhone = *IpAddress::parse("198.51.100.10");

std::string scanner_options(int n) {
  return "OPTIONS sip:100@203.0.113.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-" + std::to_string(n) + ";rport\r\n"
         "Max-Forwards: 70\r\n"
         "To: \"sipvicious\"<sip:100@1.1.1.1>\r\n"
         "From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6331\r\n"
         "User-Agent: friendly-scanner\r\n"
         "Call-ID: " + std::to_string(n) + "\r\n"
         "Contact: sip:100@127.0.0.1:5061\r\n"
         "CSeq: 1 OPTIONS\r\n"
         "Accept: application/sdp\r\n"
         "Content-Length: 0\r\n\r\n";
}

using test::pbx_answer;
using test::phone_register;

class FirewallTest : public test::FirewallFixture {
 protected:
  void SetUp() override {
    FirewallFixture::SetUp();
    write_config("[networks]\n\"198.51.100.200\" = \"trusted\"\n");
  }
};

TEST_F(FirewallTest, StartAppliesTheTable) {
  auto& fw = make();
  auto s = fw.start();
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(applier_.applied.size(), 1u);
  EXPECT_TRUE(kernel::script_defines_table(applier_.applied[0]));
  EXPECT_NE(applier_.applied[0].find("log group 1"), std::string::npos);
}

TEST_F(FirewallTest, ScannerIsBlockedInKernelStoreAndConntrack) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  inbound(kScanner, scanner_options(1));
  fw.flush();
  const auto key = packets::SetKey::blocked(kScanner);
  ASSERT_TRUE(in_set(key));
  EXPECT_GT(sets_.contents().at(key).timeout.count(), 0);
  EXPECT_NE(sets_.contents().at(key).comment.find("friendly-scanner"), std::string::npos);
  ASSERT_EQ(conntrack_.calls.size(), 1u);
  EXPECT_EQ(conntrack_.calls[0], std::vector<IpAddress>{kScanner});
  auto blocks = store_->active_blocks(clock_.now());
  ASSERT_TRUE(blocks.ok());
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].address, "192.0.2.66");
  EXPECT_EQ((*blocks)[0].rule, "fingerprint");
  // Later packets from it change nothing more.
  const auto commits = sets_.commits.size();
  inbound(kScanner, scanner_options(2));
  fw.flush();
  EXPECT_EQ(sets_.commits.size(), commits);
}

TEST_F(FirewallTest, PhoneThatRegistersIsValidatedAndForgottenWhenItUnregisters) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  inbound(kPhone, phone_register(1, false));
  outbound(kPhone, pbx_answer(1, 401));
  inbound(kPhone, phone_register(2, true));
  outbound(kPhone, pbx_answer(2, 200));
  fw.flush();
  ASSERT_TRUE(in_set(packets::SetKey::validated(kPhone)));
  EXPECT_FALSE(in_set(packets::SetKey::blocked(kPhone)));
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  ASSERT_EQ(valid->size(), 1u);
  EXPECT_EQ((*valid)[0].user, "300");

  json listed = fw.handle({{"cmd", "list"}, {"what", "validated"}});
  ASSERT_TRUE(listed["ok"].get<bool>());
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["addr"], "198.51.100.10");

  // The registration runs out: housekeeping forgets it in the kernel and the database.
  clock_.advance(std::chrono::minutes(10));
  fw.housekeeping();
  EXPECT_FALSE(in_set(packets::SetKey::validated(kPhone)));
  valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
}

TEST_F(FirewallTest, RestartPutsBlocksBackIntoTheTableBeforeAnyPacket) {
  {
    auto& fw = make();
    ASSERT_TRUE(fw.start().ok());
    inbound(kScanner, scanner_options(1));
    fw.flush();
  }
  firewall_.reset();
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  ASSERT_FALSE(applier_.applied.empty());
  const std::string& script = applier_.applied.back();
  EXPECT_NE(script.find("192.0.2.66"), std::string::npos) << script;
  auto status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["blocked"], 1);
}

TEST_F(FirewallTest, BadConfigurationIsRefusedAndTheRunningPolicyKept) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  const auto applied = applier_.applied.size();
  write_config("[networks]\n\"10.0.0.1/8\" = \"trusted\"\n");
  auto s = fw.reload();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("pbxwall.toml:2"), std::string::npos) << s.error();
  EXPECT_EQ(applier_.applied.size(), applied);
  EXPECT_EQ(fw.counters().refused_reloads, 1u);
}

TEST_F(FirewallTest, ManualBlockAndUnblockThroughControlRequests) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  json r = fw.handle({{"cmd", "block"}, {"addr", "203.0.113.77"}, {"seconds", 600}, {"reason", "test"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  const auto key = packets::SetKey::blocked(*IpAddress::parse("203.0.113.77"));
  EXPECT_TRUE(in_set(key));
  r = fw.handle({{"cmd", "unblock"}, {"addr", "203.0.113.77"}});
  ASSERT_TRUE(r["ok"].get<bool>());
  EXPECT_FALSE(in_set(key));
  // Trusted addresses are never blocked.
  r = fw.handle({{"cmd", "block"}, {"addr", "198.51.100.200"}});
  EXPECT_FALSE(r["ok"].get<bool>());
}

TEST_F(FirewallTest, NetworkBlockAndUnblockThroughControlRequests) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  json r = fw.handle({{"cmd", "block"}, {"addr", "192.0.2.0/24"}, {"seconds", 600}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["addr"], "192.0.2.0/24");
  const auto key = packets::SetKey::blocked_net(*Cidr::parse("192.0.2.0/24"));
  EXPECT_TRUE(in_set(key));
  json listed = fw.handle({{"cmd", "list"}, {"what", "blocked"}});
  ASSERT_EQ(listed["items"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["items"][0]["addr"], "192.0.2.0/24");
  // Host bits, a too wide network: refused with the reason.
  r = fw.handle({{"cmd", "block"}, {"addr", "192.0.2.1/24"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_NE(r["error"].get<std::string>().find("bits set beyond the prefix length"), std::string::npos) << r.dump();
  r = fw.handle({{"cmd", "block"}, {"addr", "10.0.0.0/7"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  r = fw.handle({{"cmd", "unblock"}, {"addr", "192.0.2.0/24"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_TRUE(r["was_blocked"].get<bool>());
  EXPECT_FALSE(in_set(key));
  listed = fw.handle({{"cmd", "list"}, {"what", "blocked"}});
  EXPECT_TRUE(listed["items"].empty()) << listed.dump();
}

TEST_F(FirewallTest, UnblockAllLiftsEveryBlockOrThoseOfOneRule) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  inbound(kScanner, scanner_options(1));  // rule fingerprint
  fw.flush();
  ASSERT_TRUE(fw.handle({{"cmd", "block"}, {"addr", "203.0.113.77"}})["ok"].get<bool>());
  ASSERT_TRUE(fw.handle({{"cmd", "block"}, {"addr", "198.51.100.0/25"}})["ok"].get<bool>());
  json r = fw.handle({{"cmd", "unblock"}, {"all", true}, {"rule", "fingerprint"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["unblocked"], 1);
  EXPECT_FALSE(in_set(packets::SetKey::blocked(kScanner)));
  EXPECT_TRUE(in_set(packets::SetKey::blocked(*IpAddress::parse("203.0.113.77"))));
  r = fw.handle({{"cmd", "unblock"}, {"all", true}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(r["unblocked"], 2);
  EXPECT_TRUE(fw.handle({{"cmd", "list"}, {"what", "blocked"}})["items"].empty());
}

TEST_F(FirewallTest, UnblockOfAnAddressNotBlockedRecordsNoEvent) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  json r = fw.handle({{"cmd", "unblock"}, {"addr", "203.0.113.78"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_FALSE(r["was_blocked"].get<bool>());
  json events = fw.handle({{"cmd", "events"}, {"after_id", 0}});
  EXPECT_TRUE(events["items"].empty()) << events.dump();
}

TEST_F(FirewallTest, AFlaggedPhoneRetryingNinetyTimesShowsNinetyFailuresAndOneEvent) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  for (int n = 0; n < 90; ++n) {
    inbound(kPhone, phone_register(2 * n + 1, false));
    outbound(kPhone, pbx_answer(2 * n + 1, 401));
    inbound(kPhone, phone_register(2 * n + 2, true));
    outbound(kPhone, pbx_answer(2 * n + 2, 401));  // the wrong password
    fw.flush();
    clock_.advance(std::chrono::seconds(20));
  }
  EXPECT_FALSE(blocked(kPhone));
  json listed = fw.handle({{"cmd", "list"}, {"what", "flagged"}});
  ASSERT_TRUE(listed["ok"].get<bool>()) << listed.dump();
  ASSERT_EQ(listed["items"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["items"][0]["user"], "300");
  EXPECT_EQ(listed["items"][0]["count"], 90) << listed.dump();
  EXPECT_NE(listed["items"][0]["reason"].get<std::string>().find("90 times"), std::string::npos) << listed.dump();
  EXPECT_EQ(events_of_kind("flag", "198.51.100.10"), 1u);
  EXPECT_EQ(events().size(), 1u);
}

// What the engine saw that no phone does is counted in status (and so in /metrics) whether or not
// it led to a block: here two challenges an enumerator let pass for a request for the next user.
TEST_F(FirewallTest, StatusCountsTheEvidenceTheEngineSaw) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["evidence"]["ignored_challenges"], 0);
  const IpAddress enumerator = *IpAddress::parse("192.0.2.70");
  auto as_user = [](std::string m, const std::string& user) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"300@", user + "@"}, {"phone-a-reg", "enum-" + user},
                            {"198.51.100.10", "192.0.2.70"}})
      for (std::size_t at = m.find(from); at != std::string::npos; at = m.find(from, at + to.size()))
        m.replace(at, from.size(), to);
    return m;
  };
  for (int n = 0; n < 3; ++n) {
    const std::string user = std::to_string(100 + n);
    inbound(enumerator, as_user(phone_register(1, false), user));
    outbound(enumerator, as_user(pbx_answer(1, 401), user));
    clock_.advance(std::chrono::milliseconds(100));
  }
  fw.flush();
  const json status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["evidence"]["ignored_challenges"], 2) << status.dump();
  EXPECT_EQ(status["evidence"]["spoof_guarded"], 0) << status.dump();
  EXPECT_FALSE(blocked(enumerator));
}

TEST_F(FirewallTest, StatusNamesThePacketPathWhyAndHowToGetInlineDrops) {
  std::vector<std::uint16_t> probed;
  probe_queue_ = [&probed](std::uint16_t queue_num) {
    probed.push_back(queue_num);
    return packets::ProbeAnswer{false, "the kernel refuses `meta l4proto udp queue num 5 bypass`: No such file or directory"};
  };
  auto& fw = start("[responsive]\nqueue_num = 5\n");
  EXPECT_EQ(probed, std::vector<std::uint16_t>{5});  // the configured queue, not 0
  EXPECT_EQ(fw.packet_path(), ruleset::PacketPath::log_group);
  const json status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["packet_path"], "log");
  const std::string why = status.value("packet_path_why", "");
  EXPECT_NE(why.find("packet_path = \"auto\""), std::string::npos) << why;
  EXPECT_NE(why.find("does not load the nftables queue statement (the kernel refuses"), std::string::npos) << why;
  EXPECT_NE(why.find("first packets reach the PBX"), std::string::npos) << why;
  const std::string inline_drops = status.value("packet_path_inline_drops", "");
  EXPECT_NE(inline_drops.find("\"external-queue\""), std::string::npos) << inline_drops;
  EXPECT_NE(inline_drops.find("--queue-num 5"), std::string::npos) << inline_drops;
  // A reload asks the kernel again only for another queue number.
  ASSERT_TRUE(fw.reload().ok());
  EXPECT_EQ(probed.size(), 1u);
}

TEST_F(FirewallTest, StatusOfTheInlinePathHasNoAdviceToGetIt) {
  probe_queue_ = [](std::uint16_t) { return packets::ProbeAnswer{true, ""}; };
  auto& fw = start("");
  EXPECT_EQ(fw.packet_path(), ruleset::PacketPath::queue);
  const json status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["packet_path"], "queue");
  EXPECT_NE(status.value("packet_path_why", "").find("waits in queue 1"), std::string::npos) << status.dump();
  EXPECT_TRUE(status["packet_path_inline_drops"].is_null());
}

TEST_F(FirewallTest, MalformedControlRequestsGetErrors) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  for (const json& bad : {json::array(), json{{"cmd", 3}}, json{{"cmd", "explode"}}, json{{"cmd", "block"}, {"addr", "nope"}},
                          json{{"cmd", "block"}, {"addr", "192.0.2.1"}, {"seconds", -5}}, json{{"cmd", "list"}, {"what", "x"}},
                          json{{"cmd", "events"}, {"after_id", "x"}}}) {
    json r = fw.handle(bad);
    EXPECT_FALSE(r["ok"].get<bool>()) << bad.dump();
    EXPECT_TRUE(r["error"].is_string()) << bad.dump();
  }
}

TEST_F(FirewallTest, EventsAreRecordedInOrder) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  std::vector<store::EventRecord> seen;
  fw.set_event_sink([&](const store::EventRecord& e) { seen.push_back(e); });
  inbound(kScanner, scanner_options(1));
  fw.flush();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, "block");
  json r = fw.handle({{"cmd", "events"}, {"after_id", 0}});
  ASSERT_TRUE(r["ok"].get<bool>());
  ASSERT_EQ(r["items"].size(), 1u);
  EXPECT_EQ(r["items"][0]["addr"], "192.0.2.66");
  EXPECT_EQ(r["items"][0]["id"], seen[0].id);
}

TEST_F(FirewallTest, EventsOfOneAddressOrNetwork) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  for (const char* a : {"192.0.2.1", "198.51.100.7", "192.0.2.0/25", "192.0.2.200", "2001:db8::5"})
    ASSERT_TRUE(fw.handle({{"cmd", "block"}, {"addr", a}, {"seconds", 600}})["ok"].get<bool>()) << a;
  auto addrs = [](const json& answer) {
    std::vector<std::string> out;
    for (const auto& e : answer["items"]) out.push_back(e["addr"]);
    return out;
  };
  json r = fw.handle({{"cmd", "events"}, {"addr", "192.0.2.0/24"}});
  ASSERT_TRUE(r["ok"].get<bool>()) << r.dump();
  EXPECT_EQ(addrs(r), (std::vector<std::string>{"192.0.2.1", "192.0.2.0/25", "192.0.2.200"}));
  EXPECT_EQ(r["more"], false);
  // An address: its own events; a network holding it is another block's.
  EXPECT_EQ(addrs(fw.handle({{"cmd", "events"}, {"addr", "198.51.100.7"}})), std::vector<std::string>{"198.51.100.7"});
  EXPECT_EQ(addrs(fw.handle({{"cmd", "events"}, {"addr", "2001:db8::/32"}})), std::vector<std::string>{"2001:db8::5"});
  // A page of one: "last_id" is where the next one starts, "more" that it may hold more.
  r = fw.handle({{"cmd", "events"}, {"addr", "192.0.2.0/24"}, {"limit", 1}});
  EXPECT_EQ(addrs(r), std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(r["more"], true);
  r = fw.handle({{"cmd", "events"}, {"addr", "192.0.2.0/24"}, {"limit", 1}, {"after_id", r["last_id"]}});
  EXPECT_EQ(addrs(r), std::vector<std::string>{"192.0.2.0/25"});
  r = fw.handle({{"cmd", "events"}, {"addr", "192.0.2.0/24"}, {"after_id", r["last_id"]}});
  EXPECT_EQ(addrs(r), std::vector<std::string>{"192.0.2.200"});
  EXPECT_EQ(r["more"], false);
  r = fw.handle({{"cmd", "events"}, {"addr", "10.0.0.1/8"}});
  EXPECT_FALSE(r["ok"].get<bool>());
  EXPECT_EQ(r["error"], "addr: \"10.0.0.1/8\" is not an address or network: address has bits set beyond the prefix "
                        "length (did you mean 10.0.0.0/8?)");
  EXPECT_FALSE(fw.handle({{"cmd", "events"}, {"addr", 5}})["ok"].get<bool>());
}

TEST_F(FirewallTest, EveryChangeIsAnEventNamingWhoAskedForIt) {
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  // A reload of the file as it is: nothing changes, but the administrator asked for it.
  ASSERT_TRUE(fw.handle({{"cmd", "reload"}, {"who", "pbxwall reload"}, {"safe_mode", false}})["ok"].get<bool>());
  std::string text = "[networks]\n\"198.51.100.200\" = \"trusted\"\n\"192.0.2.0/24\" = \"trusted\"\n";
  ASSERT_TRUE(fw.handle({{"cmd", "apply"}, {"text", text}, {"what", "192.0.2.0/24 is now in zone trusted"},
                         {"who", "pbxwall trust"}, {"safe_mode", false}})["ok"].get<bool>());
  std::vector<std::pair<std::string, std::string>> changes;
  for (const auto& e : events())
    if (e.kind == "change") changes.emplace_back(e.user, e.reason);
  EXPECT_EQ(changes, (std::vector<std::pair<std::string, std::string>>{
                         {"pbxwall reload", "configuration reloaded, unchanged"},
                         {"pbxwall trust", "192.0.2.0/24 is now in zone trusted"}}));
}

TEST(EventWithin, AddressesAndNetworksInsideTheFilter) {
  const Cidr net = *Cidr::parse("192.0.2.0/24");
  EXPECT_TRUE(event_within("192.0.2.9", net));
  EXPECT_TRUE(event_within("192.0.2.128/25", net));
  EXPECT_FALSE(event_within("192.0.0.0/16", net));  // holds the filter, is not inside it
  EXPECT_FALSE(event_within("198.51.100.1", net));
  EXPECT_FALSE(event_within("2001:db8::1", net));
  EXPECT_FALSE(event_within("", net));  // an event of no address (a configuration change)
}

TEST_F(FirewallTest, RestartKeepsTheRuleEscalationAndValidations) {
  const TimePoint now = clock_.now();
  ASSERT_TRUE(store_->upsert_block({"192.0.2.66", "password-guessing", "5 wrong passwords", now, now + std::chrono::hours(1), 2}).ok());
  ASSERT_TRUE(store_->upsert_validated({"198.51.100.10", "300", now + std::chrono::minutes(30)}).ok());
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  const auto scanner = fw.engine().source(kScanner);
  ASSERT_TRUE(scanner);
  EXPECT_EQ(scanner->state, responsive::SourceState::blocked);
  EXPECT_EQ(scanner->last_rule, responsive::Rule::password_guessing);
  EXPECT_EQ(scanner->until, now + std::chrono::hours(1));
  const auto phone = fw.engine().source(kPhone);
  ASSERT_TRUE(phone);
  EXPECT_EQ(phone->state, responsive::SourceState::validated);
  EXPECT_EQ(phone->user, "300");
  // Restoring decides nothing: no events, no set changes beside the rendered table.
  fw.flush();
  json events = fw.handle({{"cmd", "events"}, {"after_id", 0}});
  EXPECT_TRUE(events["items"].empty()) << events.dump();
  EXPECT_TRUE(sets_.commits.empty());
  const std::string& script = applier_.applied.back();
  EXPECT_NE(script.find("192.0.2.66 timeout 3600s"), std::string::npos) << script;
  EXPECT_NE(script.find("198.51.100.10 timeout 1800s"), std::string::npos) << script;
  // The restored validation runs out like one made by a registration.
  clock_.advance(std::chrono::minutes(31));
  fw.housekeeping();
  fw.flush();
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  EXPECT_TRUE(valid->empty());
  events = fw.handle({{"cmd", "events"}, {"after_id", 0}});
  ASSERT_EQ(events["items"].size(), 1u) << events.dump();
  EXPECT_EQ(events["items"][0]["action"], "forget");
}

TEST_F(FirewallTest, AddressesRotatedInOneSlash64BlockTheNetwork) {
  const IpAddress pbx6 = *IpAddress::parse("2001:db8:1::1");
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  int n = 0;
  for (const char* a : {"2001:db8:3::1", "2001:db8:3::2", "2001:db8:3::3"}) {
    auto ip = capture::synth::udp(*IpAddress::parse(a), 5060, pbx6, 5060, scanner_options(++n));
    fw.on_packet(1, ip, clock_.now());
  }
  fw.flush();
  const auto net = packets::SetKey::blocked_net(*Cidr::parse("2001:db8:3::/64"));
  ASSERT_TRUE(in_set(net));
  EXPECT_GT(sets_.contents().at(net).timeout.count(), 0);
  EXPECT_TRUE(in_set(packets::SetKey::blocked(*IpAddress::parse("2001:db8:3::3"))));
  auto blocks = store_->active_blocks(clock_.now());
  ASSERT_TRUE(blocks.ok());
  bool stored = false;
  for (const auto& b : *blocks) stored |= b.address == "2001:db8:3::/64" && b.rule == "address-rotation";
  EXPECT_TRUE(stored);
  json events = fw.handle({{"cmd", "events"}, {"after_id", 0}});
  ASSERT_EQ(events["items"].size(), 4u);
  EXPECT_EQ(events["items"][3]["addr"], "2001:db8:3::/64");

  // After a restart the network is in the table and its other addresses are ignored.
  firewall_.reset();
  auto& again = make();
  ASSERT_TRUE(again.start().ok());
  EXPECT_NE(applier_.applied.back().find("2001:db8:3::/64 timeout"), std::string::npos);
  const auto commits = sets_.commits.size();
  auto ip = capture::synth::udp(*IpAddress::parse("2001:db8:3::99"), 5060, pbx6, 5060, scanner_options(9));
  again.on_packet(1, ip, clock_.now());
  again.flush();
  EXPECT_EQ(sets_.commits.size(), commits);
}

}  // namespace
}  // namespace pbxwall::daemon
