// The checks of `pbxwall doctor`: pure functions from DoctorFacts to findings.
#include "cli/doctor.h"

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace pbxwall::cli {
namespace {

Finding ok(std::string check, std::string message) { return {Severity::ok, std::move(check), std::move(message), ""}; }
Finding warning(std::string check, std::string message, std::string fix) {
  return {Severity::warning, std::move(check), std::move(message), std::move(fix)};
}
Finding error(std::string check, std::string message, std::string fix) {
  return {Severity::error, std::move(check), std::move(message), std::move(fix)};
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }
std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Which firewall a table or chain name belongs to ("" when it is not a known one).
std::string owner_of(const std::string& table, const std::string& chain) {
  const std::string t = lower(table), c = lower(chain);
  if (t == "firewalld") return "firewalld";
  if (starts_with(t, "f2b") || starts_with(c, "f2b")) return "fail2ban";
  if (starts_with(c, "ufw")) return "ufw";
  if (starts_with(c, "docker")) return "docker";
  if (starts_with(c, "fpbx") || starts_with(c, "rfw")) return "the FreePBX firewall";
  return "";
}

std::string fix_for(const std::string& owner) {
  if (owner == "firewalld") return "stop and disable firewalld (systemctl disable --now firewalld): pbxwall replaces it";
  if (owner == "ufw") return "disable ufw (ufw disable): pbxwall replaces it";
  if (owner == "the FreePBX firewall")
    return "disable the FreePBX firewall module (fwconsole firewall disable): pbxwall replaces it";
  if (owner == "docker") return "docker's chains filter forwarded traffic; keep them, but check its INPUT rules";
  if (owner == "fail2ban") return "fail2ban bans on top of pbxwall: disable its asterisk jail or expect its bans in both";
  return "remove the rule or make it accept the PBX's traffic (every base chain on a hook must accept a packet)";
}

// Ports a match expression of a rule names: "dport" equal to a number, a range or a set.
void collect_ports(const nlohmann::json& right, std::vector<std::pair<int, int>>& out) {
  if (right.is_number_integer()) {
    out.emplace_back(right.get<int>(), right.get<int>());
  } else if (right.is_object() && right.contains("range") && right["range"].is_array() && right["range"].size() == 2 &&
             right["range"][0].is_number_integer() && right["range"][1].is_number_integer()) {
    out.emplace_back(right["range"][0].get<int>(), right["range"][1].get<int>());
  } else if (right.is_object() && right.contains("set") && right["set"].is_array()) {
    for (const auto& e : right["set"]) collect_ports(e, out);
  }
}

bool hits_pbx_port(const std::vector<std::pair<int, int>>& ranges, const std::vector<std::uint16_t>& pbx_ports) {
  for (auto p : pbx_ports)
    for (auto [lo, hi] : ranges)
      if (p >= lo && p <= hi) return true;
  return false;
}

std::string ports_text(const std::vector<std::uint16_t>& ports) {
  std::ostringstream s;
  for (std::size_t i = 0; i < ports.size(); ++i) s << (i ? "," : "") << ports[i];
  return s.str();
}

}  // namespace

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::ok: return "ok";
    case Severity::warning: return "warning";
    case Severity::error: return "error";
  }
  return "?";
}

