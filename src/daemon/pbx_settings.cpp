#include "daemon/pbx_settings.h"

#include <algorithm>
#include <set>

#include "base/suggest.h"

namespace pbxwall::daemon {

const std::vector<std::string>& UserServices::of(std::string_view user) const {
  auto it = by_user.find(user);
  return it == by_user.end() ? default_services : it->second;
}

std::span<const Cidr> UserServices::allow_from(std::string_view user) const {
  auto it = allow_from_by_user.find(user);
  return it == allow_from_by_user.end() ? std::span<const Cidr>(default_allow_from) : std::span<const Cidr>(it->second);
}

namespace {

class Reader {
 public:
  Reader(const std::string& source, const model::Policy& policy) : source_(source), policy_(policy) {}

  void error(const toml::node& n, std::string key, std::string message) {
    errors_.push_back(model::diagnostic_at(n, source_, std::move(key), std::move(message)));
  }

  // Every key of `t` must be one of `known`.
  void only_keys(const toml::table& t, const std::string& section, std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t) {
      bool ok = false;
      for (auto name : known) ok |= k.str() == name;
      if (ok) continue;
      std::string list;
      for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      error(v, section + "." + std::string(k.str()), unknown_name("key", k.str(), list));
    }
  }

  std::optional<std::string> string_at(const toml::table& t, std::string_view key, const std::string& section) {
    const auto* n = t.get(key);
    if (!n) return std::nullopt;
    if (const auto* s = n->as_string()) return s->get();
    error(*n, section + "." + std::string(key), "expected a string");
    return std::nullopt;
  }

  std::optional<bool> bool_at(const toml::table& t, std::string_view key, const std::string& section) {
    const auto* n = t.get(key);
    if (!n) return std::nullopt;
    if (const auto* b = n->as_boolean()) return b->get();
    error(*n, section + "." + std::string(key), "expected true or false");
    return std::nullopt;
  }

  std::optional<Duration> seconds_at(const toml::table& t, std::string_view key, const std::string& section,
                                     std::int64_t min, std::int64_t max) {
    const auto* n = t.get(key);
    if (!n) return std::nullopt;
    const auto* i = n->as_integer();
    if (!i || i->get() < min || i->get() > max) {
      error(*n, section + "." + std::string(key),
            "expected a whole number of seconds from " + std::to_string(min) + " to " + std::to_string(max));
      return std::nullopt;
    }
    return std::chrono::seconds(i->get());
  }

  std::optional<std::vector<std::string>> services_at(const toml::node& n, const std::string& key) {
    const auto* arr = n.as_array();
    if (!arr) {
      error(n, key, "expected an array of service names, e.g. [\"ucp\"]");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& item : *arr) {
      const auto* s = item.as_string();
      if (!s) {
        error(item, key, "expected a service name (a string)");
        continue;
      }
      if (!policy_.find_service(s->get())) {
        std::string known;
        for (const auto& svc : policy_.services) known += (known.empty() ? "" : ", ") + svc.name;
        error(item, key, "unknown service \"" + s->get() + "\" (known: " + known + ")");
        continue;
      }
      out.push_back(s->get());
    }
    return out;
  }

  Diagnostics errors_;

 private:
  const std::string& source_;
  const model::Policy& policy_;
};

}  // namespace

