// The checks of `pbxwall doctor` over injected facts: each conflict or fault gives its finding
// with what to do, and the exit status follows the worst finding.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/doctor.h"

namespace pbxwall::cli {
namespace {

const std::vector<std::uint16_t> kPbxPorts = {5060, 5061, 4569, 10000, 20000};

bool has(const std::vector<Finding>& findings, Severity severity, const std::string& check, const std::string& text) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
    return f.severity == severity && f.check == check && f.message.find(text) != std::string::npos &&
           (severity == Severity::ok || !f.fix.empty());
  });
}

// A machine where everything is in order.
DoctorFacts healthy() {
  DoctorFacts f;
  f.queue_ok = true;
  f.nft_ruleset = nlohmann::json{{"nftables", nlohmann::json::array()}};
  f.pbx_ports = kPbxPorts;
  f.asterisk_root = "/etc/asterisk";
  f.pbx = pbx::Discovery{};
  f.web_password_set = true;
  f.clock_synchronized = true;
  f.table_present = true;
  f.daemon_running = true;
  return f;
}

TEST(Doctor, HealthyMachineHasOnlyOkFindings) {
  const auto findings = diagnose(healthy());
  EXPECT_EQ(doctor_exit_status(findings), 0) << findings_to_text(findings);
  EXPECT_TRUE(has(findings, Severity::ok, "packet-path", "inline verdicts"));
  EXPECT_EQ(findings_to_json(findings)["status"], 0);
}

TEST(Doctor, FirewalldLikeTableWithDropPolicyOnInputIsAnError) {
  auto f = healthy();
  f.nft_ruleset = nlohmann::json::parse(R"({"nftables": [
    {"table": {"family": "inet", "name": "firewalld"}},
    {"chain": {"family": "inet", "table": "firewalld", "name": "filter_INPUT", "type": "filter", "hook": "input", "prio": 10, "policy": "drop"}},
    {"chain": {"family": "inet", "table": "pbxwall", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}
  ]})");
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "other-firewall", "inet firewalld, chain filter_INPUT (hook input, firewalld): policy drop"));
  EXPECT_FALSE(has(findings, Severity::error, "other-firewall", "table inet pbxwall"));  // its own table is not a conflict
  EXPECT_EQ(doctor_exit_status(findings), 2);
}

TEST(Doctor, IptablesNftRuleDroppingSipIsAnErrorButABanOfOneSourceIsNot) {
  auto f = healthy();
  f.nft_ruleset = nlohmann::json::parse(R"({"nftables": [
    {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "expr": [
      {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "udp"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5060}},
      {"counter": {"packets": 0, "bytes": 0}}, {"drop": null}]}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "203.0.113.9"}},
      {"drop": null}]}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 3306}},
      {"drop": null}]}}
  ]})");
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "other-firewall", "ip filter, chain INPUT (hook input): drops the PBX's ports"));
  const auto errors = std::count_if(findings.begin(), findings.end(), [](const Finding& x) { return x.severity == Severity::error; });
  EXPECT_EQ(errors, 1) << findings_to_text(findings);
}

TEST(Doctor, RtpRangeDroppedBySetOrRangeIsSeen) {
  auto f = healthy();
  f.nft_ruleset = nlohmann::json::parse(R"({"nftables": [
    {"chain": {"family": "inet", "table": "mine", "name": "in", "type": "filter", "hook": "input", "prio": 5, "policy": "accept"}},
    {"rule": {"family": "inet", "table": "mine", "chain": "in", "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": {"set": [53, {"range": [9000, 12000]}]}}},
      {"reject": null}]}}
  ]})");
  EXPECT_TRUE(has(diagnose(f), Severity::error, "other-firewall", "inet mine, chain in (hook input): drops the PBX's ports"));
}

TEST(Doctor, UfwOnIptablesNftDroppingSipInAChainReachedFromInput) {
  auto f = healthy();
  f.nft_ruleset = nlohmann::json::parse(R"({"nftables": [
    {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
    {"chain": {"family": "ip", "table": "filter", "name": "ufw-before-input"}},
    {"chain": {"family": "ip", "table": "filter", "name": "ufw-user-input"}},
    {"chain": {"family": "ip", "table": "filter", "name": "unused"}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "expr": [{"counter": null}, {"jump": {"target": "ufw-before-input"}}]}},
    {"rule": {"family": "ip", "table": "filter", "chain": "ufw-before-input", "expr": [{"goto": {"target": "ufw-user-input"}}]}},
    {"rule": {"family": "ip", "table": "filter", "chain": "ufw-user-input", "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 5060}},
      {"drop": null}]}},
    {"rule": {"family": "ip", "table": "filter", "chain": "unused", "expr": [{"drop": null}]}}
  ]})");
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "other-firewall",
                  "ip filter, chain ufw-user-input (hook input through chain INPUT, ufw): drops the PBX's ports"))
      << findings_to_text(findings);
  EXPECT_TRUE(has(findings, Severity::warning, "other-firewall", "ufw has tables or chains in nftables"));
  // A chain no input chain jumps to filters nothing on the input hook.
  EXPECT_FALSE(has(findings, Severity::error, "other-firewall", "chain unused"));
  EXPECT_EQ(doctor_exit_status(findings), 2);
}

