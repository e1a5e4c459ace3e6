#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/model.h"

namespace pbxwall::model {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Diagnostics errors_of(std::string_view text) {
  auto r = load_string(text, "t.toml");
  EXPECT_FALSE(r.ok()) << "expected the configuration to be rejected:\n" << text;
  if (r.ok()) return {};
  return r.error();
}

// The one error of `text`, as printed: "t.toml:L:C: error: key: message".
std::string only_error(std::string_view text) {
  auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1u);
  std::string all;
  for (const auto& d : errors) all += d.str() + "\n";
  if (errors.size() != 1) ADD_FAILURE() << all;
  return errors.empty() ? std::string() : errors.front().str();
}

TEST(Load, EmptyFileGivesSafeDefaults) {
  auto r = load_string("", "t.toml");
  ASSERT_TRUE(r.ok());
  const auto& p = r->policy;
  EXPECT_TRUE(p.enabled);
  EXPECT_FALSE(p.reject);
  EXPECT_TRUE(p.safe_mode);
  EXPECT_EQ(p.safe_mode_seconds, 60);
  EXPECT_TRUE(p.interfaces.empty());
  EXPECT_TRUE(p.networks.empty());
  EXPECT_TRUE(p.responsive.enabled);
  EXPECT_TRUE(p.responsive.sip);
  EXPECT_TRUE(p.responsive.iax);
  EXPECT_EQ(p.services.size(), builtin_services().size());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(Load, BuiltinServicesHaveFreePbxDefaults) {
  auto r = load_string("", "t.toml");
  ASSERT_TRUE(r.ok());
  const auto& p = r->policy;
  auto ports = [&](std::string_view name) {
    std::string s;
    const auto* svc = p.find_service(name);
    if (!svc) return std::string("missing");
    for (const auto& pr : svc->ports) s += (s.empty() ? "" : " ") + pr.str();
    return s;
  };
  EXPECT_EQ(ports("ssh"), "tcp/22");
  EXPECT_EQ(ports("sip"), "tcp/5060 tcp/5061 udp/5060");
  EXPECT_EQ(ports("iax"), "udp/4569");
  EXPECT_EQ(ports("rtp"), "udp/10000-20000");
  EXPECT_EQ(ports("provisioning"), "tcp/84 tcp/1443 udp/69");
  EXPECT_EQ(ports("webrtc"), "tcp/8088 tcp/8089");
  EXPECT_EQ(ports("ucp"), "tcp/81");
  EXPECT_EQ(ports("ucp_ssl"), "tcp/4443");
  EXPECT_EQ(ports("ntp"), "udp/123");
  EXPECT_EQ(ports("vpn"), "udp/1194");
  EXPECT_EQ(ports("http"), "tcp/80");
  EXPECT_EQ(ports("https"), "tcp/443");
  EXPECT_EQ(p.find_service("rtp")->zones, (std::set<Zone>{Zone::local, Zone::other, Zone::internet}));
  EXPECT_EQ(p.find_service("sip")->zones, (std::set<Zone>{Zone::local, Zone::other}));
  EXPECT_EQ(p.find_service("ssh")->zones, (std::set<Zone>{Zone::local}));
  EXPECT_TRUE(std::is_sorted(p.services.begin(), p.services.end(),
                             [](const Service& a, const Service& b) { return a.name < b.name; }));
}

TEST(Load, FullExampleFromFile) {
  auto r = load_file(PBXWALL_TEST_DATA "/config/example.toml");
  ASSERT_TRUE(r.ok()) << r.error().front().str();
  const auto& p = r->policy;
  EXPECT_TRUE(p.enabled);
  ASSERT_EQ(p.interfaces.size(), 1u);
  EXPECT_EQ(p.interfaces.at("eth0"), Zone::internet);
  ASSERT_EQ(p.networks.size(), 2u);
  EXPECT_EQ(p.networks[0].text, "198.51.100.0/24");
  EXPECT_EQ(p.networks[0].zone, Zone::trusted);
  EXPECT_EQ(p.networks[0].line, 11);
  EXPECT_EQ(p.networks[1].cidr->str(), "2001:db8:10::/48");
  EXPECT_EQ(p.networks[1].zone, Zone::local);
  const auto* crm = p.find_service("crm");
  ASSERT_NE(crm, nullptr);
  EXPECT_FALSE(crm->builtin);
  ASSERT_EQ(crm->ports.size(), 2u);
  EXPECT_EQ(crm->ports[0].str(), "tcp/8443");
  EXPECT_EQ(crm->ports[1].str(), "udp/7000-7010");
  EXPECT_EQ(crm->zones, (std::set<Zone>{Zone::local, Zone::other}));
  ASSERT_NE(r->table, nullptr);
  EXPECT_EQ((*r->table)["responsive"]["enabled"].value<bool>(), true);
}

// The example the package ships opens nothing a PBX does not need: no custom service, no
// network beyond the one trusted placeholder.
TEST(Load, ShippedExampleOpensNothingExtra) {
  auto r = load_file(PBXWALL_TEST_DATA "/../../packaging/example.toml");
  ASSERT_TRUE(r.ok()) << r.error().front().str();
  const auto& p = r->policy;
  ASSERT_EQ(p.networks.size(), 1u);
  EXPECT_EQ(p.networks[0].zone, Zone::trusted);
  for (const auto& s : p.services) EXPECT_TRUE(s.builtin) << s.name;
}

TEST(Load, MissingFileNamesThePath) {
  auto r = load_file("/nonexistent/pbxwall.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().front().str(),
            "/nonexistent/pbxwall.toml: error: cannot read: No such file or directory");
}

TEST(Load, SyntaxErrorHasPosition) {
  EXPECT_THAT(only_error("[firewall]\nenabled = \n"), StartsWith("t.toml:2:"));
}

TEST(Errors, UnknownZone) {
  EXPECT_EQ(only_error("[networks]\n\"192.0.2.0/24\" = \"trustd\"\n"),
            "t.toml:2:18: error: networks.\"192.0.2.0/24\": unknown zone 'trustd'; did you mean 'trusted'? "
            "(zones: trusted, local, other, internet, reject)");
  EXPECT_THAT(only_error("[interfaces]\neth0 = \"lan\"\n"),
              StartsWith("t.toml:2:8: error: interfaces.eth0: unknown zone 'lan'"));
  EXPECT_THAT(only_error("[services.ssh]\nzones = [\"local\", \"intranet\"]\n"),
              StartsWith("t.toml:2:19: error: services.ssh.zones[1]: unknown zone 'intranet'"));
}

TEST(Errors, BadCidrUsesTheParsersReason) {
  EXPECT_EQ(only_error("[networks]\n\"10.0.0.1/8\" = \"local\"\n"),
            "t.toml:2:1: error: networks.\"10.0.0.1/8\": bad address or CIDR: address has bits set "
            "beyond the prefix length (did you mean 10.0.0.0/8?)");
  EXPECT_THAT(only_error("[networks]\n\"192.0.2.0/33\" = \"local\"\n"),
              HasSubstr("networks.\"192.0.2.0/33\": bad address or CIDR: prefix length must be 0..32"));
  EXPECT_THAT(only_error("[networks]\n\"10.0.0.300\" = \"local\"\n"),
              HasSubstr("t.toml:2:1: error: networks.\"10.0.0.300\": bad address or CIDR"));
  EXPECT_THAT(only_error("[networks]\n\"2001:db8::g\" = \"local\"\n"),
              HasSubstr("bad address or CIDR"));
}

TEST(Errors, InvalidHostname) {
  EXPECT_EQ(only_error("[networks]\n\"bad_host.example.com\" = \"other\"\n"),
            "t.toml:2:1: error: networks.\"bad_host.example.com\": not an address, CIDR or valid "
            "DNS hostname");
  EXPECT_THAT(only_error("[networks]\n\"-x.example.com\" = \"other\"\n"), HasSubstr("hostname"));
}

TEST(Errors, BadPorts) {
  const std::string head = "[[custom_services]]\nname = \"x\"\n";
  EXPECT_EQ(only_error(head + "ports = [\"tcp/0\"]\n"),
            "t.toml:3:10: error: custom_services[0].ports[0]: bad port 'tcp/0': port must be 1..65535");
  EXPECT_EQ(only_error(head + "ports = [\"udp/1\", \"udp/65536\"]\n"),
            "t.toml:3:19: error: custom_services[0].ports[1]: bad port 'udp/65536': port must be 1..65535");
  EXPECT_EQ(only_error(head + "ports = [\"udp/7010-7000\"]\n"),
            "t.toml:3:10: error: custom_services[0].ports[0]: bad port 'udp/7010-7000': range "
            "start is greater than its end");
  EXPECT_THAT(only_error(head + "ports = [\"8443\"]\n"),
              HasSubstr("t.toml:3:10: error: custom_services[0].ports[0]: bad port '8443': expected "
                        "PROTO/PORT"));
  EXPECT_THAT(only_error(head + "ports = [\"sctp/5060\"]\n"), HasSubstr("protocol must be tcp or udp"));
  EXPECT_THAT(only_error(head + "ports = [\"tcp/http\"]\n"), HasSubstr("is not a number"));
  EXPECT_THAT(only_error("[services.sip]\nports = [\"udp/99999999999999999999\"]\n"),
              HasSubstr("services.sip.ports[0]: bad port"));
}

TEST(Errors, EmptyPortList) {
  EXPECT_EQ(only_error("[services.ssh]\nports = []\n"),
            "t.toml:2:9: error: services.ssh.ports: empty port list (a service needs at least one port)");
}

TEST(Errors, UnknownService) {
  EXPECT_THAT(only_error("[services.telnet]\nzones = [\"local\"]\n"),
              StartsWith("t.toml:1:11: error: services.telnet: unknown service (built-in: http, https"));
}

TEST(Errors, DuplicateNetwork) {
  EXPECT_EQ(only_error("[networks]\n\"192.0.2.1\" = \"local\"\n\"192.0.2.1/32\" = \"other\"\n"),
            "t.toml:3:1: error: networks.\"192.0.2.1/32\": duplicate network: same as "
            "\"192.0.2.1\" on line 2");
  EXPECT_EQ(only_error("[networks]\n\"2001:db8::/32\" = \"local\"\n\"2001:0db8:0::/32\" = \"other\"\n"),
            "t.toml:3:1: error: networks.\"2001:0db8:0::/32\": duplicate network: same as "
            "\"2001:db8::/32\" on line 2");
  EXPECT_EQ(only_error("[networks]\n\"pbx.example.com\" = \"local\"\n\"PBX.Example.com\" = \"other\"\n"),
            "t.toml:3:1: error: networks.\"PBX.Example.com\": duplicate network: same as "
            "\"pbx.example.com\" on line 2");
}

TEST(Errors, CustomServiceNameClashesWithBuiltin) {
  EXPECT_EQ(only_error("[[custom_services]]\nname = \"sip\"\nports = [\"udp/5070\"]\n"),
            "t.toml:2:8: error: custom_services[0].name: 'sip' is a built-in service; change it "
            "with [services.sip] instead");
  EXPECT_THAT(only_error("[[custom_services]]\nname = \"a\"\nports = [\"udp/1\"]\n"
                         "[[custom_services]]\nname = \"a\"\nports = [\"udp/2\"]\n"),
              StartsWith("t.toml:5:8: error: custom_services[1].name: duplicate custom service 'a' "
                         "(first on line 2)"));
  EXPECT_EQ(only_error("[[custom_services]]\nports = [\"udp/5070\"]\n"),
            "t.toml:1:1: error: custom_services[0]: missing 'name'");
}

TEST(Errors, WrongValueType) {
  EXPECT_EQ(only_error("[firewall]\nenabled = \"yes\"\n"),
            "t.toml:2:11: error: firewall.enabled: expected a boolean (true or false), found a string");
  EXPECT_EQ(only_error("[networks]\n\"192.0.2.0/24\" = 1\n"),
            "t.toml:2:18: error: networks.\"192.0.2.0/24\": expected a zone name (string), found an integer");
  EXPECT_EQ(only_error("[services.ssh]\nzones = \"local\"\n"),
            "t.toml:2:9: error: services.ssh.zones: expected an array of zone names, found a string");
  EXPECT_THAT(only_error("networks = 3\n"), StartsWith("t.toml:1:12: error: networks: expected a table"));
  EXPECT_THAT(only_error("[firewall]\nsafe_mode_seconds = 5\n"),
              StartsWith("t.toml:2:21: error: firewall.safe_mode_seconds: must be between 10 and 3600"));
}

TEST(Errors, UnknownKeysAndSections) {
  EXPECT_EQ(only_error("[firewall]\nenabeld = true\n"),
            "t.toml:2:1: error: firewall.enabeld: unknown key; did you mean 'enabled'? (known: enabled, reject, safe_mode, "
            "safe_mode_seconds)");
  EXPECT_THAT(only_error("[firewal]\nenabled = true\n"),
              StartsWith("t.toml:1:2: error: firewal: unknown section; did you mean 'firewall'? (known: firewall, interfaces"));
  EXPECT_THAT(only_error("[services.ssh]\nzone = [\"local\"]\n"),
              StartsWith("t.toml:2:1: error: services.ssh.zone: unknown key; did you mean 'zones'? (known: zones, ports)"));
  // Nothing near: no suggestion.
  EXPECT_THAT(only_error("[firewall]\ncolour = true\n"),
              StartsWith("t.toml:2:1: error: firewall.colour: unknown key (known: enabled,"));
  EXPECT_THAT(only_error("[[custom_services]]\nname = \"a\"\nports = [\"udp/1\"]\nport = 3\n"),
              StartsWith("t.toml:4:1: error: custom_services[0].port: unknown key"));
}

TEST(Errors, RejectZoneInServiceAndBadInterfaceName) {
  EXPECT_EQ(only_error("[services.sip]\nzones = [\"reject\"]\n"),
            "t.toml:2:10: error: services.sip.zones[0]: the reject zone reaches no service");
  EXPECT_THAT(only_error("[interfaces]\n\"averyveryverylongname\" = \"local\"\n"),
              StartsWith("t.toml:2:1: error: interfaces.averyveryverylongname: not a valid interface"));
  EXPECT_THAT(only_error("[responsive]\nprotocols = [\"sip\", \"h323\"]\n"),
              StartsWith("t.toml:2:21: error: responsive.protocols[1]: protocols are"));
}

TEST(Errors, AllErrorsReportedInFileOrder) {
  auto errors = errors_of(
      "[networks]\n"
      "\"10.0.0.1/8\" = \"local\"\n"
      "\"192.0.2.0/24\" = \"nowhere\"\n"
      "[firewall]\n"
      "reject = 1\n");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].line, 2);
  EXPECT_EQ(errors[1].line, 3);
  EXPECT_EQ(errors[2].line, 5);
  EXPECT_EQ(errors[2].key, "firewall.reject");
}