Result<IntegrationSettings, Diagnostics> integration_from_toml(const toml::table& root, const std::string& source,
                                                              const model::Policy& policy) {
  IntegrationSettings out;
  Reader r(source, policy);

  if (const auto* node = root.get("pbx")) {
    if (const auto* t = node->as_table()) {
      r.only_keys(*t, "pbx",
                  {"asterisk_root", "enabled", "dns_min_refresh", "dns_max_refresh", "dns_servers", "debounce_ms", "accounts"});
      if (const auto* n = t->get("accounts")) {
        const auto* arr = n->as_array();
        if (!arr) r.error(*n, "pbx.accounts", "expected an array of account names, e.g. [\"300\", \"301\"]");
        else
          for (const auto& item : *arr) {
            const auto* name = item.as_string();
            if (!name || name->get().empty()) r.error(item, "pbx.accounts", "expected a non-empty account name (a string)");
            else out.pbx.accounts.push_back(name->get());
          }
        std::sort(out.pbx.accounts.begin(), out.pbx.accounts.end());  // looked up by binary search
        out.pbx.accounts.erase(std::unique(out.pbx.accounts.begin(), out.pbx.accounts.end()), out.pbx.accounts.end());
      }
      if (auto v = r.string_at(*t, "asterisk_root", "pbx")) out.pbx.asterisk_root = *v;
      out.pbx.enabled = r.bool_at(*t, "enabled", "pbx");
      if (auto v = r.seconds_at(*t, "dns_min_refresh", "pbx", 1, 86400)) out.pbx.dns_min_refresh = *v;
      if (auto v = r.seconds_at(*t, "dns_max_refresh", "pbx", 1, 7 * 86400)) out.pbx.dns_max_refresh = *v;
      if (auto v = r.string_at(*t, "dns_servers", "pbx")) out.pbx.dns_servers = *v;
      if (const auto* n = t->get("debounce_ms")) {
        const auto* i = n->as_integer();
        if (!i || i->get() < 0 || i->get() > 60000)
          r.error(*n, "pbx.debounce_ms", "expected milliseconds from 0 to 60000");
        else
          out.pbx.debounce = std::chrono::milliseconds(i->get());
      }
      if (out.pbx.dns_min_refresh > out.pbx.dns_max_refresh)
        r.error(*t->get(t->contains("dns_max_refresh") ? "dns_max_refresh" : "dns_min_refresh"), "pbx.dns_max_refresh",
                "must not be smaller than dns_min_refresh");
    } else {
      r.error(*node, "pbx", "expected a table");
    }
  }

  if (const auto* node = root.get("users")) {
    if (const auto* t = node->as_table()) {
      for (const auto& [k, v] : *t) {
        const std::string user(k.str());
        const std::string key = "users." + (user.find('.') == std::string::npos ? user : "\"" + user + "\"");
        const auto* entry = v.as_table();
        if (!entry) {
          r.error(v, key, "expected a table with `services = [...]`");
          continue;
        }
        r.only_keys(*entry, key, {"services", "allow_from"});
        if (const auto* allow = entry->get("allow_from")) {
          // Written by the web UI's Extensions page (or by hand); enforced by the engine's rule
          // outside-allow-from.
          const auto* arr = allow->as_array();
          if (!arr) r.error(*allow, key + ".allow_from", "expected an array of addresses or networks");
          std::vector<Cidr> nets;
          if (arr)
            for (const auto& item : *arr) {
              const auto* text = item.as_string();
              std::string why;
              const auto net = text ? Cidr::parse(text->get(), &why) : std::nullopt;
              if (net)
                nets.push_back(*net);
              else
                r.error(item, key + ".allow_from",
                        "expected an address or network such as \"198.51.100.0/24\"" + (why.empty() ? "" : ": " + why));
            }
          if (user == "default")
            out.users.default_allow_from = std::move(nets);
          else
            out.users.allow_from_by_user[user] = std::move(nets);
        }
        const auto* services = entry->get("services");
        if (!services) continue;  // the default services apply
        auto list = r.services_at(*services, key + ".services");
        if (!list) continue;
        if (user == "default")
          out.users.default_services = std::move(*list);
        else
          out.users.by_user[user] = std::move(*list);
      }
    } else {
      r.error(*node, "users", "expected a table of extensions");
    }
  }

  if (const auto* node = root.get("vpn")) {
    if (const auto* t = node->as_table()) {
      r.only_keys(*t, "vpn", {"openvpn_status", "wireguard", "poll_seconds"});
      if (auto v = r.string_at(*t, "openvpn_status", "vpn")) out.vpn.openvpn_status = *v;
      if (auto v = r.bool_at(*t, "wireguard", "vpn")) out.vpn.wireguard = *v;
      if (auto v = r.seconds_at(*t, "poll_seconds", "vpn", 1, 3600)) out.vpn.poll = *v;
    } else {
      r.error(*node, "vpn", "expected a table");
    }
  }

  if (!r.errors_.empty()) return fail(std::move(r.errors_));
  return out;
}

}  // namespace pbxwall::daemon
