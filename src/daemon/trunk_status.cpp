#include "daemon/trunk_status.h"

#include <algorithm>
#include <chrono>

namespace pbxwall::daemon {

using json = nlohmann::json;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  while (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string joined(const json& list, const char* sep) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& x : list)
    if (x.is_string()) out += (out.empty() ? "" : sep) + x.get<std::string>();
  return out;
}

std::string seconds_text(std::int64_t s) {
  if (s % 3600 == 0 && s >= 3600) return std::to_string(s / 3600) + " h";
  if (s % 60 == 0 && s >= 60) return std::to_string(s / 60) + " min";
  return std::to_string(s) + " s";
}

}  // namespace

std::vector<TrunkHostView> trunk_hosts_of(const pbx::Discovery& discovery) {
  std::vector<TrunkHostView> out;
  for (const auto& t : discovery.trunks) {
    if (t.host.empty()) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const TrunkHostView& v) { return v.host == t.host; });
    if (it == out.end()) {
      out.push_back({t.host, t.kind, {}, {}});
      it = std::prev(out.end());
    }
    for (const auto& r : t.references) {
      if (!r.trunk.empty() && std::find(it->trunks.begin(), it->trunks.end(), r.trunk) == it->trunks.end())
        it->trunks.push_back(r.trunk);
      if (!r.origin.file.empty()) it->origins.push_back(r.origin.file + ":" + std::to_string(r.origin.line));
    }
  }
  for (auto& v : out) std::sort(v.trunks.begin(), v.trunks.end());
  return out;
}

json trunk_status_json(const std::vector<TrunkHostView>& hosts, const std::vector<dns::TrunkNameState>& states,
                       const std::string& resolver_missing) {
  json items = json::array();
  for (const auto& h : hosts) {
    json item = {{"host", h.host}, {"kind", pbx::to_string(h.kind)}, {"trunks", h.trunks}, {"origins", h.origins},
                 {"addresses", json::array()}, {"ttl", nullptr}, {"error", ""}, {"answered", nullptr}};
    if (h.kind != pbx::HostKind::name) {
      item["state"] = "literal";
      item["addresses"].push_back(h.host);
      item["trusted"] = true;
      items.push_back(std::move(item));
      continue;
    }
    const auto name = lower(h.host);
    const auto st = std::find_if(states.begin(), states.end(), [&](const dns::TrunkNameState& s) { return s.name == name; });
    if (st == states.end()) {
      item["state"] = "pending";
      item["error"] = resolver_missing;
      item["trusted"] = false;
      items.push_back(std::move(item));
      continue;
    }
    item["state"] = dns::to_string(st->health);
    for (const auto& a : st->addresses) item["addresses"].push_back(a.str());
    if (st->ttl > Duration(0)) item["ttl"] = std::chrono::duration_cast<std::chrono::seconds>(st->ttl).count();
    item["error"] = st->error.empty() ? resolver_missing : st->error;
    if (st->answered) item["answered"] = std::chrono::duration_cast<std::chrono::seconds>(st->answered->time_since_epoch()).count();
    item["trusted"] = !st->addresses.empty();
    items.push_back(std::move(item));
  }
  return items;
}

void add_trunk_status(const std::string& cmd, const std::vector<TrunkHostView>& hosts,
                      const std::vector<dns::TrunkNameState>& states, const std::string& resolver_missing, json& answer) {
  if (cmd != "status" && cmd != "overview" && cmd != "discover") return;
  answer["trunks"] = trunk_status_json(hosts, states, resolver_missing);
  if (cmd != "overview" || !answer.contains("warnings") || !answer["warnings"].is_array()) return;
  for (const auto& t : answer["trunks"])
    if (!t.value("trusted", true) && t.value("state", "") != "pending")
      answer["warnings"].push_back({{"kind", "trunk_unresolved"}, {"host", t.value("host", "")}, {"text", trunk_status_line(t)}});
}

std::string trunk_status_line(const json& item) {
  const std::string trunks = joined(item.value("trunks", json::array()), ", ");
  std::string line = "trunk " + (trunks.empty() ? std::string() : trunks + " ") + item.value("host", std::string()) + ": ";
  const std::string state = item.value("state", std::string());
  const std::string error = item.value("error", std::string());
  const std::string addresses = joined(item.value("addresses", json::array()), ", ");
  const char* untrusted = " — its traffic is not trusted";
  if (state == "literal") return line + "written as an address, trusted";
  if (state == "resolved") {
    line += "resolves to " + addresses;
    if (item.contains("ttl") && item["ttl"].is_number_integer()) line += " (TTL " + seconds_text(item["ttl"].get<std::int64_t>()) + ")";
    if (!error.empty()) line += "; the latest lookup failed (" + error + "), the last answer is kept";
    return line;
  }
  if (state == "no_name") return line + "does not resolve (NXDOMAIN)" + untrusted;
  if (state == "no_address") return line + "does not resolve (the name has no A or AAAA record)" + untrusted;
  if (state == "failing") return line + "does not resolve (" + (error.empty() ? "no answer" : error) + ")" + untrusted;
  return line + "not resolved yet" + (error.empty() ? "" : " (" + error + ")") + untrusted;
}

}  // namespace pbxwall::daemon
