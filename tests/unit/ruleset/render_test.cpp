#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

model::Policy policy_of(std::string_view text) {
  auto r = model::load_string(text, "t.toml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().front().str());
  return r.ok() ? r->policy : model::Policy{};
}

IpAddress ip(std::string_view s) { return *IpAddress::parse(s); }

// The block of `set NAME { ... }` in a script, for focused assertions.
std::string set_block(const std::string& script, const std::string& name) {
  const auto start = script.find("\tset " + name + " {");
  if (start == std::string::npos) return {};
  return script.substr(start, script.find("\n\t}\n", start) - start);
}
std::string chain_block(const std::string& script, const std::string& name) {
  const auto start = script.find("\tchain " + name + " {");
  if (start == std::string::npos) return {};
  return script.substr(start, script.find("\n\t}\n", start) - start);
}

TEST(Render, StartsByReplacingOnlyOurTable) {
  const auto p = policy_of("");
  const auto out = render({p});
  EXPECT_THAT(out, HasSubstr("\nadd table inet pbxwall\ndelete table inet pbxwall\ntable inet pbxwall {\n"));
  EXPECT_THAT(out, Not(HasSubstr("flush")));
  EXPECT_EQ(render_remove(), "add table inet pbxwall\ndelete table inet pbxwall\n");
}

TEST(Render, DeterministicWhateverTheInputOrder) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n\"198.51.100.0/24\" = \"other\"\n");
  LiveState a;
  a.blocked = {{ip("203.0.113.9"), std::chrono::seconds(60), "x"}, {ip("203.0.113.1"), std::chrono::seconds(5), "y"}};
  LiveState b;
  b.blocked = {a.blocked[1], a.blocked[0]};
  const auto first = render({p, {}, {}, {}, a});
  EXPECT_EQ(first, render({p, {}, {}, {}, a}));
  EXPECT_EQ(first, render({p, {}, {}, {}, b}));
}

TEST(Render, ZoneSetsHoldTheFlattenedNetworks) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"trusted\"\n\"192.0.2.7\" = \"local\"\n"
                           "\"2001:db8::/48\" = \"other\"\n\"host.example.com\" = \"reject\"\n");
  model::ResolvedHosts resolved{{"host.example.com", {ip("198.51.100.9")}}};
  const auto out = render({p, resolved});
  EXPECT_THAT(set_block(out, "trusted4"),
              HasSubstr("\t\t\t192.0.2.0-192.0.2.6,\n\t\t\t192.0.2.8-192.0.2.255\n"));
  EXPECT_THAT(set_block(out, "local4"), HasSubstr("\t\t\t192.0.2.7\n"));
  EXPECT_THAT(set_block(out, "other6"), HasSubstr("\t\t\t2001:db8::/48\n"));
  EXPECT_THAT(set_block(out, "reject4"), HasSubstr("\t\t\t198.51.100.9\n"));
  EXPECT_THAT(set_block(out, "local6"), Not(HasSubstr("elements")));
}

TEST(Render, ServicesPerZone) {
  const auto out = render({policy_of("")});
  EXPECT_THAT(set_block(out, "svc_local"), HasSubstr("tcp . 22,"));
  EXPECT_THAT(set_block(out, "svc_local"), HasSubstr("udp . 10000-20000"));
  EXPECT_THAT(set_block(out, "svc_other"), Not(HasSubstr("tcp . 22,")));
  EXPECT_THAT(set_block(out, "svc_internet"), Not(HasSubstr("5060")));
  EXPECT_THAT(set_block(out, "svc_internet"), HasSubstr("udp . 10000-20000"));
  EXPECT_THAT(set_block(out, "sig_ports"), HasSubstr("tcp . 5060-5061,\n\t\t\tudp . 4569,\n\t\t\tudp . 5060\n"));
  // Only the internet zone lacks SIP/IAX, so only it goes through the responsive path.
  EXPECT_THAT(chain_block(out, "zone_internet"), HasSubstr("@responsive_ports jump responsive"));
  EXPECT_THAT(chain_block(out, "zone_local"), Not(HasSubstr("jump responsive")));
  EXPECT_THAT(chain_block(out, "responsive"), HasSubstr("log group 1\n"));
  EXPECT_THAT(chain_block(out, "output"), HasSubstr("log group 2"));
}

