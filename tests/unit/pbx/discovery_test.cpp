// Discovery rules over small in-memory configurations: one behaviour per test.
#include "pbx/discovery.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace pbxwall::pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kRoot = "/etc/asterisk";

Discovery run(std::initializer_list<std::pair<std::string, std::string>> files) {
  MemoryFileSystem fs;
  for (const auto& [name, text] : files) fs.add(kRoot + "/" + name, text);
  return discover(fs, kRoot);
}

std::vector<std::string> ports(const std::vector<ListeningPort>& list) {
  std::vector<std::string> out;
  for (const auto& p : list)
    out.push_back(std::string(to_string(p.role)) + " " + p.protocol + "/" + std::to_string(p.port) + " " + p.driver);
  return out;
}

std::vector<std::string> hosts(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& t : d.trunks) out.push_back(t.host + (t.port ? ":" + std::to_string(t.port) : ""));
  return out;
}

std::vector<std::string> texts(const Diagnostics& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.str());
  return out;
}

TEST(Discovery, EmptyTreeFindsNothing) {
  auto d = run({});
  EXPECT_THAT(d.signalling, IsEmpty());
  EXPECT_FALSE(d.rtp);
  EXPECT_THAT(d.web, IsEmpty());
  EXPECT_THAT(d.ami, IsEmpty());
  EXPECT_THAT(d.diagnostics, IsEmpty());
  EXPECT_THAT(d.files_missing, ::testing::Contains(kRoot + "/pjsip.conf"));
}

TEST(Discovery, PjsipTransportDefaultsAndTypes) {
  auto d = run({{"pjsip.conf",
                 "[t-udp]\ntype=transport\nbind=0.0.0.0\n"            // protocol defaults to udp, port to 5060
                 "[t-tls]\ntype=transport\nprotocol=TLS\nbind=0.0.0.0\n"  // tls defaults to 5061
                 "[t-tcp]\ntype=transport\nprotocol=tcp\nbind=192.0.2.10:5070\n"
                 "[t-ws]\ntype=transport\nprotocol=ws\nbind=0.0.0.0\n"
                 "[tmpl](!)\ntype=transport\nbind=0.0.0.0:6000\n"}});
  EXPECT_THAT(ports(d.signalling), ElementsAre("sip udp/5060 pjsip", "sip tls/5061 pjsip", "sip tcp/5070 pjsip"));
  EXPECT_TRUE(d.signalling[0].is_default);
  EXPECT_FALSE(d.signalling[2].is_default);
  EXPECT_THAT(d.signalling[2].bind_addresses, ElementsAre("192.0.2.10"));
  EXPECT_EQ(d.signalling[2].origin.str(), "/etc/asterisk/pjsip.conf:11 [t-tcp] bind");
  EXPECT_TRUE(d.webrtc);
  ASSERT_TRUE(d.rtp);  // SIP without rtp.conf: Asterisk's built-in range
  EXPECT_TRUE(d.rtp->is_default);
  EXPECT_EQ(d.rtp->first, 5000);
  EXPECT_EQ(d.rtp->last, 31000);
}

TEST(Discovery, SamePortOnTwoAddressesIsOneEntry) {
  auto d = run({{"pjsip.conf", "[a]\ntype=transport\nbind=0.0.0.0:5060\n[b]\ntype=transport\nbind=[::]:5060\n"}});
  ASSERT_EQ(d.signalling.size(), 1u);
  EXPECT_THAT(d.signalling[0].bind_addresses, ElementsAre("0.0.0.0", "::"));
  EXPECT_EQ(d.signalling[0].origin.line, 3);
}

TEST(Discovery, BadTransportsAreReported) {
  auto d = run({{"pjsip.conf",
                 "[a]\ntype=transport\nprotocol=sctp\nbind=0.0.0.0\n"
                 "[b]\ntype=transport\nbind=host.example:5060\n"
                 "[c]\ntype=transport\nprotocol=udp\n"}});
  EXPECT_THAT(d.signalling, IsEmpty());
  EXPECT_THAT(texts(d.diagnostics),
              ElementsAre("/etc/asterisk/pjsip.conf:3: warning: a.protocol: transport protocol 'sctp' is not udp, tcp, "
                          "tls, ws or wss; ignored",
                          "/etc/asterisk/pjsip.conf:7: error: b.bind: bind='host.example:5060': not an IP address",
                          "/etc/asterisk/pjsip.conf:8: warning: c: transport has no bind=; res_pjsip refuses to start it"));
}