TEST(Doctor, UfwOnIptablesLegacyDroppingSip) {
  auto f = healthy();
  f.iptables_legacy =
      "*filter\n:INPUT ACCEPT [0:0]\n:ufw-user-input - [0:0]\n"
      "-A INPUT -j ufw-user-input\n"
      "-A ufw-user-input -p udp -m udp --dport 5060 -j DROP\n"
      "-A ufw-user-input -s 203.0.113.9/32 -j DROP\nCOMMIT\n";
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "other-firewall", "iptables-legacy chain ufw-user-input (ufw): drops the PBX's ports"));
  EXPECT_TRUE(has(findings, Severity::warning, "other-firewall", "ufw has iptables-legacy chains"));
}

TEST(Doctor, IptablesLegacyDropPolicyAndFreePbxChains) {
  auto f = healthy();
  f.iptables_legacy = "*filter\n:INPUT DROP [0:0]\n:fpbxfirewall - [0:0]\nCOMMIT\n";
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "other-firewall", "INPUT has policy DROP"));
  EXPECT_TRUE(has(findings, Severity::warning, "other-firewall", "the FreePBX firewall has iptables-legacy chains"));
}

TEST(Doctor, ServicesRunningBesidePbxwallAreWarnings) {
  auto f = healthy();
  f.active_units = {"firewalld", "fail2ban"};
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::warning, "other-firewall", "firewalld.service is running"));
  EXPECT_TRUE(has(findings, Severity::warning, "other-firewall", "fail2ban.service is running"));
  EXPECT_EQ(doctor_exit_status(findings), 1);
}

TEST(Doctor, KernelWithoutQueueFallsBackOrRefuses) {
  auto f = healthy();
  f.queue_ok = false;
  f.queue_detail = "nft_queue is not available";
  EXPECT_TRUE(has(diagnose(f), Severity::ok, "packet-path", "log groups (the nftables queue statement is unavailable"));
  f.packet_path = "queue";
  EXPECT_TRUE(has(diagnose(f), Severity::error, "packet-path", "lacks the nftables queue statement"));
  f.nftables_ok = false;
  f.nftables_error = "Operation not permitted";
  f.nflog_ok = false;
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::error, "kernel", "nf_tables does not answer: Operation not permitted"));
  EXPECT_TRUE(has(findings, Severity::error, "kernel", "nfnetlink_log"));
}

TEST(Doctor, PbxPortsOutsideConfiguredServicePortsAreErrors) {
  auto f = healthy();
  pbx::ListeningPort sip;
  sip.role = pbx::PortRole::sip;
  sip.protocol = "udp";
  sip.l4 = pbx::L4::udp;
  sip.port = 5080;
  sip.bind_addresses = {"0.0.0.0"};
  sip.origin = {"/etc/asterisk/pjsip.conf", 3, "transport-udp", "bind"};
  f.pbx->signalling.push_back(sip);
  f.services = {{"sip", {"udp/5060", "tcp/5060"}, false}};
  EXPECT_EQ(doctor_exit_status(diagnose(f)), 0);  // discovered ports apply: nothing to fix
  f.services = {{"sip", {"udp/5060", "tcp/5060"}, true}};
  EXPECT_TRUE(has(diagnose(f), Severity::error, "pbx", "Asterisk listens on udp/5080 (/etc/asterisk/pjsip.conf:3"));
  f.services = {{"sip", {"udp/5000-5100"}, true}};
  EXPECT_EQ(doctor_exit_status(diagnose(f)), 0);
}

TEST(Doctor, TrunksAmiWebStateTimeAndDaemon) {
  auto f = healthy();
  f.unresolved_trunks = {{"sip.gone.example", "mytrunk", "Name or service not known"}};
  f.ami_enabled = true;
  f.ami_target = "127.0.0.1:5038";
  f.ami_login_error = "login refused: Authentication failed";
  f.web_listen = "0.0.0.0";
  f.web_password_set = false;
  f.state_dir_error = "Permission denied";
  f.clock_synchronized = false;
  f.daemon_running = false;
  f.table_present = false;
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::warning, "trunks", "sip.gone.example (mytrunk) does not resolve"));
  EXPECT_TRUE(has(findings, Severity::error, "ami", "Authentication failed"));
  EXPECT_TRUE(has(findings, Severity::warning, "web", "0.0.0.0 without TLS, beyond loopback"));
  EXPECT_TRUE(has(findings, Severity::warning, "web", "no admin password"));
  EXPECT_TRUE(has(findings, Severity::error, "state", "Permission denied"));
  EXPECT_TRUE(has(findings, Severity::warning, "time", "not synchronized"));
  EXPECT_TRUE(has(findings, Severity::warning, "daemon", "pbxwalld is not running"));
  EXPECT_TRUE(has(findings, Severity::error, "daemon", "table inet pbxwall is not in the kernel"));
  const auto json = findings_to_json(findings);
  EXPECT_EQ(json["status"], 2);
  EXPECT_GE(json["errors"].get<int>(), 3);
}

TEST(Doctor, DisabledFirewallIsAWarningNotAMissingTable) {
  auto f = healthy();
  f.firewall_enabled = false;
  f.table_present = false;
  f.daemon_running = false;
  const auto findings = diagnose(f);
  EXPECT_TRUE(has(findings, Severity::warning, "daemon", "enabled = false"));
  EXPECT_EQ(doctor_exit_status(findings), 1);
}

}  // namespace
}  // namespace pbxwall::cli