std::vector<Finding> nft_conflicts(const nlohmann::json& ruleset, const std::vector<std::uint16_t>& pbx_ports) {
  std::vector<Finding> out;
  if (!ruleset.contains("nftables") || !ruleset["nftables"].is_array()) return out;
  struct Chain {
    std::string family, table, name, policy;
  };
  std::vector<Chain> input_chains;
  std::set<std::string> owners_seen;
  for (const auto& item : ruleset["nftables"]) {
    if (!item.contains("chain")) continue;
    const auto& c = item["chain"];
    const std::string family = c.value("family", ""), table = c.value("table", "");
    if (family == "inet" && table == "pbxwall") continue;
    if (auto owner = owner_of(table, c.value("name", "")); !owner.empty()) owners_seen.insert(owner);
    if (c.value("hook", "") != "input" || (family != "ip" && family != "ip6" && family != "inet")) continue;
    input_chains.push_back({family, table, c.value("name", ""), c.value("policy", "accept")});
    if (input_chains.back().policy == "drop") {
      const auto owner = owner_of(table, c.value("name", ""));
      out.push_back(error("other-firewall",
                          "table " + family + " " + table + ", chain " + c.value("name", "") +
                              " (hook input" + (owner.empty() ? "" : ", " + owner) +
                              "): policy drop: a packet that pbxwall accepts is dropped there unless that chain "
                              "accepts it too",
                          fix_for(owner)));
    }
  }
  // The chains a packet on the input hook reaches: the base chains, and those they jump or go
  // to (ufw's ufw-user-input, the FreePBX firewall's fpbxfirewall, fail2ban's f2b-*), each with
  // the base chain it is reached from.
  auto key = [](const std::string& family, const std::string& table, const std::string& chain) {
    return family + " " + table + " " + chain;
  };
  std::map<std::string, std::vector<std::string>> jumps;  // chain key -> the chains its rules jump to
  for (const auto& item : ruleset["nftables"]) {
    if (!item.contains("rule")) continue;
    const auto& r = item["rule"];
    if (!r.contains("expr") || !r["expr"].is_array()) continue;
    for (const auto& e : r["expr"])
      for (const char* verdict : {"jump", "goto"})
        if (e.contains(verdict) && e[verdict].is_object() && e[verdict].contains("target"))
          jumps[key(r.value("family", ""), r.value("table", ""), r.value("chain", ""))].push_back(
              e[verdict].value("target", ""));
  }
  std::map<std::string, std::string> reached;  // chain key -> the base chain it is reached from
  for (const auto& c : input_chains) {
    std::vector<std::string> todo{c.name};
    while (!todo.empty()) {
      const auto name = todo.back();
      todo.pop_back();
      if (!reached.emplace(key(c.family, c.table, name), c.name).second) continue;
      for (const auto& next : jumps[key(c.family, c.table, name)]) todo.push_back(next);
    }
  }
  for (const auto& item : ruleset["nftables"]) {
    if (!item.contains("rule")) continue;
    const auto& r = item["rule"];
    const std::string family = r.value("family", ""), table = r.value("table", ""), chain = r.value("chain", "");
    const auto from = reached.find(key(family, table, chain));
    if (from == reached.end() || !r.contains("expr") || !r["expr"].is_array()) continue;
    bool drops = false, other_match = false, xt = false;
    std::vector<std::pair<int, int>> dports;
    for (const auto& e : r["expr"]) {
      if (e.contains("drop") || e.contains("reject")) drops = true;
      if (e.contains("xt")) xt = true;
      if (!e.contains("match")) continue;
      const auto& m = e["match"];
      const auto& left = m.value("left", nlohmann::json::object());
      const bool is_dport = left.contains("payload") && left["payload"].value("field", "") == "dport";
      const bool is_l4proto = left.contains("meta") && left["meta"].value("key", "") == "l4proto";
      const bool is_state = left.contains("ct");
      if (is_dport && m.value("op", "==") != "!=") collect_ports(m["right"], dports);
      else if (!is_l4proto && !is_state) other_match = true;
    }
    const auto owner = owner_of(table, chain);
    const std::string where = "table " + family + " " + table + ", chain " + chain + " (hook input" +
                              (from->second == chain ? "" : " through chain " + from->second) +
                              (owner.empty() ? "" : ", " + owner) + ")";
    if (xt) {
      out.push_back(warning("other-firewall",
                            where + ": a rule nft cannot show (iptables-nft extension): it may drop what pbxwall accepts",
                            "read it with iptables-nft-save; " + fix_for(owner)));
      continue;
    }
    if (!drops || other_match) continue;
    if (dports.empty()) {
      out.push_back(error("other-firewall", where + ": drops every packet that reaches it", fix_for(owner)));
    } else if (hits_pbx_port(dports, pbx_ports)) {
      out.push_back(error("other-firewall", where + ": drops the PBX's ports (" + ports_text(pbx_ports) + ")",
                          fix_for(owner)));
    }
  }
  for (const auto& owner : owners_seen)
    out.push_back(warning("other-firewall", owner + " has tables or chains in nftables", fix_for(owner)));
  return out;
}

