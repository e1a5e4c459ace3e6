// Control requests of the web API: the overview of the home page, the configuration as data,
// configuration changes (edited in the file's own text, validated, written atomically, applied
// with a reload; a change that cuts off the requesting address waits for confirmation in safe
// mode), PBX discovery, login events and metrics.
#include <net/if.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "daemon/config_edit.h"
#include "base/plural.h"
#include "daemon/firewall.h"
#include "daemon/time_json.h"
#include "model/text_edit.h"
#include "pbx/pbx.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

json refused(int status, const std::string& error) { return {{"ok", false}, {"error", error}, {"http_status", status}}; }

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_loopback(const IpAddress& a) {
  static const Cidr v4 = *Cidr::parse("127.0.0.0/8");
  static const Cidr v6 = *Cidr::parse("::1/128");
  return v4.contains(a) || v6.contains(a);
}

std::vector<std::string> system_interfaces() {
  std::vector<std::string> names;
  if (struct if_nameindex* list = ::if_nameindex()) {
    for (auto* i = list; i->if_index != 0 && i->if_name != nullptr; ++i)
      if (std::string(i->if_name) != "lo") names.emplace_back(i->if_name);
    ::if_freenameindex(list);
  }
  return names;
}

// A JSON array of strings, or an error naming the field.
Result<std::vector<std::string>> strings(const json& change, const char* field, bool required) {
  if (!change.contains(field)) {
    if (required) return fail(std::string(field) + ": required (an array of strings)");
    return std::vector<std::string>{};
  }
  const json& v = change[field];
  if (!v.is_array()) return fail(std::string(field) + ": expected an array of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) return fail(std::string(field) + ": expected an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::string> text_field(const json& change, const char* field) {
  if (!change.contains(field) || !change[field].is_string() || change[field].get<std::string>().empty())
    return fail(std::string(field) + ": expected a non-empty string");
  return change[field].get<std::string>();
}

bool is_extension_name(const std::string& s) {
  return !s.empty() && s.size() <= 32 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

// The sections the web UI's Settings page edits key by key. [web] is left out (its listen
// address, password file and TLS files are set on the server), and so are the sections other
// requests edit (networks, interfaces, services, users).
bool is_settings_section(const std::string& s) { return s == "firewall" || s == "responsive" || s == "ami" || s == "pbx"; }

bool is_setting_key(const std::string& k) {
  return !k.empty() && k.size() <= 64 &&
         std::all_of(k.begin(), k.end(), [](char c) { return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'; });
}

// A JSON value spelled as TOML: true/false, a whole number, a string, an array of those.
Result<std::string> toml_value(const json& v, const std::string& where) {
  if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_string()) return toml_quote(v.get<std::string>());
  if (v.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (v[i].is_array() || v[i].is_object()) return fail(where + ": expected an array of strings, numbers or booleans");
      auto e = toml_value(v[i], where);
      if (!e.ok()) return fail(e.error());
      out += (i ? ", " : "") + *e;
    }
    return out + "]";
  }
  return fail(where + ": expected true/false, a whole number, a string or an array of them (null: back to the default)");
}

// The file's text after one change, and a sentence saying what it did.
Result<std::pair<std::string, std::string>> edited(const std::string& text, const json& change, const model::Policy& policy) {
  const std::string op = change.value("op", "");
  if (op == "enabled") {
    if (!change.contains("value") || !change["value"].is_boolean()) return fail(std::string("value: expected true or false"));
    const bool on = change["value"].get<bool>();
    auto t = set_toml_value(text, {"firewall"}, "enabled", on ? "true" : "false");
    if (!t.ok()) return fail(t.error());
    return std::pair{*t, std::string(on ? "firewall switched on" : "firewall switched off")};
  }
  if (op == "interface") {
    auto name = text_field(change, "name");
    if (!name.ok()) return fail(name.error());
    if (!change.contains("zone") || change["zone"].is_null()) {
      auto t = set_toml_value(text, {"interfaces"}, *name, std::nullopt);
      if (!t.ok()) return fail(t.error());
      return std::pair{*t, "interface " + *name + " no longer has a zone"};
    }
    auto zone = text_field(change, "zone");
    if (!zone.ok()) return fail(zone.error());
    auto t = set_toml_value(text, {"interfaces"}, *name, toml_quote(*zone));
    if (!t.ok()) return fail(t.error());
    return std::pair{*t, "interface " + *name + " put in zone " + *zone};
  }
  if (op == "network") {
    auto key = text_field(change, "key");
    if (!key.ok()) return fail(key.error());
    if (!change.contains("zone") || change["zone"].is_null()) {
      auto t = model::remove_network(text, *key);
      if (!t.ok()) return fail(t.error());
      return std::pair{*t, "network " + *key + " removed"};
    }
    auto zone_text = text_field(change, "zone");
    if (!zone_text.ok()) return fail(zone_text.error());
    auto zone = model::parse_zone(*zone_text);
    if (!zone) return fail("zone: unknown zone '" + *zone_text + "' (zones: trusted, local, other, internet, reject)");
    auto t = model::set_network(text, *key, *zone);
    if (!t.ok()) return fail(t.error());
    return std::pair{*t, "network " + *key + " put in zone " + *zone_text};
  }
  if (op == "service") {
    auto name = text_field(change, "name");
    if (!name.ok()) return fail(name.error());
    const model::Service* s = policy.find_service(*name);
    if (s == nullptr || !s->builtin) return fail("service " + *name + ": not a built-in service (custom services: /api/custom-services)");
    auto zones = strings(change, "zones", true);
    if (!zones.ok()) return fail(zones.error());
    auto t = set_toml_value(text, {"services", *name}, "zones", toml_string_array(*zones));
    if (!t.ok()) return fail(t.error());
    if (change.contains("ports")) {
      auto ports = strings(change, "ports", true);
      if (!ports.ok()) return fail(ports.error());
      t = set_toml_value(*t, {"services", *name}, "ports", toml_string_array(*ports));
      if (!t.ok()) return fail(t.error());
    }
    std::string list;
    for (const auto& z : *zones) list += (list.empty() ? "" : ", ") + z;
    return std::pair{*t, "service " + *name + " opened to: " + (list.empty() ? "nobody" : list)};
  }
  if (op == "services") {
    // Several services' zones in one change (the web UI's grid): each item is edited as its own
    // op would edit it, a custom service keeping its ports and description.
    if (!change.contains("items") || !change["items"].is_array() || change["items"].empty())
      return fail(std::string("items: expected a non-empty array of {\"name\": ..., \"zones\": [...]}"));
    std::string out = text;
    std::string said;
    for (const auto& item : change["items"]) {
      if (!item.is_object()) return fail(std::string("items: expected objects {\"name\": ..., \"zones\": [...]}"));
      auto name = text_field(item, "name");
      if (!name.ok()) return fail("items: " + name.error());
      const model::Service* s = policy.find_service(*name);
      if (s == nullptr) return fail("items: unknown service " + *name);
      json one = {{"op", s->builtin ? "service" : "custom_service"}, {"name", *name}, {"zones", item.value("zones", json())}};
      if (!s->builtin) {
        json ports = json::array();
        for (const auto& r : s->ports) ports.push_back(r.str());
        one["ports"] = ports;
        if (!s->description.empty()) one["description"] = s->description;
      }
      auto r = edited(out, one, policy);
      if (!r.ok()) return fail("service " + *name + ": " + r.error());
      out = r->first;
      said += (said.empty() ? "" : "; ") + r->second;
    }
    return std::pair{out, said};
  }
  if (op == "settings") {
    // Keys of one section in one change; null removes a key (its default applies again). What a
    // value may be is the configuration loader's to say: the change is validated before it is
    // applied, and refused with the file:line:column and key otherwise.
    const std::string section = change.value("section", "");
    if (!is_settings_section(section)) return fail("section: expected firewall, responsive, ami or pbx");
    if (!change.contains("values") || !change["values"].is_object() || change["values"].empty())
      return fail(std::string("values: expected an object of keys and values"));
    auto doc = model::parse_toml_text(text);
    if (!doc.ok()) return fail(doc.error());
    const toml::table* current = (*doc)[section].as_table();
    std::string out = text;
    std::string said;
    for (const auto& [key, value] : change["values"].items()) {
      const std::string where = "values." + key;
      if (!is_setting_key(key)) return fail(where + ": not a key name (a-z, 0-9, _)");
      if (value.is_null()) {
        if (current == nullptr || !current->contains(key)) continue;
        auto t = set_toml_value(out, {section}, key, std::nullopt);
        if (!t.ok()) return fail(where + ": " + t.error());
        out = *t;
        said += (said.empty() ? "" : ", ") + key + " back to its default";
        continue;
      }
      auto spelled = toml_value(value, where);
      if (!spelled.ok()) return fail(spelled.error());
      auto t = set_toml_value(out, {section}, key, *spelled);
      if (!t.ok()) return fail(where + ": " + t.error());
      out = *t;
      said += (said.empty() ? "" : ", ") + key + " = " + *spelled;
    }
    if (said.empty()) said = "nothing changed";
    return std::pair{out, "[" + section + "] " + said};
  }
  if (op == "custom_service") {
    auto name = text_field(change, "name");
    if (!name.ok()) return fail(name.error());
    if (change.value("remove", false)) {
      auto t = set_named_array_entry(text, "custom_services", *name, std::nullopt);
      if (!t.ok()) return fail(t.error());
      return std::pair{*t, "custom service " + *name + " removed"};
    }
    auto ports = strings(change, "ports", true);
    if (!ports.ok()) return fail(ports.error());
    auto zones = strings(change, "zones", true);
    if (!zones.ok()) return fail(zones.error());
    std::string body = "name = " + toml_quote(*name) + "\n";
    if (change.contains("description")) {
      if (!change["description"].is_string()) return fail(std::string("description: expected a string"));
      body += "description = " + toml_quote(change["description"].get<std::string>()) + "\n";
    }
    body += "ports = " + toml_string_array(*ports) + "\nzones = " + toml_string_array(*zones);
    auto t = set_named_array_entry(text, "custom_services", *name, body);
    if (!t.ok()) return fail(t.error());
    return std::pair{*t, "custom service " + *name + " set"};
  }
  if (op == "user") {
    auto name = text_field(change, "name");
    if (!name.ok()) return fail(name.error());
    if (!is_extension_name(*name)) return fail("name: an extension is letters, digits, '_' or '-' (at most 32)");
    if (change.value("remove", false)) {
      auto t = remove_toml_table(text, {"users", *name});
      if (!t.ok()) return fail(t.error());
      return std::pair{*t, "access rules of extension " + *name + " removed"};
    }
    auto allow = strings(change, "allow_from", false);
    if (!allow.ok()) return fail(allow.error());
    for (const auto& a : *allow) {
      std::string why;
      if (!Cidr::parse(a, &why)) return fail("allow_from: " + a + ": " + why);
    }
    auto services = strings(change, "services", false);
    if (!services.ok()) return fail(services.error());
    for (const auto& s : *services)
      if (policy.find_service(s) == nullptr) return fail("services: unknown service " + s);
    auto t = set_toml_value(text, {"users", *name}, "allow_from", toml_string_array(*allow));
    if (!t.ok()) return fail(t.error());
    t = set_toml_value(*t, {"users", *name}, "services", toml_string_array(*services));
    if (!t.ok()) return fail(t.error());
    return std::pair{*t, "access rules of extension " + *name + " set"};
  }
  return fail("op: expected enabled, interface, network, service, custom_service or user, got \"" + op + "\"");
}

json users_json(const toml::table* table) {
  json items = json::array();
  const toml::table* users = table ? (*table)["users"].as_table() : nullptr;
  if (users == nullptr) return items;
  for (const auto& [name, node] : *users) {
    json u = {{"name", std::string(name.str())}, {"allow_from", json::array()}, {"services", json::array()}};
    if (const auto* t = node.as_table()) {
      for (const char* field : {"allow_from", "services"})
        if (const auto* a = (*t)[field].as_array())
          for (const auto& e : *a)
            if (auto v = e.value<std::string>()) u[field].push_back(*v);
    }
    items.push_back(u);
  }
  return items;
}

// A TOML node as JSON.
json node_json(const toml::node& n) {
  if (const auto* t = n.as_table()) {
    json o = json::object();
    for (const auto& [k, v] : *t) o[std::string(k.str())] = node_json(v);
    return o;
  }
  if (const auto* a = n.as_array()) {
    json o = json::array();
    for (const auto& v : *a) o.push_back(node_json(v));
    return o;
  }
  if (auto v = n.value_exact<bool>()) return *v;
  if (auto v = n.value_exact<std::int64_t>()) return *v;
  if (auto v = n.value_exact<double>()) return *v;
  if (auto v = n.value_exact<std::string>()) return *v;
  return nullptr;  // dates and times: no key of these sections takes one
}

// The sections Settings edits, as the file has them (keys left out take their defaults). The
// AMI secret is never sent back: only whether one is set.
json settings_json(const toml::table* table) {
  json out = json::object();
  for (const char* section : {"firewall", "responsive", "ami", "pbx"}) {
    const toml::table* t = table ? (*table)[section].as_table() : nullptr;
    json s = t ? node_json(*t) : json::object();
    if (s.contains("secret")) {
      s.erase("secret");
      s["secret_set"] = true;
    }
    out[section] = s;
  }
  return out;
}

}  // namespace

std::optional<json> Firewall::handle_web(const std::string& cmd, const json& request) {
  if (cmd == "overview") return overview_json(request);
  if (cmd == "config") return config_json(request);
  if (cmd == "change") return change_request(request);
  if (cmd == "confirm") return confirm_request(request);
  if (cmd == "discover") return discover_json();
  if (cmd == "record") return record_request(request);
  if (cmd == "metrics") return metrics_json();
  if (cmd == "source") {  // a source's last requests and the PBX's answers
    const auto addr = IpAddress::parse(request.value("addr", ""));
    if (!addr) return refused(400, "addr: not an IPv4 or IPv6 address");
    return trail_.json_of(*addr);
  }
  if (cmd == "ruleset") {
    auto table = edges_.applier.list_table();
    if (!table.ok()) return refused(503, "cannot read table inet pbxwall: " + table.error());
    return json{{"ok", true}, {"ruleset", *table}};
  }
  return std::nullopt;
}

void Firewall::note(std::string kind, std::string addr, std::string user, std::string reason) {
  store::EventRecord e;
  e.time = edges_.clock.now();
  e.kind = std::move(kind);
  e.address = std::move(addr);
  e.user = std::move(user);
  e.rule = "admin";
  e.reason = std::move(reason);
  pending_events_.push_back(std::move(e));
}

json Firewall::overview_json(const json& request) {
  json answer = status_json();
  const TimePoint now = edges_.clock.now();
  std::size_t hour = 0, day = 0;
  if (auto events = edges_.store.events(now - std::chrono::hours(24), 100000); events.ok()) {
    for (const auto& e : *events) {
      // Attacks only: an operator's block (CLI, web UI) is not one.
      if (e.kind != "block" || e.rule == "manual" || e.rule == "admin") continue;
      ++day;
      hour += e.time >= now - std::chrono::hours(1);
    }
  }
  answer["blocked_last_hour"] = hour;
  answer["blocked_last_day"] = day;
  // The server's time zone, so the web UI shows times as the CLI's local clock reads them.
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  std::tm local{};
  if (::localtime_r(&secs, &local) != nullptr)
    answer["time_zone"] = {{"name", local.tm_zone ? local.tm_zone : ""}, {"utc_offset_seconds", local.tm_gmtoff}};
  json warnings = json::array();
  const auto client = IpAddress::parse(request.value("client", ""));
  if (client && loaded_config()) {
    const model::Zone z = model::zone_of(loaded_config()->policy, *client, "", resolved_hosts());
    answer["client_zone"] = std::string(model::zone_name(z));
    if (!is_loopback(*client) && z != model::Zone::trusted)
      warnings.push_back({{"kind", "untrusted_client"},
                          {"text", "You are connecting from " + client->str() + ", which is not in a trusted network (zone " +
                                       std::string(model::zone_name(z)) + "). Add it to trusted so you can never be locked out."}});
  }
  if (auto flags = edges_.store.flags(); flags.ok()) {
    for (const auto& f : *flags) {
      if (warnings.size() > 20) break;
      warnings.push_back({{"kind", "failing_extension"}, {"addr", f.address}, {"user", f.user},
                          {"text", "Extension " + f.user + " keeps failing with a wrong password from " + f.address +
                                       (f.count > 1 ? " (flagged " + counted(f.count, "time") + ")" : "") + ": " + f.reason}});
    }
  }
  if (loaded_config()) {
    for (const auto& ifname : system_interfaces())
      if (!loaded_config()->policy.interfaces.contains(ifname))
        warnings.push_back({{"kind", "interface_without_zone"}, {"interface", ifname},
                            {"text", "Interface " + ifname + " has no zone, so it counts as internet."}});
  }
  if (pending_change_)
    warnings.push_back({{"kind", "pending_change"},
                        {"text", "A change by " + pending_change_->who + " (" + pending_change_->what + ") is in safe mode: confirm it within " +
                                     std::to_string(pending_change_json(edges_.clock.now())["rolls_back_in_seconds"].get<std::int64_t>()) +
                                     " s or it is rolled back."}});
  if (counters_.blocks_refused > 0 && blocks_held_ >= max_blocked())
    warnings.push_back({{"kind", "block_ceiling"},
                        {"text", "The blocked sets are full (" + std::to_string(max_blocked()) +
                                     " blocks, [responsive] max_blocked): " + std::to_string(counters_.blocks_refused) +
                                     " new blocks were refused."}});
  add_state_warnings(warnings);
  answer["warnings"] = warnings;
  return answer;
}

json Firewall::config_json(const json& request) {
  if (!loaded_config()) return refused(503, "no configuration loaded");
  const model::Policy& p = loaded_config()->policy;
  const std::string only = request.value("only", "");
  json networks = json::array();
  for (const auto& n : p.networks)
    if (only != "trusted" || n.zone == model::Zone::trusted)
      networks.push_back({{"key", n.text}, {"zone", std::string(model::zone_name(n.zone))}});
  if (only == "trusted") return {{"ok", true}, {"items", networks}};
  if (only == "users") return {{"ok", true}, {"items", users_json(loaded_config()->table.get())}};
  json zones = json::array();
  for (auto z : model::kAllZones)
    zones.push_back({{"name", std::string(model::zone_name(z))}, {"description", std::string(model::zone_description(z))}});
  json interfaces = json::array();
  for (const auto& [name, z] : p.interfaces) interfaces.push_back({{"name", name}, {"zone", std::string(model::zone_name(z))}});
  json services = json::array();
  // The ports the table enforces: the configured ones, or those discovered from the PBX.
  const auto effective = ruleset::effective_services(p, discovered_);
  for (const auto& s : p.services) {
    json ports = json::array();
    for (const auto& r : s.ports) ports.push_back(r.str());
    json enforced = json::array();
    for (const auto& e : effective)
      if (e.name == s.name)
        for (const auto& r : e.ports) enforced.push_back(r.str());
    json zs = json::array();
    for (auto z : s.zones) zs.push_back(std::string(model::zone_name(z)));
    // Where each enforced port found in the PBX's configuration comes from ("sip.conf:2"), also
    // when the PBX uses the built-in default; the administrator's own `ports` win over the PBX.
    json from = json::object();
    if (s.builtin && !s.ports_configured && discovered_)
      for (const auto& port : enforced)
        if (auto it = discovered_->origins.find(port.get<std::string>()); it != discovered_->origins.end()) from[it->first] = it->second;
    services.push_back({{"name", s.name}, {"description", s.description}, {"ports", ports}, {"zones", zs}, {"builtin", s.builtin},
                        {"enforced_ports", enforced}, {"discovered", enforced != ports}, {"ports_from", from}});
  }
  json answer = {{"ok", true},
                 {"enabled", p.enabled},
                 {"safe_mode", p.safe_mode},
                 {"safe_mode_seconds", p.safe_mode_seconds},
                 {"zones", zones},
                 {"interfaces", interfaces},
                 {"system_interfaces", system_interfaces()},
                 {"networks", networks},
                 {"services", services},
                 {"users", users_json(loaded_config()->table.get())},
                 {"settings", settings_json(loaded_config()->table.get())},
                 {"packet_path", std::string(ruleset::packet_path_name(packet_path_))},
                 {"pending_change", nullptr}};
  if (pending_change_)
    answer["pending_change"] = {{"who", pending_change_->who}, {"deadline", time_json(pending_change_->deadline)}};
  return answer;
}

json Firewall::change_request(const json& request) {
  if (!loaded_config()) return refused(503, "no configuration loaded");
  if (!request.contains("change") || !request["change"].is_object()) return refused(400, "change: expected an object with \"op\"");
  const std::string previous = read_text(options_.config_path).value_or("");
  auto change = edited(previous, request["change"], loaded_config()->policy);
  if (!change.ok()) return refused(400, change.error());
  ChangeRequest r;
  r.text = change->first;
  r.what = change->second;
  r.who = request.value("who", "admin");
  if (const auto client = IpAddress::parse(request.value("client", ""))) {
    r.session = model::Session{.client = *client, .proto = model::Proto::tcp, .port = 0, .ifname = "", .kind = "web UI session"};
    if (request.contains("client_port") && request["client_port"].is_number_unsigned())
      r.session->port = static_cast<std::uint16_t>(request["client_port"].get<std::uint64_t>());
  }
  r.force = request.value("confirm_lockout", false);
  return this->change(r);
}

json Firewall::confirm_request(const json& request) { return confirm(request.value("who", "admin")); }

json Firewall::discover_json() {
  std::string root = pbx::kDefaultAsteriskRoot;
  if (loaded_config() && loaded_config()->table)
    if (auto r = (*loaded_config()->table)["pbx"]["asterisk_root"].value<std::string>()) root = *r;
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) return {{"ok", true}, {"found", false}, {"root", root}};
  const pbx::DiskFileSystem fs;
  json found = json::parse(pbx::discovery_to_json(pbx::discover(fs, root)), nullptr, false);
  if (found.is_discarded()) return refused(500, "discovery produced no JSON");
  return {{"ok", true}, {"found", true}, {"root", root}, {"discovery", found}};
}

json Firewall::record_request(const json& request) {
  const std::string kind = request.value("kind", "");
  if (kind != "login" && kind != "login_failed" && kind != "logout")
    return refused(400, "kind: expected login, login_failed or logout");
  note(kind, request.value("addr", ""), request.value("user", ""), request.value("reason", ""));
  flush();
  return {{"ok", true}};
}

json Firewall::metrics_json() {
  json m = status_json();
  m["set_update_seconds"] = set_update_latency_.json();
  // dns_refreshes and dns_failures come from the trunk resolver, which pbxwalld's main adds.
  return m;
}

}  // namespace pbxwall::daemon
