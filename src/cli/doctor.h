// `pbxwall doctor`: what on this machine keeps pbxwall from working, each finding with what to
// do. The checks are pure functions over DoctorFacts; doctor_command.cpp gathers the facts
// (kernel, other firewalls, the PBX, DNS, AMI, files, clock, daemon) and prints the findings.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pbx/pbx.h"

namespace pbxwall::cli {

enum class Severity { ok, warning, error };
const char* severity_name(Severity s);

struct Finding {
  Severity severity = Severity::ok;
  std::string check;    // kernel, packet-path, other-firewall, pbx, trunks, ami, web, state, time, daemon
  std::string message;  // what is the case
  std::string fix;      // what to do (empty for ok)
};

struct DoctorFacts {
  // Kernel features.
  bool nftables_ok = true;  // libnftables could list the ruleset
  std::string nftables_error;
  bool nflog_ok = true;  // nfnetlink_log loaded or loadable
  std::optional<bool> queue_ok;  // nftables `queue` statement (unknown when the probe failed)
  std::string queue_detail;
  std::string packet_path = "auto";  // [responsive] packet_path
  bool responsive_enabled = true;

  // Other firewalls.
  std::optional<nlohmann::json> nft_ruleset;  // `list ruleset` as libnftables JSON
  std::string iptables_legacy;                // iptables-legacy-save and ip6tables-legacy-save
  std::vector<std::string> active_units;      // active among ufw, firewalld, docker, fail2ban
  std::vector<std::uint16_t> pbx_ports;       // the ports pbxwall opens for SIP, IAX and RTP edges

  // The PBX.
  std::string asterisk_root;
  std::optional<pbx::Discovery> pbx;  // nullopt: no Asterisk configuration there
  struct ServicePorts {
    std::string service;  // sip, iax
    std::vector<std::string> ports;  // "udp/5060"
    bool configured = false;         // `ports` set in the file: discovered ports do not apply
  };
  std::vector<ServicePorts> services;
  struct Unresolved {
    std::string host;
    std::string where;  // trunk and file:line
    std::string error;
  };
  std::vector<Unresolved> unresolved_trunks;

  // AMI: login_error empty when the login succeeded.
  bool ami_enabled = false;
  std::string ami_target;
  std::string ami_login_error;

  // Web UI.
  bool web_enabled = true;
  std::string web_listen = "127.0.0.1";
  bool web_tls = false;
  bool web_password_set = false;

  // Files, clock, daemon.
  std::string state_dir = "/var/lib/pbxwall";
  std::string state_dir_error;  // empty: writable
  std::optional<bool> clock_synchronized;
  bool firewall_enabled = true;
  bool table_present = false;
  bool daemon_running = false;
  std::string daemon_error;
};

// The other tables' base chains on the input hook that drop or reject what pbxwall accepts
// (a drop policy, a catch-all drop, a drop of the PBX's ports), and the firewalls they belong to.
std::vector<Finding> nft_conflicts(const nlohmann::json& ruleset, const std::vector<std::uint16_t>& pbx_ports);
// The same for iptables-legacy (iptables-save text: ":INPUT DROP", "-A INPUT ... -j DROP").
std::vector<Finding> iptables_conflicts(const std::string& save_text, const std::vector<std::uint16_t>& pbx_ports);

// Every finding, in the order of DoctorFacts.
std::vector<Finding> diagnose(const DoctorFacts& facts);

// 0: nothing is wrong; 1: warnings; 2: errors.
int doctor_exit_status(const std::vector<Finding>& findings);
std::string findings_to_text(const std::vector<Finding>& findings);
nlohmann::json findings_to_json(const std::vector<Finding>& findings);

}  // namespace pbxwall::cli