std::vector<Finding> iptables_conflicts(const std::string& save_text, const std::vector<std::uint16_t>& pbx_ports) {
  std::vector<Finding> out;
  std::istringstream in(save_text);
  std::string line, table;
  std::set<std::string> owners_seen;
  static const std::regex policy_re(R"(^:(\S+) (ACCEPT|DROP|REJECT|-) )");
  static const std::regex dport_re(R"(--dports? (\d+)(?:[:,](\d+))?)");
  while (std::getline(in, line)) {
    if (starts_with(line, "*")) table = line.substr(1);
    std::smatch m;
    if (std::regex_search(line, m, policy_re)) {
      if (auto owner = owner_of("", m[1]); !owner.empty()) owners_seen.insert(owner);
      if (table == "filter" && m[1] == "INPUT" && m[2] == "DROP")
        out.push_back(error("other-firewall",
                            "iptables-legacy: chain INPUT has policy DROP: a packet that pbxwall accepts is dropped "
                            "there unless an iptables rule accepts it too",
                            "flush iptables-legacy (iptables-legacy -P INPUT ACCEPT; iptables-legacy -F) and keep "
                            "one firewall"));
      continue;
    }
    if (table != "filter" || !starts_with(line, "-A ")) continue;
    std::istringstream words(line.substr(3));
    std::string chain;
    words >> chain;
    if (auto owner = owner_of("", chain); !owner.empty()) owners_seen.insert(owner);
    const bool drops = line.find("-j DROP") != std::string::npos || line.find("-j REJECT") != std::string::npos;
    if (chain != "INPUT" && owner_of("", chain) != "ufw" && owner_of("", chain) != "the FreePBX firewall") continue;
    if (!drops || line.find(" -s ") != std::string::npos) continue;
    std::vector<std::pair<int, int>> ranges;
    for (auto it = std::sregex_iterator(line.begin(), line.end(), dport_re); it != std::sregex_iterator(); ++it) {
      const int lo = std::stoi((*it)[1]);
      const int hi = (*it)[2].matched ? std::stoi((*it)[2]) : lo;
      ranges.emplace_back(lo, std::max(lo, hi));
    }
    const auto owner = owner_of("", chain);
    const std::string where = "iptables-legacy chain " + chain + (owner.empty() ? "" : " (" + owner + ")");
    if (ranges.empty() && line.find(" -p ") == std::string::npos && line.find(" -m ") == std::string::npos)
      out.push_back(error("other-firewall", where + ": drops every packet that reaches it: " + line, fix_for(owner)));
    else if (hits_pbx_port(ranges, pbx_ports))
      out.push_back(error("other-firewall", where + ": drops the PBX's ports: " + line, fix_for(owner)));
  }
  for (const auto& owner : owners_seen)
    out.push_back(warning("other-firewall", owner + " has iptables-legacy chains", fix_for(owner)));
  return out;
}