TEST(Render, InterfacesMapToZoneChains) {
  const auto out = render({policy_of("[interfaces]\neth0 = \"internet\"\nlan0 = \"trusted\"\nx = \"reject\"\n")});
  EXPECT_THAT(out, HasSubstr("\"eth0\" : jump zone_internet,\n\t\t\t\"lan0\" : accept,\n\t\t\t\"x\" : jump zone_reject\n"));
  EXPECT_THAT(chain_block(out, "input"), HasSubstr("iifname vmap @iface_zone\n\t\tjump zone_internet"));
}

TEST(Render, DiscoveredPortsReplaceDefaultsButNotConfiguredPorts) {
  DiscoveredPorts found;
  found.sip = {*model::PortRange::parse("udp/5080")};
  found.rtp = model::PortRange::parse("udp/16384-32767");
  const auto out = render({policy_of(""), {}, found});
  EXPECT_THAT(set_block(out, "sig_ports"), HasSubstr("udp . 5080"));
  EXPECT_THAT(set_block(out, "sig_ports"), Not(HasSubstr("5060")));
  EXPECT_THAT(set_block(out, "media_ports"), HasSubstr("udp . 16384-32767"));
  const auto kept = render({policy_of("[services.sip]\nports = [\"udp/5070\"]\n"), {}, found});
  EXPECT_THAT(set_block(kept, "sig_ports"), HasSubstr("udp . 5070"));
  EXPECT_THAT(set_block(kept, "sig_ports"), Not(HasSubstr("5080")));
}

TEST(Render, AMediaRangeSpanningTheSipPortLeavesSignallingToTheResponsivePath) {
  // Asterisk without rtp.conf: its built-in media range 5000-31000 holds SIP's 5060 and
  // IAX2's 4569 is just below it. The internet zone opens the media range, not SIP.
  DiscoveredPorts found;
  found.rtp = model::PortRange::parse("udp/5000-31000");
  const auto out = render({policy_of(""), {}, found});
  EXPECT_THAT(set_block(out, "svc_internet"), HasSubstr("udp . 5000-5059,\n\t\t\tudp . 5061-31000"));
  EXPECT_THAT(set_block(out, "svc_internet"), Not(HasSubstr("udp . 5000-31000")));
  EXPECT_THAT(set_block(out, "media_ports"), HasSubstr("udp . 5000-31000"));
  EXPECT_THAT(chain_block(out, "zone_internet"), HasSubstr("@responsive_ports jump responsive"));
  // Where SIP is open outright, nothing is cut.
  EXPECT_THAT(set_block(out, "svc_local"), HasSubstr("udp . 5000-31000"));
  // A custom service over the IAX2 port, opened to the internet, leaves it out too.
  const auto custom = render({policy_of("[[custom_services]]\nname = \"wide\"\nports = [\"udp/4000-4999\"]\n"
                                        "zones = [\"internet\"]\n"),
                              {}, found});
  EXPECT_THAT(set_block(custom, "svc_internet"), HasSubstr("udp . 4000-4568,\n\t\t\tudp . 4570-5059,"));
  // With the responsive firewall off, the SIP port stays closed to the internet all the same.
  const auto off = render({policy_of("[responsive]\nenabled = false\n"), {}, found});
  EXPECT_THAT(set_block(off, "svc_internet"), HasSubstr("udp . 5000-5059,\n\t\t\tudp . 5061-31000"));
  EXPECT_THAT(chain_block(off, "zone_internet"), Not(HasSubstr("jump responsive")));
}