TEST(Discovery, TrunkHostsFromPjsipObjects) {
  auto d = run({{"pjsip.conf",
                 "[prov]\ntype=aor\ncontact=sip:gw1.prov.example:5060,sip:gw2.prov.example\n"
                 "[prov]\ntype=registration\nendpoint=prov-ep\nserver_uri=sips:reg.prov.example\n"
                 "client_uri=sip:me@reg.prov.example\noutbound_proxy=sip:proxy.prov.example\\;lr\n"
                 "[prov]\ntype=identify\nendpoint=prov-ep\nmatch=203.0.113.0/24, 203.0.113.200 ,!203.0.113.7\n"
                 "[ext]\ntype=aor\nmax_contacts=1\n"}});
  EXPECT_THAT(hosts(d), ElementsAre("gw1.prov.example:5060", "gw2.prov.example", "reg.prov.example",
                                    "proxy.prov.example", "203.0.113.0/24", "203.0.113.200"));
  const auto& reg = d.trunks[2];
  EXPECT_EQ(reg.transport, "tls");  // sips:
  ASSERT_EQ(reg.references.size(), 2u);  // server_uri and client_uri
  EXPECT_EQ(reg.references[0].trunk, "prov-ep");
  EXPECT_EQ(reg.references[0].via, "pjsip registration server_uri");
  EXPECT_EQ(reg.references[1].via, "pjsip registration client_uri");
  EXPECT_EQ(d.trunks[4].kind, HostKind::network);
  EXPECT_EQ(d.trunks[5].kind, HostKind::address);
  EXPECT_EQ(d.trunks[0].kind, HostKind::name);
  EXPECT_THAT(texts(d.diagnostics),
              ElementsAre("/etc/asterisk/pjsip.conf:13: warning: prov.match: '!203.0.113.7' excludes addresses; not a "
                          "trunk host"));
}

TEST(Discovery, TemplateTypeIsInheritedAndTemplatesAreNotTrunks) {
  auto d = run({{"pjsip.conf",
                 "[carrier](!)\ntype=aor\ncontact=sip:template-only.example\n"
                 "[c1](carrier)\ncontact=sip:c1.example\n"}});
  // c1 inherits both type and the template's contact; the template itself is not an object.
  EXPECT_THAT(hosts(d), ElementsAre("template-only.example", "c1.example"));
  EXPECT_EQ(d.trunks[0].references.size(), 1u);
  EXPECT_EQ(d.trunks[0].references[0].trunk, "c1");
}

TEST(Discovery, BadTrunkValuesAreWarnedNotFatal) {
  auto d = run({{"pjsip.conf",
                 "[x]\ntype=aor\ncontact=gw.example\n"
                 "[y]\ntype=identify\nmatch=0.0.0.0/0\nmatch=203.0.113.0/255.0.255.0\nmatch=good.example\n"}});
  EXPECT_THAT(hosts(d), ElementsAre("good.example"));
  EXPECT_THAT(texts(d.diagnostics),
              ElementsAre("/etc/asterisk/pjsip.conf:3: warning: x.contact: 'gw.example': no sip: or sips: scheme; ignored",
                          "/etc/asterisk/pjsip.conf:6: warning: y.match: '0.0.0.0/0' would trust every address; ignored",
                          "/etc/asterisk/pjsip.conf:7: warning: y.match: '203.0.113.0/255.0.255.0': netmask has "
                          "non-contiguous bits; ignored"));
}

TEST(Discovery, PjsipWizardRemoteHosts) {
  auto d = run({{"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n"},
                {"pjsip_wizard.conf",
                 "[trunk-tmpl](!)\ntype=wizard\nsends_registrations=yes\n"
                 "[itsp](trunk-tmpl)\nremote_hosts=sip1.itsp.example:5060, 203.0.113.70\n"
                 "[phone]\ntype=wizard\naccepts_registrations=yes\n"}});
  EXPECT_THAT(hosts(d), ElementsAre("sip1.itsp.example:5060", "203.0.113.70"));
  EXPECT_EQ(d.trunks[0].references[0].trunk, "itsp");
  EXPECT_EQ(d.trunks[0].references[0].via, "pjsip wizard remote_hosts");
  EXPECT_EQ(d.trunks[1].references[0].origin.line, 5);

  auto off = run({{"modules.conf", "[modules]\nautoload=yes\nnoload=res_pjsip_config_wizard.so\n"},
                  {"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n"},
                  {"pjsip_wizard.conf", "[itsp]\ntype=wizard\nremote_hosts=sip1.itsp.example\n"}});
  EXPECT_TRUE(off.trunks.empty());
}