std::vector<Finding> diagnose(const DoctorFacts& f) {
  std::vector<Finding> out;
  // Kernel features and the packet path.
  if (!f.nftables_ok)
    out.push_back(error("kernel", "nf_tables does not answer: " + f.nftables_error,
                        "run as root on a kernel with nf_tables (modprobe nf_tables); pbxwall needs it"));
  else
    out.push_back(ok("kernel", "nf_tables works"));
  if (f.responsive_enabled) {
    if (!f.nflog_ok)
      out.push_back(error("kernel", "nfnetlink_log is neither loaded nor available: pbxwalld sees no packet",
                          "install the kernel's netfilter modules (modprobe nfnetlink_log)"));
    else
      out.push_back(ok("kernel", "nfnetlink_log (log groups) available"));
  }
  std::string path;
  if (f.packet_path == "log") {
    path = "log groups (the daemon observes, the kernel sets block)";
  } else if (f.packet_path == "external-queue") {
    path = "a queue fed by a rule outside table inet pbxwall";
  } else if (f.packet_path == "queue" && f.queue_ok == false) {
    out.push_back(error("packet-path", "packet_path = \"queue\" but the kernel lacks the nftables queue statement (" +
                                           f.queue_detail + "): pbxwalld refuses to start",
                        "set [responsive] packet_path = \"auto\" (log groups on this kernel), or load nft_queue"));
  } else if (f.queue_ok == true) {
    path = "nftables queue (inline verdicts)";
  } else {
    path = "log groups (the nftables queue statement is unavailable" +
           (f.queue_detail.empty() ? std::string() : ": " + f.queue_detail) + ")";
  }
  if (!path.empty() && f.responsive_enabled)
    out.push_back(ok("packet-path", "packet_path = \"" + f.packet_path + "\": " + path));

  // Other firewalls.
  if (f.nft_ruleset) {
    auto found = nft_conflicts(*f.nft_ruleset, f.pbx_ports);
    out.insert(out.end(), found.begin(), found.end());
  }
  {
    auto found = iptables_conflicts(f.iptables_legacy, f.pbx_ports);
    out.insert(out.end(), found.begin(), found.end());
  }
  for (const auto& unit : f.active_units) {
    const std::string owner = unit == "fail2ban" ? "fail2ban" : unit;
    out.push_back(warning("other-firewall", unit + ".service is running beside pbxwall", fix_for(owner)));
  }
  if (std::none_of(out.begin(), out.end(), [](const Finding& x) { return x.check == "other-firewall"; }))
    out.push_back(ok("other-firewall", "no other firewall drops what pbxwall accepts"));

  // The PBX and its ports.
  if (!f.pbx) {
    out.push_back(warning("pbx", "no Asterisk configuration in " + f.asterisk_root,
                          "if the PBX keeps its configuration elsewhere, set [pbx] asterisk_root; pbxwall opens its "
                          "default ports meanwhile"));
  } else {
    std::ostringstream ports;
    for (const auto& p : f.pbx->signalling)
      ports << (ports.tellp() ? ", " : "") << p.protocol << "/" << p.port;
    out.push_back(ok("pbx", "Asterisk configuration in " + f.asterisk_root + ": signalling on " +
                                (ports.str().empty() ? std::string("nothing") : ports.str())));
    for (const auto& service : f.services) {
      if (!service.configured) continue;
      for (const auto& p : f.pbx->signalling) {
        const bool is_sip = p.role == pbx::PortRole::sip, is_iax = p.role == pbx::PortRole::iax;
        if ((service.service == "sip" && !is_sip) || (service.service == "iax" && !is_iax)) continue;
        if (p.loopback_only()) continue;
        const std::string want = std::string(pbx::to_string(p.l4)) + "/" + std::to_string(p.port);
        const bool open = std::any_of(service.ports.begin(), service.ports.end(), [&](const std::string& s) {
          if (s == want) return true;
          // "udp/10000-20000"
          const auto slash = s.find('/'), dash = s.find('-');
          if (slash == std::string::npos || dash == std::string::npos || s.substr(0, slash) != pbx::to_string(p.l4))
            return false;
          const int lo = std::stoi(s.substr(slash + 1, dash - slash - 1)), hi = std::stoi(s.substr(dash + 1));
          return p.port >= lo && p.port <= hi;
        });
        if (!open)
          out.push_back(error("pbx", "Asterisk listens on " + want + " (" + p.origin.str() + ") but [services." +
                                         service.service + "] ports does not open it",
                              "add \"" + want + "\" to [services." + service.service +
                                  "] ports, or remove ports there so the discovered ones apply"));
      }
    }
  }
  for (const auto& u : f.unresolved_trunks)
    out.push_back(warning("trunks", "trunk host " + u.host + " (" + u.where + ") does not resolve: " + u.error,
                          "fix the name or the DNS; until it resolves, the trunk's packets are treated like any "
                          "other source's"));

  // AMI.
  if (!f.ami_enabled)
    out.push_back(ok("ami", "[ami] is off (pbxwalld acts on packets only; enable it for the PBX's security events)"));
  else if (!f.ami_login_error.empty())
    out.push_back(error("ami", "AMI login to " + f.ami_target + " fails: " + f.ami_login_error,
                        "check [ami] username/secret against manager.conf (read = security,system) and that "
                        "Asterisk's manager is enabled"));
  else
    out.push_back(ok("ami", "AMI login to " + f.ami_target + " works"));

  // The web UI.
  if (f.web_enabled) {
    const bool loopback = f.web_listen == "127.0.0.1" || f.web_listen == "::1" || f.web_listen == "localhost" ||
                          starts_with(f.web_listen, "127.");
    if (!loopback)
      out.push_back(warning("web", "the web UI listens on " + f.web_listen + (f.web_tls ? " (HTTPS)" : " without TLS") +
                                       ", beyond loopback",
                            "listen on 127.0.0.1 and use ssh -L, or keep the address and set tls_cert/tls_key; only "
                            "trusted networks should reach it"));
    else
      out.push_back(ok("web", "the web UI listens on " + f.web_listen + " only"));
    if (!f.web_password_set)
      out.push_back(warning("web", "no admin password is set: nobody can log in to the web UI", "run pbxwall passwd"));
  }

  // State, clock, daemon.
  if (!f.state_dir_error.empty())
    out.push_back(error("state", f.state_dir + " is not writable: " + f.state_dir_error,
                        "create it as root (mkdir -p -m 700 " + f.state_dir + "); pbxwalld keeps its blocks there"));
  else
    out.push_back(ok("state", f.state_dir + " is writable"));
  if (f.clock_synchronized == false)
    out.push_back(warning("time", "the clock is not synchronized",
                          "enable time synchronization (systemctl enable --now systemd-timesyncd, or chrony): block "
                          "expiry and the events' times depend on it"));
  else if (f.clock_synchronized == true)
    out.push_back(ok("time", "the clock is synchronized"));
  if (!f.firewall_enabled) {
    out.push_back(warning("daemon", "[firewall] enabled = false: nothing is firewalled",
                          "set enabled = true, then pbxwall check && systemctl start pbxwalld"));
  } else {
    if (!f.daemon_running)
      out.push_back(warning("daemon", "pbxwalld is not running" + (f.daemon_error.empty() ? "" : ": " + f.daemon_error) +
                                          ": nobody blocks scanners or validates phones",
                            "systemctl start pbxwalld (journalctl -u pbxwalld says why it stopped)"));
    else
      out.push_back(ok("daemon", "pbxwalld answers on its control socket"));
    if (!f.table_present)
      out.push_back(error("daemon", "table inet pbxwall is not in the kernel: nothing is firewalled",
                          "systemctl start pbxwalld (or pbxwall start)"));
  }
  return out;
}