TEST(Render, LiveStateIsCarriedOverDeduplicatedAndSanitised) {
  LiveState live;
  live.blocked = {{ip("203.0.113.9"), std::chrono::milliseconds(59'001), "svwar \"friendly\"\nscanner"},
                  {ip("203.0.113.9"), std::chrono::seconds(10), "older"},
                  {ip("203.0.113.10"), std::chrono::seconds(0), "expired"},
                  {ip("2001:db8::9"), std::chrono::seconds(5), std::string(150, 'x')}};
  live.validated = {{ip("198.51.100.5"), std::chrono::seconds(3600)}};
  live.grants = {{ip("198.51.100.5"), model::Proto::tcp, 81, std::chrono::seconds(30)},
                 {ip("198.51.100.5"), model::Proto::udp, 0, std::chrono::seconds(30)}};
  const auto out = render({policy_of(""), {}, {}, {}, live});
  EXPECT_THAT(set_block(out, "blocked4"),
              HasSubstr("\t\t\t203.0.113.9 timeout 60s comment \"svwar 'friendly' scanner\"\n"));
  EXPECT_THAT(set_block(out, "blocked4"), Not(HasSubstr("203.0.113.10")));
  EXPECT_THAT(set_block(out, "blocked6"), HasSubstr("2001:db8::9 timeout 5s comment \"" + std::string(100, 'x') + "\"\n"));
  EXPECT_THAT(set_block(out, "validated4"), HasSubstr("198.51.100.5 timeout 3600s\n"));
  EXPECT_THAT(set_block(out, "grants4"), HasSubstr("\t\t\t198.51.100.5 . tcp . 81 timeout 30s\n\t\t}"));
}

TEST(Render, BlockedNetworksAreIntervalSetsDroppedBesideBlocked6) {
  LiveState live;
  live.blocked_nets = {{*Cidr::parse("2001:db8:3::/64"), std::chrono::seconds(900), "rotation"},
                       {*Cidr::parse("2001:db8:3::/64"), std::chrono::seconds(60), "older"},
                       {*Cidr::parse("2001:db8:3:0:8000::/65"), std::chrono::seconds(60), "inside"},
                       {*Cidr::parse("2001:db8:4::/64"), std::chrono::seconds(0), "expired"},
                       {*Cidr::parse("203.0.113.0/24"), std::chrono::seconds(60), "an IPv4 list"}};
  const auto out = render({policy_of(""), {}, {}, {}, live});
  const auto set = set_block(out, "blocked_nets6");
  EXPECT_THAT(set, HasSubstr("flags interval,timeout\n"));
  EXPECT_THAT(set, HasSubstr("\t\t\t2001:db8:3::/64 timeout 900s comment \"rotation\"\n\t\t}"));
  EXPECT_THAT(set, Not(HasSubstr("8000")));
  EXPECT_THAT(set, Not(HasSubstr("2001:db8:4::")));
  EXPECT_THAT(set, Not(HasSubstr("203.0.113")));  // in blocked_nets4
  // IPv4 networks go to their own set (blocklists hold both families).
  EXPECT_THAT(set_block(out, "blocked_nets4"), HasSubstr("\t\t\t203.0.113.0/24 timeout 60s comment \"an IPv4 list\"\n"));
  const auto input = chain_block(out, "input");
  EXPECT_THAT(input, HasSubstr("ip6 saddr @blocked6 counter name \"blocked\" drop\n"
                               "\t\tip saddr @blocked_nets4 ip saddr != @trunks4 counter name \"blocked\" drop\n"
                               "\t\tip6 saddr @blocked_nets6 ip6 saddr != @trunks6 counter name \"blocked\" drop\n"));
  // Kept when the firewall is disabled, like the other state sets.
  const auto off = render({policy_of("[firewall]\nenabled = false\n"), {}, {}, {}, live});
  EXPECT_THAT(set_block(off, "blocked_nets6"), HasSubstr("2001:db8:3::/64 timeout 900s"));
}

TEST(Render, DisabledFirewallAcceptsEverythingButKeepsState) {
  LiveState live;
  live.blocked = {{ip("203.0.113.9"), std::chrono::seconds(60), "x"}};
  const auto out = render({policy_of("[firewall]\nenabled = false\n"), {}, {}, {}, live});
  EXPECT_THAT(chain_block(out, "input"), HasSubstr("policy accept;"));
  EXPECT_THAT(chain_block(out, "input"), Not(HasSubstr("drop")));
  EXPECT_THAT(out, Not(HasSubstr("policy drop")));
  EXPECT_THAT(set_block(out, "blocked4"), HasSubstr("203.0.113.9 timeout 60s"));
}

TEST(Render, RejectModeAndLogGroupsOff) {
  RenderOptions quiet;
  quiet.log_group_input = 0;
  const auto out = render({policy_of("[firewall]\nreject = true\n"), {}, {}, {}, {}, quiet});
  EXPECT_THAT(chain_block(out, "zone_internet"), HasSubstr("meta l4proto tcp counter name \"refused\" reject with tcp reset"));
  EXPECT_THAT(chain_block(out, "zone_reject"), HasSubstr("reject with icmpx admin-prohibited"));
  EXPECT_THAT(chain_block(out, "responsive"), Not(HasSubstr("log group")));
  EXPECT_THAT(chain_block(out, "responsive"), HasSubstr("counter name \"responsive\" accept"));
  EXPECT_THAT(chain_block(out, "output"), Not(HasSubstr("log")));
}

TEST(Render, ResponsiveOffOpensNoSignallingToTheInternet) {
  const auto out = render({policy_of("[responsive]\nenabled = false\n")});
  EXPECT_THAT(out, Not(HasSubstr("jump responsive")));
  EXPECT_THAT(set_block(out, "responsive_ports"), Not(HasSubstr("elements")));
  EXPECT_THAT(chain_block(out, "output"), Not(HasSubstr("log group")));
}

}  // namespace
}  // namespace pbxwall::ruleset

