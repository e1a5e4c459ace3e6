// Reading pbxwall.toml into a Policy. Every problem is reported (not only the first) with the
// file:line:column of the offending key or value, so one `pbxwall check` shows them all.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "base/suggest.h"
#include "model/model.h"

namespace pbxwall::model {

namespace {

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

bool is_bare_key(std::string_view k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// Dotted key as a user would write it: networks."10.0.0.0/8", services.ssh.zones[1].
std::string join(const std::string& parent, std::string_view k) {
  std::string part = is_bare_key(k) ? std::string(k) : "\"" + std::string(k) + "\"";
  return parent.empty() ? part : parent + "." + part;
}
std::string index(const std::string& parent, std::size_t i) {
  return parent + "[" + std::to_string(i) + "]";
}

std::string known_sections_list() {
  std::string s;
  for (auto name : kKnownSections) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

Diagnostic at_region(const toml::source_region& r, const std::string& file, std::string key,
                     std::string message, Severity severity) {
  Diagnostic d;
  d.severity = severity;
  d.file = file;
  d.line = static_cast<int>(r.begin.line);
  d.column = static_cast<int>(r.begin.column);
  d.key = std::move(key);
  d.message = std::move(message);
  return d;
}

class Loader {
 public:
  explicit Loader(std::string source) : source_(std::move(source)) {}

  LoadReport run(std::string_view text);

 private:
  void error(const toml::node& n, std::string key, std::string message) {
    errors_.push_back(diagnostic_at(n, source_, std::move(key), std::move(message)));
  }
  void error(const toml::key& k, std::string key, std::string message) {
    errors_.push_back(at_region(k.source(), source_, std::move(key), std::move(message),
                                Severity::error));
  }
  void warning(const toml::node& n, std::string key, std::string message) {
    warnings_.push_back(
        diagnostic_at(n, source_, std::move(key), std::move(message), Severity::warning));
  }
  void wrong_type(const toml::node& n, const std::string& key, std::string_view expected) {
    error(n, key, "expected " + std::string(expected) + ", found " + std::string(type_name(n)));
  }

  std::optional<bool> boolean(const toml::node& n, const std::string& key);
  std::optional<Zone> zone(const toml::node& n, const std::string& key);
  std::optional<std::set<Zone>> service_zones(const toml::node& n, const std::string& key);
  std::optional<std::vector<PortRange>> ports(const toml::node& n, const std::string& key);

  void firewall(const toml::table& t);
  void interfaces(const toml::table& t);
  void networks(const toml::table& t);
  void services(const toml::table& t);
  void custom_services(const toml::array& a);
  void responsive(const toml::table& t);
  void risky_settings();
  void risky_network(const toml::key& k, const NetworkEntry& e);

  std::string source_;
  Diagnostics errors_;
  Diagnostics warnings_;
  Policy policy_;
  // Where zones of built-in services were overridden, for warnings that point at the line.
  std::map<std::string, const toml::node*, std::less<>> zones_nodes_;
};

std::optional<bool> Loader::boolean(const toml::node& n, const std::string& key) {
  if (auto v = n.value_exact<bool>()) return *v;
  wrong_type(n, key, "a boolean (true or false)");
  return std::nullopt;
}

std::optional<Zone> Loader::zone(const toml::node& n, const std::string& key) {
  const auto* s = n.as_string();
  if (!s) {
    wrong_type(n, key, "a zone name (string)");
    return std::nullopt;
  }
  if (auto z = parse_zone(s->get())) return z;
  std::string message = "unknown zone '" + s->get() + "'";
  if (auto near = near_miss(s->get(), {"trusted", "local", "other", "internet", "reject"}))
    message += "; did you mean '" + *near + "'?";
  error(n, key, message + " (zones: trusted, local, other, internet, reject)");
  return std::nullopt;
}

std::optional<std::set<Zone>> Loader::service_zones(const toml::node& n, const std::string& key) {
  const auto* a = n.as_array();
  if (!a) {
    wrong_type(n, key, "an array of zone names");
    return std::nullopt;
  }
  std::set<Zone> zones;
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto& item = *a->get(i);
    auto z = zone(item, index(key, i));
    if (!z) {
      ok = false;
    } else if (*z == Zone::reject) {
      error(item, index(key, i), "the reject zone reaches no service");
      ok = false;
    } else {
      zones.insert(*z);
    }
  }
  if (!ok) return std::nullopt;
  return zones;
}

std::optional<std::vector<PortRange>> Loader::ports(const toml::node& n, const std::string& key) {
  const auto* a = n.as_array();
  if (!a) {
    wrong_type(n, key, "an array of ports such as [\"tcp/22\", \"udp/7000-7010\"]");
    return std::nullopt;
  }
  if (a->empty()) {
    error(n, key, "empty port list (a service needs at least one port)");
    return std::nullopt;
  }
  std::vector<PortRange> out;
  bool ok = true;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const auto& item = *a->get(i);
    const auto* s = item.as_string();
    if (!s) {
      wrong_type(item, index(key, i), "a port string such as \"udp/5060\"");
      ok = false;
      continue;
    }
    std::string why;
    if (auto r = PortRange::parse(s->get(), &why)) {
      out.push_back(*r);
    } else {
      error(item, index(key, i), "bad port '" + s->get() + "': " + why);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void Loader::firewall(const toml::table& t) {
  for (const auto& [k, v] : t) {
    const auto key = join("firewall", k.str());
    if (k == "enabled") {
      if (auto b = boolean(v, key)) policy_.enabled = *b;
    } else if (k == "reject") {
      if (auto b = boolean(v, key)) policy_.reject = *b;
    } else if (k == "safe_mode") {
      if (auto b = boolean(v, key)) policy_.safe_mode = *b;
    } else if (k == "safe_mode_seconds") {
      auto i = v.value_exact<std::int64_t>();
      if (!i) {
        wrong_type(v, key, "an integer number of seconds");
      } else if (*i < 10 || *i > 3600) {
        error(v, key, "must be between 10 and 3600 seconds");
      } else {
        policy_.safe_mode_seconds = static_cast<int>(*i);
      }
    } else {
      error(k, key, unknown_name("key", k.str(), "enabled, reject, safe_mode, safe_mode_seconds"));
    }
  }
}

// Interface names as the kernel accepts them (IFNAMSIZ - 1 bytes, no '/', no whitespace).
bool is_valid_ifname(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == '"' || c == '*' || c == '\\' ||
           std::isspace(static_cast<unsigned char>(c)) || !std::isprint(static_cast<unsigned char>(c));
  });
}

void Loader::interfaces(const toml::table& t) {
  for (const auto& [k, v] : t) {
    const auto key = join("interfaces", k.str());
    if (!is_valid_ifname(k.str())) {
      error(k, key, "not a valid interface name (1-15 characters, no '/', '*', quotes or spaces)");
      continue;
    }
    if (auto z = zone(v, key)) policy_.interfaces.emplace(std::string(k.str()), *z);
  }
}

bool looks_like_address(std::string_view s) {
  return s.find(':') != std::string_view::npos || s.find('/') != std::string_view::npos ||
         std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || c == '.';
         });
}

void Loader::networks(const toml::table& t) {
  // Sized for 100,000 entries: no per-entry work beyond parsing unless something is wrong.
  std::vector<NetworkEntry> entries;
  entries.reserve(t.size());
  for (const auto& [k, v] : t) {
    NetworkEntry e;
    e.text.assign(k.str());
    e.line = static_cast<int>(k.source().begin.line);
    e.column = static_cast<int>(k.source().begin.column);
    bool key_ok = true;
    if (auto c = Cidr::parse(e.text)) {
      e.cidr = *c;
    } else if (looks_like_address(e.text)) {
      std::string why;
      (void)Cidr::parse(e.text, &why);
      error(k, join("networks", e.text), "bad address or CIDR: " + why);
      key_ok = false;
    } else if (is_valid_hostname(e.text)) {
      e.hostname = e.text;
      std::transform(e.hostname.begin(), e.hostname.end(), e.hostname.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      if (e.hostname.back() == '.') e.hostname.pop_back();
    } else {
      error(k, join("networks", e.text), "not an address, CIDR or valid DNS hostname");
      key_ok = false;
    }
    const auto* name = v.as_string();
    std::optional<Zone> z = name ? parse_zone(name->get()) : std::nullopt;
    if (!z) z = zone(v, join("networks", e.text));  // reports the error
    if (key_ok && z) {
      e.zone = *z;
      risky_network(k, e);
      entries.push_back(std::move(e));
    }
  }
  // Tables iterate in key order; report duplicates against the entry that comes first in the
  // file, and keep the policy's networks in file order.
  std::sort(entries.begin(), entries.end(), [](const NetworkEntry& a, const NetworkEntry& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  struct CidrHash {
    std::size_t operator()(const Cidr& c) const noexcept {
      return IpAddressHash{}(c.address()) * 131 + static_cast<std::size_t>(c.prefix());
    }
  };
  std::unordered_map<Cidr, std::size_t, CidrHash> by_cidr;
  std::unordered_map<std::string_view, std::size_t> by_host;
  by_cidr.reserve(entries.size());
  std::vector<bool> keep(entries.size(), true);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    std::size_t first_index = i;
    if (e.cidr) first_index = by_cidr.emplace(*e.cidr, i).first->second;
    else first_index = by_host.emplace(e.hostname, i).first->second;
    if (first_index == i) continue;
    const auto& first = entries[first_index];
    errors_.push_back(Diagnostic{Severity::error, source_, e.line, e.column, join("networks", e.text),
                                 "duplicate network: same as \"" + first.text + "\" on line " +
                                     std::to_string(first.line)});
    keep[i] = false;
  }
  policy_.networks.reserve(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (keep[i]) policy_.networks.push_back(std::move(entries[i]));
}

void Loader::services(const toml::table& t) {
  for (const auto& [k, v] : t) {
    const auto key = join("services", k.str());
    const std::string_view name = k.str();  // structured bindings cannot be captured (C++20)
    auto it = std::find_if(policy_.services.begin(), policy_.services.end(),
                           [&](const Service& s) { return s.name == name; });
    if (it == policy_.services.end()) {
      std::string names;
      for (const auto& s : builtin_services()) names += (names.empty() ? "" : ", ") + s.name;
      error(k, key, "unknown service (built-in: " + names + "; define new ones in [[custom_services]])");
      continue;
    }
    const auto* body = v.as_table();
    if (!body) {
      wrong_type(v, key, "a table ([" + key + "])");
      continue;
    }
    for (const auto& [field, value] : *body) {
      const auto fkey = join(key, field.str());
      if (field == "zones") {
        if (auto z = service_zones(value, fkey)) {
          it->zones = *z;
          zones_nodes_[it->name] = &value;
        }
      } else if (field == "ports") {
        if (auto p = ports(value, fkey)) {
          it->ports = *p;
          it->ports_configured = true;
        }
      } else {
        error(field, fkey, unknown_name("key", field.str(), "zones, ports"));
      }
    }
  }
}

bool is_valid_service_name(std::string_view n) {
  return !n.empty() && n.size() <= 32 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

void Loader::custom_services(const toml::array& a) {
  std::map<std::string, int, std::less<>> seen;  // name -> line
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto key = index("custom_services", i);
    const auto* t = a.get(i)->as_table();
    if (!t) {
      wrong_type(*a.get(i), key, "a table ([[custom_services]])");
      continue;
    }
    Service s;
    bool ok = true;
    bool has_name = false;
    bool has_ports = false;
    for (const auto& [field, value] : *t) {
      const auto fkey = join(key, field.str());
      if (field == "name") {
        has_name = true;
        const auto* str = value.as_string();
        if (!str) {
          wrong_type(value, fkey, "a string");
          ok = false;
        } else if (!is_valid_service_name(str->get())) {
          error(value, fkey, "service names use a-z, 0-9, '_' and '-' (at most 32)");
          ok = false;
        } else if (std::any_of(builtin_services().begin(), builtin_services().end(),
                               [&](const Service& b) { return b.name == str->get(); })) {
          error(value, fkey, "'" + str->get() + "' is a built-in service; change it with [services." +
                                 str->get() + "] instead");
          ok = false;
        } else if (auto it = seen.find(str->get()); it != seen.end()) {
          error(value, fkey, "duplicate custom service '" + str->get() + "' (first on line " +
                                 std::to_string(it->second) + ")");
          ok = false;
        } else {
          s.name = str->get();
          seen.emplace(s.name, static_cast<int>(value.source().begin.line));
        }
      } else if (field == "description") {
        if (const auto* str = value.as_string()) {
          s.description = str->get();
        } else {
          wrong_type(value, fkey, "a string");
        }
      } else if (field == "ports") {
        has_ports = true;
        if (auto p = ports(value, fkey)) {
          s.ports = *p;
          s.ports_configured = true;
        } else {
          ok = false;
        }
      } else if (field == "zones") {
        if (auto z = service_zones(value, fkey)) s.zones = *z;
        else ok = false;
      } else {
        error(field, fkey, unknown_name("key", field.str(), "name, description, ports, zones"));
      }
    }
    if (!has_name) error(*t, key, "missing 'name'");
    if (!has_ports) error(*t, key, "missing 'ports'");
    if (ok && has_name && has_ports) policy_.services.push_back(std::move(s));
  }
}

void Loader::responsive(const toml::table& t) {
  for (const auto& [k, v] : t) {
    const auto key = join("responsive", k.str());
    if (k == "enabled") {
      if (auto b = boolean(v, key)) policy_.responsive.enabled = *b;
    } else if (k == "protocols") {
      const auto* a = v.as_array();
      if (!a) {
        wrong_type(v, key, "an array such as [\"sip\", \"iax\"]");
        continue;
      }
      policy_.responsive.sip = policy_.responsive.iax = false;
      for (std::size_t i = 0; i < a->size(); ++i) {
        const auto* s = a->get(i)->as_string();
        if (s && s->get() == "sip") {
          policy_.responsive.sip = true;
        } else if (s && s->get() == "iax") {
          policy_.responsive.iax = true;
        } else {
          error(*a->get(i), index(key, i), "protocols are \"sip\" and \"iax\"");
        }
      }
    }
    // Other keys (thresholds) belong to the responsive engine, which validates them.
  }
}

// Valid entries an administrator rarely means: everything trusted, or an IPv4-mapped IPv6
// address (read as the IPv4 address it maps, which may not be what was meant).
void Loader::risky_network(const toml::key& k, const NetworkEntry& e) {
  if (!e.cidr) return;
  const auto key = join("networks", e.text);
  if (e.cidr->prefix() == 0 && e.zone == Zone::trusted) {
    warnings_.push_back(at_region(k.source(), source_, key,
                                  "every address is trusted: the firewall then lets everything in; "
                                  "list the networks you trust instead",
                                  Severity::warning));
  }
  std::string lower = e.text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.starts_with("::ffff:") && e.cidr->address().is_v4()) {
    warnings_.push_back(at_region(k.source(), source_, key,
                                  "an IPv4-mapped IPv6 address, taken as the IPv4 " + e.cidr->str() +
                                      " (the kernel matches IPv4 packets as IPv4): write that instead",
                                  Severity::warning));
  }
}

void Loader::risky_settings() {
  for (const auto& [name, node] : zones_nodes_) {
    const auto* s = policy_.find_service(name);
    if (!s || !s->zones.contains(Zone::internet)) continue;
    const auto key = "services." + name + ".zones";
    if (name == "ssh" || name == "http" || name == "https") {
      warning(*node, key, name + " is reachable from the internet zone; prefer listing your "
                               "admin networks as local or trusted");
    } else if ((name == "sip" || name == "iax") && policy_.responsive.enabled) {
      warning(*node, key, name + " is open to the internet zone, so its traffic bypasses the "
                               "responsive firewall");
    }
  }
}

LoadReport Loader::run(std::string_view text) {
  toml::table doc;
  LoadReport report;
  report.config.source_name = source_;
  try {
    doc = toml::parse(text, source_);
  } catch (const toml::parse_error& e) {
    report.errors.push_back(at_region(e.source(), source_, "", std::string(e.description()), Severity::error));
    return report;
  }
  policy_.services = builtin_services();
  for (const auto& [k, v] : doc) {
    const auto key = join("", k.str());
    if (std::find(kKnownSections.begin(), kKnownSections.end(), k.str()) == kKnownSections.end()) {
      error(k, key, unknown_name("section", k.str(), known_sections_list()));
      continue;
    }
    if (k == "custom_services") {
      if (const auto* a = v.as_array()) custom_services(*a);
      else wrong_type(v, key, "an array of tables ([[custom_services]])");
      continue;
    }
    const auto* t = v.as_table();
    if (!t) {
      // users, ami, web, vpn and pbx are read by their modules and may take other shapes.
      if (k == "firewall" || k == "interfaces" || k == "networks" || k == "services" ||
          k == "responsive")
        wrong_type(v, key, "a table ([" + key + "])");
      continue;
    }
    if (k == "firewall") firewall(*t);
    else if (k == "interfaces") interfaces(*t);
    else if (k == "networks") networks(*t);
    else if (k == "services") services(*t);
    else if (k == "responsive") responsive(*t);
  }
  std::sort(policy_.services.begin(), policy_.services.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  risky_settings();
  auto by_place = [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column, a.key) < std::tie(b.line, b.column, b.key);
  };
  std::stable_sort(errors_.begin(), errors_.end(), by_place);
  std::stable_sort(warnings_.begin(), warnings_.end(), by_place);
  report.errors = std::move(errors_);
  report.config.policy = std::move(policy_);
  report.config.warnings = std::move(warnings_);
  report.config.table = std::make_shared<const toml::table>(std::move(doc));
  return report;
}

Result<LoadedConfig, Diagnostics> checked(LoadReport report) {
  if (!report.errors.empty()) return fail(std::move(report.errors));
  return std::move(report.config);
}

}  // namespace

Diagnostic diagnostic_at(const toml::node& node, const std::string& source_name,
                         std::string key, std::string message, Severity severity) {
  return at_region(node.source(), source_name, std::move(key), std::move(message), severity);
}

LoadReport load_string_report(std::string_view text, std::string source_name) {
  return Loader(std::move(source_name)).run(text);
}

Result<LoadedConfig, Diagnostics> load_string(std::string_view text, std::string source_name) {
  return checked(load_string_report(text, std::move(source_name)));
}

LoadReport load_file_report(const std::string& path) {
  LoadReport report;
  report.config.source_name = path;
  const auto unreadable = [&](std::string message) {
    report.errors.push_back(Diagnostic{Severity::error, path, 0, 0, "", std::move(message)});
    return report;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return unreadable("is a directory, not a configuration file (give the file, e.g. " + path +
                      (path.ends_with("/") ? "" : "/") + "pbxwall.toml)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return unreadable(std::string("cannot read: ") + std::strerror(err));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return unreadable("read error");
  return load_string_report(buf.str(), path);
}

Result<LoadedConfig, Diagnostics> load_file(const std::string& path) { return checked(load_file_report(path)); }

}  // namespace pbxwall::model