int doctor_exit_status(const std::vector<Finding>& findings) {
  int status = 0;
  for (const auto& f : findings) {
    if (f.severity == Severity::error) return 2;
    if (f.severity == Severity::warning) status = 1;
  }
  return status;
}

std::string findings_to_text(const std::vector<Finding>& findings) {
  std::ostringstream out;
  int warnings = 0, errors = 0;
  for (const auto& f : findings) {
    out << severity_name(f.severity) << std::string(8 - std::string(severity_name(f.severity)).size(), ' ') << f.check
        << ": " << f.message << "\n";
    if (!f.fix.empty()) out << "        -> " << f.fix << "\n";
    warnings += f.severity == Severity::warning;
    errors += f.severity == Severity::error;
  }
  out << errors << " errors, " << warnings << " warnings\n";
  return out.str();
}

nlohmann::json findings_to_json(const std::vector<Finding>& findings) {
  nlohmann::json list = nlohmann::json::array();
  int warnings = 0, errors = 0;
  for (const auto& f : findings) {
    list.push_back({{"severity", severity_name(f.severity)}, {"check", f.check}, {"message", f.message}, {"fix", f.fix}});
    warnings += f.severity == Severity::warning;
    errors += f.severity == Severity::error;
  }
  return {{"findings", list}, {"errors", errors}, {"warnings", warnings}, {"status", doctor_exit_status(findings)}};
}

}  // namespace pbxwall::cli