namespace pbxwall::ruleset {
namespace {

Cidr list_net(std::string_view s) { return *Cidr::parse(s); }

TEST(RenderLists, EachListHasItsSetsAndDropRulesAfterTheAccepts) {
  const auto p = policy_of("");
  RenderInput in{p};
  in.live.lists.push_back({"voipbl", {list_net("192.0.2.7")}, {list_net("2001:db8::9")}, {list_net("198.51.100.0/24")}, {}});
  const auto out = render(in);
  EXPECT_THAT(set_block(out, "list_voipbl_4"), HasSubstr("192.0.2.7"));
  EXPECT_THAT(set_block(out, "list_voipbl_4"), Not(HasSubstr("flags")));
  EXPECT_THAT(set_block(out, "list_voipbl_6"), HasSubstr("2001:db8::9"));
  EXPECT_THAT(set_block(out, "list_voipbl_nets4"), HasSubstr("flags interval"));
  EXPECT_THAT(set_block(out, "list_voipbl_nets4"), HasSubstr("198.51.100.0/24"));
  EXPECT_NE(set_block(out, "list_voipbl_nets6"), "");
  const auto input = chain_block(out, "input");
  const auto drop = input.find("ip saddr @list_voipbl_4 ip saddr != @trunks4 counter name \"blocked\" drop");
  ASSERT_NE(drop, std::string::npos) << input;
  EXPECT_LT(input.find("ip saddr @trusted4 accept"), drop);
  EXPECT_LT(input.find("ip saddr @validated4"), drop);
  EXPECT_NE(input.find("ip6 saddr @list_voipbl_nets6 ip6 saddr != @trunks6"), std::string::npos);
  EXPECT_EQ(set_block(render({p}), "list_voipbl_4"), "") << "no lists, no sets";
}

TEST(RenderLists, AnUpdateReplacesTheFourSetsInOneScript) {
  const ListContent l{"own", {list_net("192.0.2.7"), list_net("192.0.2.8")}, {}, {list_net("203.0.113.0/24")}, {}};
  EXPECT_EQ(render_list_update(l),
            "flush set inet pbxwall list_own_4\n"
            "add element inet pbxwall list_own_4 {\n\t192.0.2.7,\n\t192.0.2.8\n}\n"
            "flush set inet pbxwall list_own_6\n"
            "flush set inet pbxwall list_own_nets4\n"
            "add element inet pbxwall list_own_nets4 {\n\t203.0.113.0/24\n}\n"
            "flush set inet pbxwall list_own_nets6\n");
}

}  // namespace
}  // namespace pbxwall::ruleset
