// chan_pjsip (pjsip.conf and the pjsip.*.conf files FreePBX includes from it): transports
// give the signalling ports; aor contacts, registrations, endpoint outbound proxies and
// identify matches give the trunk hosts.
#include <cctype>
#include <string>
#include <string_view>

#include "pbx/discovery_builder.h"
#include "pbx/host.h"

namespace pbxwall::pbx {
namespace {

// Values such as contact= and match= may hold comma-separated lists.
template <class F>
void for_each_item(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

std::string type_of(const ConfigSection& s) {
  const auto* t = s.find("type");
  if (!t) return {};
  std::string v = t->value;
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v;
}

void read_transport(DiscoveryBuilder& b, const ConfigSection& s) {
  const auto* protocol_var = s.find("protocol");
  std::string protocol = protocol_var ? protocol_var->value : "udp";  // res_pjsip's default
  for (auto& c : protocol) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (protocol == "ws" || protocol == "wss") {
    // WebSocket transports have no socket of their own: they ride on http.conf's server.
    b.set_webrtc();
    return;
  }
  if (protocol != "udp" && protocol != "tcp" && protocol != "tls") {
    b.warn(protocol_var ? origin_of(*protocol_var, s) : origin_of(s),
           "transport protocol '" + protocol + "' is not udp, tcp, tls, ws or wss; ignored");
    return;
  }
  ListeningPort p;
  p.role = PortRole::sip;
  p.protocol = protocol;
  p.l4 = protocol == "udp" ? L4::udp : L4::tcp;
  p.driver = "pjsip";
  p.port = protocol == "tls" ? 5061 : 5060;
  const auto* bind = s.find("bind");
  if (!bind) {
    b.warn(origin_of(s), "transport has no bind=; res_pjsip refuses to start it");
    return;
  }
  std::string why;
  auto hp = parse_host_port(bind->value, &why);
  if (!hp || !IpAddress::parse(hp->host)) {
    b.error(origin_of(*bind, s), "bind='" + bind->value + "': " + (hp ? "not an IP address" : why));
    return;
  }
  p.bind_addresses.push_back(hp->host);
  p.origin = origin_of(*bind, s);
  if (hp->port != 0) {
    p.port = hp->port;
  } else {
    p.is_default = true;
  }
  b.add_signalling(std::move(p));
}

TrunkReference reference(const std::string& trunk, const char* via, const ConfigVariable& v, const ConfigSection& s) {
  return TrunkReference{trunk, via, origin_of(v, s)};
}

// The endpoint a registration or identify section serves, or the section's own name (FreePBX
// names them all after the trunk).
std::string trunk_name(const ConfigSection& s) {
  const auto* endpoint = s.find("endpoint");
  return endpoint && !endpoint->value.empty() ? endpoint->value : s.name;
}

}  // namespace

void read_pjsip(DiscoveryBuilder& b) {
  const auto cfg = b.load("pjsip.conf");
  if (!cfg.found) return;
  for (const auto& s : cfg.sections) {
    if (s.is_template) continue;
    const auto type = type_of(s);
    if (type == "transport") {
      read_transport(b, s);
    } else if (type == "aor") {
      b.add_account(s.name, "pjsip", "pjsip aor", origin_of(s));
      for (const auto* v : s.find_all("contact"))
        for_each_item(v->value, [&](std::string_view uri) { b.add_host_uri(uri, reference(s.name, "pjsip aor contact", *v, s)); });
      for (const auto* v : s.find_all("outbound_proxy"))
        b.add_host_uri(v->value, reference(s.name, "pjsip aor outbound_proxy", *v, s));
    } else if (type == "registration") {
      const auto trunk = trunk_name(s);
      if (const auto* v = s.find("server_uri")) b.add_host_uri(v->value, reference(trunk, "pjsip registration server_uri", *v, s));
      if (const auto* v = s.find("client_uri")) b.add_host_uri(v->value, reference(trunk, "pjsip registration client_uri", *v, s));
      if (const auto* v = s.find("outbound_proxy"))
        b.add_host_uri(v->value, reference(trunk, "pjsip registration outbound_proxy", *v, s));
    } else if (type == "auth") {
      // The digest username; without username= res_pjsip has none to match, the section
      // name is kept so the account is not missed.
      const auto* user = s.find("username");
      if (user && !user->value.empty()) b.add_account(user->value, "pjsip", "pjsip auth username", origin_of(*user, s));
      else b.add_account(s.name, "pjsip", "pjsip auth", origin_of(s));
    } else if (type == "endpoint") {
      b.add_account(s.name, "pjsip", "pjsip endpoint", origin_of(s));
      if (const auto* v = s.find("outbound_proxy"); v && !v->value.empty())
        b.add_host_uri(v->value, reference(s.name, "pjsip endpoint outbound_proxy", *v, s));
    } else if (type == "identify") {
      const auto trunk = trunk_name(s);
      for (const auto* v : s.find_all("match"))
        for_each_item(v->value, [&](std::string_view item) {
          if (item.front() == '!') {
            b.warn(origin_of(*v, s), "'" + std::string(item) + "' excludes addresses; not a trunk host");
            return;
          }
          b.add_host_text(item, 0, {}, reference(trunk, "pjsip identify match", *v, s));
        });
    }
  }
}

// pjsip_wizard.conf (res_pjsip_config_wizard): plain Asterisk setups often define trunks
// there; remote_hosts lists the provider's hosts (host[:port], comma-separated).
void read_pjsip_wizard(DiscoveryBuilder& b) {
  const auto cfg = b.load("pjsip_wizard.conf");
  for (const auto& s : cfg.sections) {
    if (s.is_template || type_of(s) != "wizard") continue;
    b.add_account(s.name, "pjsip", "pjsip wizard", origin_of(s));
    if (const auto* user = s.find("inbound_auth/username"); user && !user->value.empty())
      b.add_account(user->value, "pjsip", "pjsip wizard inbound_auth/username", origin_of(*user, s));
    for (const auto* v : s.find_all("remote_hosts"))
      for_each_item(v->value, [&](std::string_view item) {
        b.add_host_text(item, 0, {}, reference(s.name, "pjsip wizard remote_hosts", *v, s));
      });
  }
}

}  // namespace pbxwall::pbx