TEST(Discovery, ChanSipGeneralSettings) {
  auto d = run({{"sip.conf",
                 "[general]\nbindaddr=192.0.2.10:5070\nbindport=5160\ntcpenable=yes\ntlsenable=yes\n"
                 "tlsbindaddr=0.0.0.0\n"}});
  // A port inside bindaddr wins over bindport; tcp defaults to 5060, tls to 5061.
  EXPECT_THAT(ports(d.signalling),
              ElementsAre("sip udp/5070 chan_sip", "sip tcp/5060 chan_sip", "sip tls/5061 chan_sip"));
  EXPECT_EQ(d.signalling[0].origin.key, "bindaddr");
  EXPECT_EQ(d.signalling[1].origin.key, "tcpenable");
  EXPECT_THAT(d.signalling[0].bind_addresses, ElementsAre("192.0.2.10"));
}

TEST(Discovery, ChanSipDefaultPortWithoutSettings) {
  auto d = run({{"sip.conf", "[general]\ncontext=default\n"}});
  ASSERT_EQ(d.signalling.size(), 1u);
  EXPECT_EQ(d.signalling[0].port, 5060);
  EXPECT_TRUE(d.signalling[0].is_default);
  EXPECT_EQ(d.signalling[0].origin.str(), "/etc/asterisk/sip.conf:1 [general]");
}

TEST(Discovery, ChanSipPeers) {
  auto d = run({{"sip.conf",
                 "[general]\nregister => trunk1?user:pw@reg.example:5080/100~3600\nregister=tcp://u2@reg2.example\n"
                 "[trunk1]\ntype=peer\nhost=sip.trunk1.example\nport=5080\ntransport=tcp,udp\n"
                 "permit=203.0.113.16/255.255.255.240\noutboundproxy=udp://proxy.trunk1.example:5062,force\n"
                 "[phone]\ntype=friend\nhost=dynamic\npermit=198.51.100.0/24\n"
                 "[user-only]\ntype=user\nhost=203.0.113.99\n"
                 "[untyped]\nhost=203.0.113.98\n"
                 "[tmpl](!)\ntype=peer\nhost=203.0.113.97\n"}});
  EXPECT_THAT(hosts(d), ElementsAre("reg.example:5080", "reg2.example", "sip.trunk1.example:5080", "203.0.113.16/28",
                                    "proxy.trunk1.example:5062"));
  EXPECT_EQ(d.trunks[0].references[0].trunk, "trunk1");
  EXPECT_EQ(d.trunks[1].transport, "tcp");
  EXPECT_EQ(d.trunks[2].transport, "tcp");
  EXPECT_EQ(d.trunks[4].transport, "udp");
  EXPECT_EQ(d.trunks[3].references[0].via, "chan_sip permit");
}

TEST(Discovery, IaxPortAndPeers) {
  auto d = run({{"iax.conf",
                 "[general]\nbindport=4570\nregister => me:pw@iax.reg.example\n"
                 "[branch]\ntype=friend\nhost=203.0.113.40\n"
                 "[phone]\ntype=friend\nhost=dynamic\n"}});
  EXPECT_THAT(ports(d.signalling), ElementsAre("iax udp/4570 chan_iax2"));
  EXPECT_THAT(hosts(d), ElementsAre("iax.reg.example", "203.0.113.40"));
  EXPECT_FALSE(d.rtp);  // IAX2 carries its media in its own stream
}

TEST(Discovery, BadPortSettingsAreErrors) {
  auto d = run({{"sip.conf", "[general]\nbindport=70000\n"}, {"iax.conf", "[general]\nbindaddr=not-an-ip\n"}});
  EXPECT_THAT(d.signalling, IsEmpty());
  EXPECT_THAT(texts(d.diagnostics),
              ElementsAre("/etc/asterisk/sip.conf:2: error: general.bindport: '70000' is not a port number in 1..65535",
                          "/etc/asterisk/iax.conf:2: error: general.bindaddr: 'not-an-ip': not an IP address"));
}

