// The daemon's PBX integration driven like tests/unit/daemon drives the Firewall: a dry-run
// applier, a recording set updater, an SQLite store and a simulated clock. Covers
// per-extension grants, trunk sets, discovered ports, VPN clients and the pure readers.
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "../daemon/firewall_fixture.h"
#include "daemon/firewall.h"
#include "daemon/pbx_view.h"
#include "daemon/trunk_status.h"
#include "daemon/vpn_clients.h"
#include "pbx/discovery.h"

namespace pbxwall::daemon {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }

const IpAddress kPhone = ip("198.51.100.10");

std::string phone_register(const std::string& user, int cseq, bool credentials, std::uint16_t port = 5060) {
  const std::string pbx = "203.0.113.1:" + std::to_string(port);
  std::string m = "REGISTER sip:" + pbx + " SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport\r\n"
                  "Max-Forwards: 70\r\n"
                  "From: <sip:" + user + "@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:" + user + "@203.0.113.1>\r\n"
                  "Call-ID: phone-a-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
                  "Contact: <sip:" + user + "@198.51.100.10:5060>;expires=60\r\n"
                  "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n";
  if (credentials)
    m += "Authorization: Digest username=\"" + user + "\", realm=\"pbx\", nonce=\"abc\", uri=\"sip:" + pbx + "\", "
         "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

std::string pbx_answer(const std::string& user, int cseq, int status) {
  std::string m = "SIP/2.0 " + std::to_string(status) + (status == 200 ? " OK" : " Unauthorized") + "\r\n"
                  "Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK-reg" + std::to_string(cseq) + ";rport=5060\r\n"
                  "From: <sip:" + user + "@203.0.113.1>;tag=ph1\r\n"
                  "To: <sip:" + user + "@203.0.113.1>;tag=pbx1\r\n"
                  "Call-ID: phone-a-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  if (status == 401) m += "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", qop=\"auth\"\r\n";
  if (status == 200) m += "Contact: <sip:" + user + "@198.51.100.10:5060>;expires=60\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

packets::SetKey tcp_grant(const IpAddress& a, std::uint16_t port) { return packets::SetKey::grant(a, IPPROTO_TCP, port); }

class DaemonPbxTest : public test::FirewallFixture {
 protected:
  void packet(bool in, const std::string& sip, std::uint16_t pbx_port = 5060) {
    if (in) inbound(kPhone, sip, pbx_port);
    else outbound(kPhone, sip, pbx_port);
  }
  void register_phone(const std::string& user, std::uint16_t pbx_port = 5060) {
    packet(true, phone_register(user, 1, false, pbx_port), pbx_port);
    packet(false, pbx_answer(user, 1, 401), pbx_port);
    packet(true, phone_register(user, 2, true, pbx_port), pbx_port);
    packet(false, pbx_answer(user, 2, 200), pbx_port);
    firewall_->flush();
  }
};

TEST_F(DaemonPbxTest, ValidatedExtensionIsGrantedItsServicesUntilItIsForgotten) {
  auto& fw = start("[users.default]\nservices = [\"ucp\"]\n[users.\"301\"]\nservices = [\"ucp\", \"ssh\"]\n");
  register_phone("301");
  const auto validated = packets::SetKey::validated(kPhone);
  ASSERT_TRUE(in_set(validated));
  ASSERT_TRUE(in_set(tcp_grant(kPhone, 81)));
  ASSERT_TRUE(in_set(tcp_grant(kPhone, 22)));
  EXPECT_FALSE(in_set(tcp_grant(kPhone, 443)));
  // Same expiry as the validation.
  EXPECT_EQ(sets_.contents().at(tcp_grant(kPhone, 81)).timeout, sets_.contents().at(validated).timeout);
  EXPECT_GT(sets_.contents().at(tcp_grant(kPhone, 81)).timeout, Duration(0));
  EXPECT_EQ(fw.grants().holders(), 1u);

  // The registration runs out: validation and grants go together.
  clock_.advance(10min);
  fw.housekeeping();
  EXPECT_FALSE(in_set(validated));
  EXPECT_FALSE(in_set(tcp_grant(kPhone, 81)));
  EXPECT_FALSE(in_set(tcp_grant(kPhone, 22)));
  EXPECT_EQ(fw.grants().holders(), 0u);
}

TEST_F(DaemonPbxTest, ExtensionWithoutEntryGetsTheDefaultServices) {
  start("[users.\"333\"]\nservices = [\"https\", \"ssh\"]\n");
  register_phone("300");
  EXPECT_TRUE(in_set(tcp_grant(kPhone, 81))) << "default services: ucp";
  EXPECT_FALSE(in_set(tcp_grant(kPhone, 22)));
}

TEST_F(DaemonPbxTest, GrantsSurviveAReloadInTheRenderedTable) {
  auto& fw = start("[users.default]\nservices = [\"ucp\"]\n");
  register_phone("300");
  ASSERT_TRUE(fw.reload().ok());
  const std::string& script = applier_.applied.back();
  EXPECT_NE(script.find("198.51.100.10 . tcp . 81"), std::string::npos) << script;
}

TEST_F(DaemonPbxTest, UnknownServiceIsAConfigurationErrorWithItsPlace) {
  write_config("[users.default]\nservices = [\"ucp\"]\n[users.\"301\"]\nservices = [\"ucp\", \"telnet\"]\n");
  auto& fw = make();
  auto s = fw.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("pbxwall.toml:4:"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("unknown service \"telnet\""), std::string::npos) << s.error();
}

TEST_F(DaemonPbxTest, BadPbxAndVpnKeysAreRefusedWithTheirPlace) {
  write_config("[pbx]\nasterisk_root = 3\ndns_min_refresh = 0\n[vpn]\nwiregard = true\n");
  auto& fw = make();
  auto s = fw.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("pbxwall.toml:2:"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("pbxwall.toml:3:"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("pbxwall.toml:5:"), std::string::npos) << s.error();
}

TEST_F(DaemonPbxTest, TrunksReplaceTheSetContentsAndAreNeverBlocked) {
  auto& fw = start("");
  const auto applied = applier_.applied.size();
  ASSERT_TRUE(fw.set_trunks({*Cidr::parse("198.51.100.10/32"), *Cidr::parse("203.0.113.64/26"), *Cidr::parse("2001:db8::7/128")}).ok());
  ASSERT_EQ(applier_.applied.size(), applied + 1);
  const std::string& script = applier_.applied.back();
  EXPECT_FALSE(kernel::script_defines_table(script)) << "a set update, not a ruleset reload";
  EXPECT_NE(script.find("flush set inet pbxwall trunks4"), std::string::npos) << script;
  EXPECT_NE(script.find("add element inet pbxwall trunks4 { 198.51.100.10, 203.0.113.64-203.0.113.127 }"), std::string::npos) << script;
  EXPECT_NE(script.find("add element inet pbxwall trunks6 { 2001:db8::7 }"), std::string::npos) << script;
  // The same trunks again change nothing.
  ASSERT_TRUE(fw.set_trunks({*Cidr::parse("203.0.113.64/26"), *Cidr::parse("2001:db8::7/128"), *Cidr::parse("198.51.100.10/32")}).ok());
  EXPECT_EQ(applier_.applied.size(), applied + 1);

  // A trunk is never blocked, even on an administrator's request.
  auto answer = fw.handle({{"cmd", "block"}, {"addr", "198.51.100.10"}});
  EXPECT_FALSE(answer["ok"].get<bool>());
  fw.flush();
  EXPECT_FALSE(in_set(packets::SetKey::blocked(kPhone)));

  // A reload renders them into the table; the renderer writes a CIDR-aligned interval as a
  // network (as `nft list` shows it), the set update as first-last: the same elements.
  ASSERT_TRUE(fw.reload().ok());
  const std::string& table = applier_.applied.back();
  EXPECT_TRUE(kernel::script_defines_table(table));
  const auto trunks4 = table.find("set trunks4 {");
  ASSERT_NE(trunks4, std::string::npos) << table;
  const auto elements = table.substr(trunks4, table.find('}', trunks4) - trunks4);
  EXPECT_NE(elements.find("198.51.100.10,"), std::string::npos) << elements;
  EXPECT_NE(elements.find("203.0.113.64/26"), std::string::npos) << elements;
  EXPECT_NE(table.find("2001:db8::7"), std::string::npos) << table;
}

// The daemon re-reads [pbx], [vpn] and [ami] in this listener, so every way of reloading
// (SIGHUP, the control socket's reload and start, the web UI's edits) must reach it.
TEST_F(DaemonPbxTest, EverySuccessfulReloadReachesTheReloadListener) {
  auto& fw = start("[pbx]\ndns_min_refresh = 30\n");
  int reloads_heard = 0;
  std::chrono::seconds min_refresh_seen{};
  fw.set_reload_listener([&] {
    ++reloads_heard;
    min_refresh_seen = std::chrono::duration_cast<std::chrono::seconds>(fw.integration().pbx.dns_min_refresh);
  });
  write_config("[pbx]\ndns_min_refresh = 5\n");
  ASSERT_TRUE(fw.reload().ok());
  EXPECT_EQ(reloads_heard, 1);
  EXPECT_EQ(min_refresh_seen, 5s) << "the listener sees the new settings";
  EXPECT_TRUE(fw.handle({{"cmd", "reload"}})["ok"].get<bool>());
  EXPECT_TRUE(fw.handle({{"cmd", "start"}})["ok"].get<bool>());
  EXPECT_EQ(reloads_heard, 3);
  // A refused configuration keeps the running one: nothing to re-read.
  write_config("[pbx]\ndns_min_refresh = 0\n");
  EXPECT_FALSE(fw.reload().ok());
  EXPECT_FALSE(fw.handle({{"cmd", "reload"}})["ok"].get<bool>());
  EXPECT_EQ(reloads_heard, 3);
  EXPECT_EQ(min_refresh_seen, 5s);
}

TEST_F(DaemonPbxTest, DiscoveredPortsReplaceTheDefaultsAndTheSignallingTap) {
  auto& fw = start("");
  ruleset::DiscoveredPorts ports;
  ports.sip = {{model::Proto::udp, 5070, 5070}};
  ports.rtp = model::PortRange{model::Proto::udp, 16384, 16999};
  const auto applied = applier_.applied.size();
  ASSERT_TRUE(fw.set_discovered_ports(ports).ok());
  ASSERT_EQ(applier_.applied.size(), applied + 1);
  const std::string& script = applier_.applied.back();
  EXPECT_TRUE(kernel::script_defines_table(script));
  EXPECT_NE(script.find("5070"), std::string::npos);
  EXPECT_NE(script.find("16384-16999"), std::string::npos);
  // Unchanged ports: no reload.
  ASSERT_TRUE(fw.set_discovered_ports(ports).ok());
  EXPECT_EQ(applier_.applied.size(), applied + 1);
  // The daemon now reads SIP on 5070.
  register_phone("300", 5070);
  EXPECT_TRUE(in_set(packets::SetKey::validated(kPhone)));
}

// The configuration's services name the ports the table enforces and, for those found in the
// PBX's files, the file and line they come from (chan_sip's bindport=5160 on FreePBX 16).
TEST_F(DaemonPbxTest, ConfigNamesWhereEachDiscoveredPortComesFrom) {
  auto& fw = start("");
  const auto view = view_of(pbx::discover(pbx::DiskFileSystem{}, std::string(PBXWALL_TEST_DATA) + "/asterisk/freepbx16"));
  EXPECT_EQ(view.ports.origins.at("udp/5160"), "sip_general_additional.conf:24");
  ASSERT_TRUE(fw.set_discovered_ports(view.ports).ok());
  const auto config = fw.handle({{"cmd", "config"}});
  const auto sip = std::find_if(config["services"].begin(), config["services"].end(), [](const auto& s) { return s["name"] == "sip"; });
  ASSERT_NE(sip, config["services"].end());
  EXPECT_TRUE((*sip)["discovered"].get<bool>());
  EXPECT_NE(std::find((*sip)["enforced_ports"].begin(), (*sip)["enforced_ports"].end(), "udp/5160"), (*sip)["enforced_ports"].end()) << *sip;
  EXPECT_EQ((*sip)["ports_from"]["udp/5160"], "sip_general_additional.conf:24") << *sip;
  for (const auto& p : (*sip)["enforced_ports"]) EXPECT_TRUE((*sip)["ports_from"].contains(p.get<std::string>())) << *sip;
  // A service the PBX does not configure keeps its built-in ports, from nowhere in the PBX.
  const auto ssh = std::find_if(config["services"].begin(), config["services"].end(), [](const auto& s) { return s["name"] == "ssh"; });
  EXPECT_FALSE((*ssh)["discovered"].get<bool>());
  EXPECT_TRUE((*ssh)["ports_from"].empty());
  // The same ports found on another line: the table stays, the listing follows.
  auto moved = view.ports;
  moved.origins["udp/5160"] = "sip_general_custom.conf:3";
  const auto applied = applier_.applied.size();
  ASSERT_TRUE(fw.set_discovered_ports(moved).ok());
  EXPECT_EQ(applier_.applied.size(), applied);
  const auto again = fw.handle({{"cmd", "config"}});
  for (const auto& s : again["services"]) {
    if (s["name"] == "sip") {
      EXPECT_EQ(s["ports_from"]["udp/5160"], "sip_general_custom.conf:3");
    }
  }
}

TEST_F(DaemonPbxTest, DiscoveredAccountsAreMergedWithConfiguredOnesForTheUnknownUserRule) {
  auto& fw = start("[pbx]\naccounts = [\"500\"]\n");
  EXPECT_EQ(fw.known_account("300"), false);
  EXPECT_EQ(fw.known_account("500"), true);
  fw.set_discovered_accounts(view_of(pbx::discover(pbx::DiskFileSystem{}, std::string(PBXWALL_TEST_DATA) + "/asterisk-lab"))
                                 .accounts);
  EXPECT_EQ(fw.discovered_accounts(), (std::vector<std::string>{"300", "301", "302", "333", "400"}));
  EXPECT_EQ(fw.known_account("300"), true);
  EXPECT_EQ(fw.known_account("400"), true);
  EXPECT_EQ(fw.known_account("500"), true) << "[pbx] accounts still count";
  EXPECT_EQ(fw.known_account("admin"), false);

  // A REGISTER for a name the PBX does not have counts as an unknown user, one for an
  // extension it has does not, whatever the PBX answers.
  const auto before = fw.engine().counters().unknown_users;
  register_phone("301");
  EXPECT_EQ(fw.engine().counters().unknown_users, before);
  inbound(ip("198.51.100.77"), phone_register("admin", 1, false));
  EXPECT_EQ(fw.engine().counters().unknown_users, before + 1);

  // Nothing configured and nothing discovered: not known, the rule stays out of the way.
  auto& bare = start("");
  EXPECT_EQ(bare.known_account("admin"), std::nullopt);
}

std::string scanner_options(const std::string& from) {
  return "OPTIONS sip:100@203.0.113.1 SIP/2.0\r\n"
         "Via: SIP/2.0/UDP " + from + ":5060;branch=z9hG4bK-spoof\r\n"
         "From: <sip:100@203.0.113.1>;tag=s1\r\nTo: <sip:100@203.0.113.1>\r\n"
         "Call-ID: spoofed-options\r\nCSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\n"
         "Content-Length: 0\r\n\r\n";
}

TEST_F(DaemonPbxTest, AnAddressValidatedBeforeARestartIsNotFramedByAForgedPacket) {
  start("");
  register_phone("300");
  ASSERT_TRUE(in_set(packets::SetKey::validated(kPhone)));
  // The registration runs out, then pbxwalld restarts: the memory comes from the database.
  clock_.advance(10min);
  firewall_->housekeeping();
  ASSERT_FALSE(in_set(packets::SetKey::validated(kPhone)));
  auto remembered = store_->remembered_since(clock_.now() - 24h);
  ASSERT_TRUE(remembered.ok());
  ASSERT_EQ(remembered->size(), 1u);
  EXPECT_EQ((*remembered)[0].address, "198.51.100.10");
  EXPECT_EQ((*remembered)[0].user, "300");
  auto& fw = start("");
  inbound(kPhone, scanner_options("198.51.100.10"));
  fw.flush();
  EXPECT_FALSE(blocked(kPhone)) << "a forged scanner packet from a recently validated address";
  EXPECT_GE(fw.engine().counters().spoof_guarded, 1u);
  const IpAddress stranger = ip("192.0.2.66");
  inbound(stranger, scanner_options("192.0.2.66"));
  fw.flush();
  EXPECT_TRUE(blocked(stranger));
}

TEST_F(DaemonPbxTest, VpnClientsAreValidatedWithTheDefaultServicesWhilePresent) {
  auto& fw = start("[users.default]\nservices = [\"ucp\", \"https\"]\n[vpn]\nopenvpn_status = \"/run/openvpn/status\"\n");
  const auto a = ip("192.0.2.40");
  const auto b = ip("2001:db8::40");
  fw.set_vpn_clients({a, b});
  EXPECT_TRUE(in_set(packets::SetKey::validated(a)));
  EXPECT_TRUE(in_set(packets::SetKey::validated(b)));
  EXPECT_TRUE(in_set(tcp_grant(a, 81)));
  EXPECT_TRUE(in_set(tcp_grant(b, 443)));
  fw.set_vpn_clients({b});
  EXPECT_FALSE(in_set(packets::SetKey::validated(a)));
  EXPECT_FALSE(in_set(tcp_grant(a, 81)));
  EXPECT_TRUE(in_set(tcp_grant(b, 443)));
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  ASSERT_EQ(valid->size(), 1u);
  EXPECT_EQ((*valid)[0].user, "vpn");
}

TEST(VpnClients, OpenVpnStatusVersions2And3) {
  const std::string v2 =
      "TITLE,OpenVPN 2.6.3 x86_64-pc-linux-gnu\n"
      "TIME,2026-11-25 02:00:00,1795579200\n"
      "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received\n"
      "CLIENT_LIST,alice,192.0.2.50:51234,10.8.0.2,,12345\n"
      "CLIENT_LIST,bob,[2001:db8::50]:1194,10.8.0.3,,1\r\n"
      "CLIENT_LIST,carol,udp4:198.51.100.50:40000,10.8.0.4,,1\n"
      "CLIENT_LIST,broken\n"
      "ROUTING_TABLE,10.8.0.2,alice,192.0.2.99:51234,2026-11-25 02:00:00\n"
      "END\n";
  // One address per client, each once, in IpAddress order (which need not put IPv4 first).
  const auto clients = openvpn_clients(v2);
  EXPECT_EQ(clients.size(), 3u);
  EXPECT_TRUE(std::is_sorted(clients.begin(), clients.end()));
  EXPECT_EQ((std::set<IpAddress>(clients.begin(), clients.end())),
            (std::set<IpAddress>{ip("192.0.2.50"), ip("198.51.100.50"), ip("2001:db8::50")}));
  const std::string v3 = "CLIENT_LIST\talice\t203.0.113.50:1194\t10.8.0.2\n";
  EXPECT_EQ(openvpn_clients(v3), std::vector<IpAddress>{ip("203.0.113.50")});
  EXPECT_TRUE(openvpn_clients("").empty());
}

TEST(VpnClients, WireGuardPeersWithARecentHandshake) {
  const TimePoint now{std::chrono::seconds(1'800'000'000)};
  const std::string dump =
      "wg0\tPRIVATEKEY=\tPUBLICKEY=\t51820\toff\n"
      "wg0\tPEER1=\t(none)\t192.0.2.60:51820\t10.9.0.2/32\t1799999990\t100\t200\t25\n"
      "wg0\tPEER2=\t(none)\t[2001:db8::60]:51820\t10.9.0.3/32\t1799998000\t100\t200\toff\n"
      "wg0\tPEER3=\t(none)\t(none)\t10.9.0.4/32\t0\t0\t0\toff\n";
  EXPECT_EQ(wireguard_clients(dump, now, 180s), std::vector<IpAddress>{ip("192.0.2.60")});
  // PEER2's handshake is 2000 s old: out at 3 minutes, in at an hour; PEER3 never shook hands.
  EXPECT_EQ(wireguard_clients(dump, now, 1h), (std::vector<IpAddress>{ip("2001:db8::60"), ip("192.0.2.60")}));
}

TEST(PbxView, PortsTrunksAndWatchedDirectoriesFromADiscovery) {
  pbx::Discovery d;
  d.root = "/etc/asterisk";
  auto port = [](pbx::PortRole role, pbx::L4 l4, std::uint16_t number) {
    pbx::ListeningPort p;
    p.role = role;
    p.l4 = l4;
    p.port = number;
    return p;
  };
  auto local = port(pbx::PortRole::sip, pbx::L4::tcp, 5080);
  local.bind_addresses = {"127.0.0.1"};
  d.signalling = {port(pbx::PortRole::sip, pbx::L4::udp, 5060), local, port(pbx::PortRole::iax, pbx::L4::udp, 4569)};
  d.rtp = pbx::PortRange{};
  d.rtp->first = 10000;
  d.rtp->last = 20000;
  d.webrtc = true;
  d.web = {port(pbx::PortRole::https, pbx::L4::tcp, 8089)};
  pbx::TrunkHost named;
  named.kind = pbx::HostKind::name;
  named.host = "sip.provider.example";
  pbx::TrunkHost literal;
  literal.kind = pbx::HostKind::address;
  literal.host = "192.0.2.7";
  literal.network = Cidr::parse("192.0.2.7/32");
  d.trunks = {named, literal};
  d.files_read = {"/etc/asterisk/pjsip.conf", "/etc/asterisk/custom/pjsip.x.conf"};
  d.files_missing = {"/etc/asterisk/pjsip_custom.conf"};
  const auto v = view_of(d);
  EXPECT_EQ(v.ports.sip, (std::vector<model::PortRange>{{model::Proto::udp, 5060, 5060}})) << "loopback-only left out";
  EXPECT_EQ(v.ports.iax, (std::vector<model::PortRange>{{model::Proto::udp, 4569, 4569}}));
  ASSERT_TRUE(v.ports.rtp);
  EXPECT_EQ(v.ports.rtp->last, 20000);
  EXPECT_EQ(v.ports.webrtc, (std::vector<model::PortRange>{{model::Proto::tcp, 8089, 8089}}));
  EXPECT_EQ(v.trunk_names, std::vector<std::string>{"sip.provider.example"});
  EXPECT_EQ(v.trunk_networks, std::vector<Cidr>{*Cidr::parse("192.0.2.7/32")});
  EXPECT_EQ(v.watch_directories, (std::vector<std::string>{"/etc/asterisk", "/etc/asterisk/custom"}));
}

// Each trunk host once, with its trunks, and what it is worth now: the sentences `status` and
// `discover` print and the overview's warning for a name that does not resolve.
TEST(TrunkStatus, HostsOnceWithTheirStateAndTheSentenceForEach) {
  pbx::Discovery d;
  auto host = [](pbx::HostKind kind, const char* h, const char* trunk, int line) {
    pbx::TrunkHost t;
    t.kind = kind;
    t.host = h;
    if (kind != pbx::HostKind::name) t.network = Cidr::parse(h);
    pbx::TrunkReference r;
    r.trunk = trunk;
    r.origin.file = "pjsip.conf";
    r.origin.line = line;
    t.references = {r};
    return t;
  };
  d.trunks = {host(pbx::HostKind::name, "sip.carrier1.example", "carrier1", 3),
              host(pbx::HostKind::name, "gone.example", "carrier2", 8),
              host(pbx::HostKind::name, "sip.carrier1.example", "carrier1-identify", 12),
              host(pbx::HostKind::address, "198.51.100.30", "leeds", 15)};
  const auto hosts = trunk_hosts_of(d);
  ASSERT_EQ(hosts.size(), 3u) << "a host named by a contact and an identify is one row";
  EXPECT_EQ(hosts[0].trunks, (std::vector<std::string>{"carrier1", "carrier1-identify"}));
  EXPECT_EQ(hosts[0].origins, (std::vector<std::string>{"pjsip.conf:3", "pjsip.conf:12"}));

  dns::TrunkNameState ok;
  ok.name = "sip.carrier1.example";
  ok.health = dns::TrunkHealth::resolved;
  ok.addresses = {ip("192.0.2.50")};
  ok.ttl = std::chrono::seconds(300);
  ok.answered = TimePoint(std::chrono::seconds(1'700'000'000));
  dns::TrunkNameState gone;
  gone.name = "gone.example";
  gone.health = dns::TrunkHealth::no_name;
  const auto items = trunk_status_json(hosts, {ok, gone});
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["state"], "resolved");
  EXPECT_EQ(items[0]["addresses"], nlohmann::json::array({"192.0.2.50"}));
  EXPECT_EQ(items[0]["ttl"], 300);
  EXPECT_EQ(items[0]["answered"], 1'700'000'000);
  EXPECT_EQ(items[0]["trusted"], true);
  EXPECT_EQ(items[1]["state"], "no_name");
  EXPECT_EQ(items[1]["trusted"], false);
  EXPECT_EQ(items[2]["state"], "literal");
  EXPECT_EQ(trunk_status_line(items[0]),
            "trunk carrier1, carrier1-identify sip.carrier1.example: resolves to 192.0.2.50 (TTL 5 min)");
  EXPECT_EQ(trunk_status_line(items[1]), "trunk carrier2 gone.example: does not resolve (NXDOMAIN) — its traffic is not trusted");
  EXPECT_EQ(trunk_status_line(items[2]), "trunk leeds 198.51.100.30: written as an address, trusted");

  dns::TrunkNameState failing = gone;
  failing.health = dns::TrunkHealth::failing;
  failing.error = "Could not contact DNS servers";
  EXPECT_EQ(trunk_status_line(trunk_status_json(hosts, {ok, failing})[1]),
            "trunk carrier2 gone.example: does not resolve (Could not contact DNS servers) — its traffic is not trusted");
  ok.error = "Timeout while contacting DNS servers";
  EXPECT_EQ(trunk_status_line(trunk_status_json(hosts, {ok, gone})[0]),
            "trunk carrier1, carrier1-identify sip.carrier1.example: resolves to 192.0.2.50 (TTL 5 min); the latest lookup "
            "failed (Timeout while contacting DNS servers), the last answer is kept");
  EXPECT_EQ(trunk_status_json(hosts, {}, "no resolver")[0]["error"], "no resolver") << "a name never asked";

  nlohmann::json overview = {{"warnings", nlohmann::json::array()}};
  add_trunk_status("overview", hosts, {ok, gone}, "", overview);
  ASSERT_EQ(overview["warnings"].size(), 1u) << overview.dump();
  EXPECT_EQ(overview["warnings"][0]["host"], "gone.example");
  nlohmann::json list = {{"items", nlohmann::json::array()}};
  add_trunk_status("list", hosts, {ok, gone}, "", list);
  EXPECT_FALSE(list.contains("trunks"));
}

}  // namespace
}  // namespace pbxwall::daemon
