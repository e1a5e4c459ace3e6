#include "pbx/discovery_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pbxwall::pbx {
namespace {

using nlohmann::json;

json origin_json(const Origin& o) {
  return json{{"file", o.file}, {"line", o.line}, {"section", o.section}, {"key", o.key}};
}

json port_json(const ListeningPort& p) {
  return json{{"role", to_string(p.role)},   {"protocol", p.protocol},      {"l4", to_string(p.l4)},
              {"port", p.port},              {"driver", p.driver},          {"bind", p.bind_addresses},
              {"default", p.is_default},     {"loopback_only", p.loopback_only()}, {"origin", origin_json(p.origin)}};
}

json ports_json(const std::vector<ListeningPort>& ports) {
  json a = json::array();
  for (const auto& p : ports) a.push_back(port_json(p));
  return a;
}

std::string binds(const ListeningPort& p) {
  if (p.bind_addresses.empty()) return "*";
  std::string s;
  for (const auto& a : p.bind_addresses) s += (s.empty() ? "" : ",") + a;
  return s;
}

// Column widths come from the rows, so the table stays aligned whatever the names.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line = " ";
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += " " + r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 1, ' ');
    }
    out << line << "\n";
  }
}

void print_ports(std::ostream& out, const char* title, const std::vector<ListeningPort>& ports) {
  out << title << "\n";
  if (ports.empty()) {
    out << "  (none)\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : ports) {
    rows.push_back({to_string(p.role), std::string(to_string(p.l4)) + "/" + std::to_string(p.port), p.protocol, p.driver,
                    binds(p), (p.is_default ? "default, " : "") + p.origin.str()});
  }
  print_table(out, rows);
}

// Only the count and the first names: a large PBX has thousands (--json lists them all).
void print_accounts(std::ostream& out, const Discovery& d) {
  const auto names = account_names(d);
  out << "\nExtensions and accounts (usernames the PBX has): " << names.size() << "\n";
  constexpr std::size_t kShown = 24;
  std::string line;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) line += (line.empty() ? "" : " ") + names[i];
  if (names.size() > kShown) line += " ... (+" + std::to_string(names.size() - kShown) + " more)";
  out << (names.empty() ? "  (none)" : "  " + line) << "\n";
}

}  // namespace

std::string discovery_to_text(const Discovery& d) {
  std::ostringstream out;
  out << "Asterisk configuration under " << d.root << "\n\n";
  print_ports(out, "Signalling ports", d.signalling);
  out << "\nRTP media ports\n";
  if (d.rtp) {
    out << "  udp/" << d.rtp->first << "-" << d.rtp->last << "  " << (d.rtp->is_default ? "default, " : "")
        << d.rtp->origin.str() << "\n";
  } else {
    out << "  (none: no SIP driver configured)\n";
  }
  out << "\n";
  print_ports(out, d.webrtc ? "Web ports (Asterisk HTTP server; carries WebRTC: pjsip has ws/wss transports)"
                            : "Web ports (Asterisk HTTP server)",
              d.web);
  out << "\n";
  print_ports(out, "AMI ports", d.ami);
  out << "\nTrunk hosts\n";
  if (d.trunks.empty()) out << "  (none)\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : d.trunks) {
    const auto& first = t.references.front();
    std::string where = first.origin.str();
    if (t.references.size() > 1) where += " (+" + std::to_string(t.references.size() - 1) + " more)";
    rows.push_back({t.host, t.port ? "port " + std::to_string(t.port) : "any port", to_string(t.kind),
                    t.transport.empty() ? "-" : t.transport, first.trunk, first.via, where});
  }
  print_table(out, rows);
  print_accounts(out, d);
  if (!d.diagnostics.empty()) {
    out << "\nProblems\n";
    for (const auto& diag : d.diagnostics) out << "  " << diag.str() << "\n";
  }
  return out.str();
}

std::string discovery_to_json(const Discovery& d, int indent) {
  json j;
  j["root"] = d.root;
  j["signalling"] = ports_json(d.signalling);
  if (d.rtp) {
    j["rtp"] = json{{"first", d.rtp->first},
                    {"last", d.rtp->last},
                    {"default", d.rtp->is_default},
                    {"origin", origin_json(d.rtp->origin)}};
  } else {
    j["rtp"] = nullptr;
  }
  j["web"] = ports_json(d.web);
  j["webrtc"] = d.webrtc;
  j["ami"] = ports_json(d.ami);
  json trunks = json::array();
  for (const auto& t : d.trunks) {
    json refs = json::array();
    for (const auto& r : t.references) refs.push_back(json{{"trunk", r.trunk}, {"via", r.via}, {"origin", origin_json(r.origin)}});
    trunks.push_back(json{{"host", t.host},
                          {"kind", to_string(t.kind)},
                          {"port", t.port ? json(t.port) : json(nullptr)},
                          {"transport", t.transport},
                          {"references", refs}});
  }
  j["trunks"] = trunks;
  json accounts = json::array();
  for (const auto& a : d.accounts)
    accounts.push_back(json{{"name", a.name}, {"driver", a.driver}, {"via", a.via}, {"origin", origin_json(a.origin)}});
  j["accounts"] = accounts;
  j["account_names"] = account_names(d);
  j["files_read"] = d.files_read;
  j["files_missing"] = d.files_missing;
  json diags = json::array();
  for (const auto& diag : d.diagnostics) {
    diags.push_back(json{{"severity", diag.severity == Severity::error ? "error" : "warning"},
                         {"file", diag.file},
                         {"line", diag.line},
                         {"key", diag.key},
                         {"message", diag.message},
                         {"text", diag.str()}});
  }
  j["diagnostics"] = diags;
  // Names and values come from files anyone with write access to /etc/asterisk may have
  // written in any encoding; bytes that are not UTF-8 become U+FFFD instead of an exception.
  return j.dump(indent, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace pbxwall::pbx