TEST(Discovery, ModulesConfNoloadDisablesDrivers) {
  auto d = run({{"modules.conf", "[modules]\nautoload=yes\nnoload => chan_sip.so\n"},
                {"sip.conf", "[general]\nbindport=5160\n"},
                {"iax.conf", "[general]\n"},
                {"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n"}});
  EXPECT_THAT(ports(d.signalling), ElementsAre("sip udp/5060 pjsip", "iax udp/4569 chan_iax2"));
}

TEST(Discovery, ModulesConfWithoutAutoloadNeedsLoadLines) {
  auto d = run({{"modules.conf", "[modules]\nautoload=no\nload = chan_iax2.so\n"},
                {"sip.conf", "[general]\n"},
                {"iax.conf", "[general]\n"}});
  EXPECT_THAT(ports(d.signalling), ElementsAre("iax udp/4569 chan_iax2"));
}

TEST(Discovery, RtpRangeAndItsChecks) {
  auto ok = run({{"rtp.conf", "[general]\nrtpstart=16384\nrtpend=32767\n"}});
  ASSERT_TRUE(ok.rtp);
  EXPECT_EQ(ok.rtp->first, 16384);
  EXPECT_EQ(ok.rtp->last, 32767);
  EXPECT_EQ(ok.rtp->origin.str(), "/etc/asterisk/rtp.conf:2 [general] rtpstart");

  auto swapped = run({{"rtp.conf", "[general]\nrtpstart=20000\nrtpend=10000\n"}});
  ASSERT_TRUE(swapped.rtp);
  EXPECT_EQ(swapped.rtp->first, 5000);
  EXPECT_EQ(swapped.rtp->last, 31000);
  EXPECT_THAT(texts(swapped.diagnostics),
              ElementsAre("/etc/asterisk/rtp.conf:2: warning: general.rtpstart: rtpstart 20000 is not below rtpend "
                          "10000; Asterisk falls back to 5000-31000"));

  auto clamped = run({{"rtp.conf", "[general]\nrtpstart=80\nrtpend=ten\n"}});
  ASSERT_TRUE(clamped.rtp);
  EXPECT_EQ(clamped.rtp->first, 1024);
  EXPECT_EQ(clamped.rtp->last, 31000);
  EXPECT_EQ(clamped.diagnostics.size(), 2u);
}

TEST(Discovery, SecondGeneralSectionIsIgnoredWithAWarning) {
  auto d = run({{"rtp.conf", "[general]\n#include rtp_additional.conf\n"},
                {"rtp_additional.conf", "[general]\nrtpstart=10000\nrtpend=20000\n"}});
  ASSERT_TRUE(d.rtp);
  EXPECT_EQ(d.rtp->first, 5000);  // as Asterisk: the first [general] has no rtpstart
  EXPECT_THAT(texts(d.diagnostics),
              ElementsAre("/etc/asterisk/rtp_additional.conf:1: warning: general: a second [general] section; Asterisk "
                          "reads only the first, at /etc/asterisk/rtp.conf:1 (use [general](+) to add to it)"));
}

TEST(Discovery, HttpServer) {
  auto off = run({{"http.conf", "[general]\nbindport=8088\n"}});
  EXPECT_THAT(off.web, IsEmpty());  // disabled unless enabled=yes

  auto on = run({{"http.conf", "[general]\nenabled=yes\nbindaddr=127.0.0.1\ntlsenable=yes\ntlsbindaddr=0.0.0.0:8443\n"}});
  EXPECT_THAT(ports(on.web), ElementsAre("http http/8088 http", "https https/8443 http"));
  EXPECT_TRUE(on.web[0].is_default);
  EXPECT_TRUE(on.web[0].loopback_only());
  EXPECT_FALSE(on.web[1].loopback_only());

  auto legacy = run({{"http.conf", "[general]\nenabled=yes\ntlsenable=yes\ntlsbindport=8090\n"}});
  EXPECT_THAT(ports(legacy.web), ElementsAre("http http/8088 http", "https https/8090 http"));
}

TEST(Discovery, ManagerInterface) {
  auto d = run({{"manager.conf", "[general]\nenabled = yes\nport = 5039\nbindaddr = 127.0.0.1\ntlsenable=yes\n"}});
  EXPECT_THAT(ports(d.ami), ElementsAre("ami ami/5039 manager", "ami-tls ami-tls/5039 manager"));
  EXPECT_TRUE(d.ami[0].loopback_only());
  auto off = run({{"manager.conf", "[general]\nenabled = no\nport = 5038\n"}});
  EXPECT_THAT(off.ami, IsEmpty());
}