TEST(Warnings, RiskyServicesFromInternet) {
  auto r = load_string("[services.ssh]\nzones = [\"local\", \"internet\"]\n"
                       "[services.https]\nzones = [\"internet\"]\n"
                       "[services.ucp]\nzones = [\"internet\"]\n",
                       "t.toml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 2u);
  EXPECT_THAT(r->warnings[0].str(),
              StartsWith("t.toml:2:9: warning: services.ssh.zones: ssh is reachable from the internet"));
  EXPECT_THAT(r->warnings[1].str(), StartsWith("t.toml:4:9: warning: services.https.zones: https"));
  EXPECT_TRUE(r->policy.find_service("ssh")->zones.contains(Zone::internet));
}

TEST(Load, OverridesAndOtherModulesSections) {
  auto r = load_string(
      "[services.rtp]\nports = [\"udp/16384-32767\"]\n"
      "[responsive]\nenabled = false\nprotocols = [\"iax\"]\nblock_seconds = 300\n"
      "[ami]\nuser = \"pbxwall\"\n[pbx]\nasterisk_dir = \"/etc/asterisk\"\n",
      "t.toml");
  ASSERT_TRUE(r.ok()) << r.error().front().str();
  const auto* rtp = r->policy.find_service("rtp");
  EXPECT_TRUE(rtp->ports_configured);
  EXPECT_EQ(rtp->ports.front().str(), "udp/16384-32767");
  EXPECT_FALSE(r->policy.responsive.enabled);
  EXPECT_FALSE(r->policy.responsive.sip);
  EXPECT_TRUE(r->policy.responsive.iax);
  EXPECT_EQ((*r->table)["ami"]["user"].value<std::string>(), "pbxwall");
}

TEST(PortRangeParse, Forms) {
  auto r = PortRange::parse("udp/7000-7010");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->proto, Proto::udp);
  EXPECT_EQ(r->first, 7000);
  EXPECT_EQ(r->last, 7010);
  EXPECT_EQ(PortRange::parse("tcp/65535")->last, 65535);
  EXPECT_FALSE(PortRange::parse("tcp/"));
  EXPECT_FALSE(PortRange::parse("tcp/1-"));
  EXPECT_FALSE(PortRange::parse("tcp/-1"));
  EXPECT_FALSE(PortRange::parse("tcp/ 22"));
}

}  // namespace
}  // namespace pbxwall::model