TEST(Discovery, DuplicateHostsMergeTheirReferences) {
  auto d = run({{"pjsip.conf",
                 "[a]\ntype=aor\ncontact=sip:GW.example:5060\n"
                 "[b]\ntype=aor\ncontact=sip:gw.example:5060\n"}});
  ASSERT_EQ(d.trunks.size(), 1u);
  ASSERT_EQ(d.trunks[0].references.size(), 2u);
  EXPECT_EQ(d.trunks[0].references[0].trunk, "a");
  EXPECT_EQ(d.trunks[0].references[1].trunk, "b");
  EXPECT_EQ(d.trunks[0].references[1].origin.line, 6);
}

TEST(Discovery, ConfigErrorsReachTheResult) {
  auto d = run({{"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n#include missing.conf\n"}});
  EXPECT_EQ(d.signalling.size(), 1u);
  EXPECT_TRUE(has_errors(d.diagnostics));
  EXPECT_THAT(d.diagnostics[0].str(), HasSubstr("/etc/asterisk/pjsip.conf:4: error: #include missing.conf"));
}

TEST(Discovery, RootWithTrailingSlash) {
  MemoryFileSystem fs;
  fs.add("/srv/pbx/etc/pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n");
  auto d = discover(fs, "/srv/pbx/etc/");
  EXPECT_EQ(d.root, "/srv/pbx/etc");
  EXPECT_EQ(d.signalling.size(), 1u);
}


std::vector<std::string> accounts(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& a : d.accounts) out.push_back(a.name + " " + a.driver + " " + a.via + " " + std::to_string(a.origin.line));
  return out;
}

TEST(Discovery, PjsipAccountsFromEndpointsAorsAndAuthUsernames) {
  auto d = run({{"pjsip.conf",
                 "[200]\ntype=endpoint\nauth=200-auth\naors=200\n"   // 1
                 "[200]\ntype=aor\nmax_contacts=1\n"                  // 5
                 "[200-auth]\ntype=auth\nusername=200\npassword=x\n"  // 8
                 "[alice-auth]\ntype=auth\nusername=alice\n"         // 12
                 "[noname]\ntype=auth\npassword=y\n"                 // 15
                 "[phone](!)\ntype=endpoint\n"                        // 18: a template is no account
                 "[t]\ntype=transport\nbind=0.0.0.0\n"}});
  EXPECT_THAT(accounts(d), ElementsAre("200 pjsip pjsip endpoint 1", "alice pjsip pjsip auth username 14",
                                       "noname pjsip pjsip auth 15"));
  EXPECT_THAT(account_names(d), ElementsAre("200", "alice", "noname"));
}

TEST(Discovery, WizardChanSipAndIaxAccounts) {
  auto d = run({{"modules.conf", "[modules]\nautoload=yes\n"},
                {"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n"},
                {"pjsip_wizard.conf", "[500]\ntype=wizard\naccepts_registrations=yes\ninbound_auth/username=u500\n"},
                {"sip.conf", "[general]\nbindport=5160\n[600]\ntype=friend\nhost=dynamic\n[601]\ntype=user\n"
                             "[gw]\ntype=peer\nhost=192.0.2.9\n[tmpl](!)\ntype=friend\n[x]\ncontext=none\n"},
                {"iax.conf", "[general]\n[700]\ntype=friend\nhost=dynamic\n"}});
  EXPECT_THAT(account_names(d), ElementsAre("500", "600", "601", "700", "gw", "u500"));
  EXPECT_THAT(accounts(d), ::testing::Contains("700 chan_iax2 chan_iax2 friend 2"));
  // The same name in two drivers is two accounts; account_names lists it once.
  auto both = run({{"sip.conf", "[800]\ntype=friend\n"}, {"iax.conf", "[800]\ntype=friend\n[800]\ntype=friend\n"}});
  EXPECT_EQ(both.accounts.size(), 2u);
  EXPECT_THAT(account_names(both), ElementsAre("800"));
}

TEST(Discovery, NoAccountsWithoutConfiguration) {
  EXPECT_THAT(run({}).accounts, IsEmpty());
  EXPECT_THAT(account_names(run({{"pjsip.conf", "[t]\ntype=transport\nbind=0.0.0.0\n"}})), IsEmpty());
}

}  // namespace
}  // namespace pbxwall::pbx
