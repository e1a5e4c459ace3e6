// chan_sip (sip.conf with FreePBX's sip_general_additional.conf, sip_registrations.conf,
// sip_additional.conf) and chan_iax2 (iax.conf with iax_general_additional.conf,
// iax_registrations.conf, iax_additional.conf): the [general] bind settings give the
// signalling ports; peers with a fixed host=, their permit= networks and register => lines
// give the trunk hosts.
#include <cctype>
#include <string>
#include <string_view>

#include "pbx/discovery_builder.h"
#include "pbx/host.h"

namespace pbxwall::pbx {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Driver {
  const char* name;         // chan_sip, chan_iax2
  const char* file;         // sip.conf
  PortRole role;
  std::uint16_t default_port;
};

// "addr" or "addr:port" from bindaddr=, with the port from bindport= when the address has
// none (both chan_sip and chan_iax2 behave this way).
struct Bind {
  std::string address = "0.0.0.0";
  std::uint16_t port = 0;
  Origin origin;
  bool is_default = true;
};

std::optional<Bind> read_bind(DiscoveryBuilder& b, const ConfigSection& general, const char* addr_key,
                              const char* port_key, std::uint16_t default_port, const std::string& file) {
  Bind bind;
  bind.origin = Origin{file, general.line, general.name, {}};
  std::uint16_t port = 0;
  if (port_key != nullptr) {
    if (const auto* v = general.find(port_key)) {
      auto hp = parse_host_port("0.0.0.0:" + v->value);
      if (!hp) {
        b.error(origin_of(*v, general), "'" + v->value + "' is not a port number in 1..65535");
        return std::nullopt;
      }
      port = hp->port;
      bind.origin = origin_of(*v, general);
      bind.is_default = false;
    }
  }
  if (const auto* v = general.find(addr_key)) {
    std::string why;
    auto hp = parse_host_port(v->value, &why);
    if (!hp || !IpAddress::parse(hp->host)) {
      b.error(origin_of(*v, general), "'" + v->value + "': " + (hp ? "not an IP address" : why));
      return std::nullopt;
    }
    bind.address = hp->host;
    if (hp->port != 0) {
      port = hp->port;
      bind.origin = origin_of(*v, general);
      bind.is_default = false;
    }
  }
  bind.port = port != 0 ? port : default_port;
  return bind;
}

void add_listener(DiscoveryBuilder& b, const Driver& d, const Bind& bind, const char* protocol) {
  ListeningPort p;
  p.role = d.role;
  p.protocol = protocol;
  p.l4 = std::string_view(protocol) == "udp" ? L4::udp : L4::tcp;
  p.port = bind.port;
  p.driver = d.name;
  p.bind_addresses.push_back(bind.address);
  p.origin = bind.origin;
  p.is_default = bind.is_default;
  b.add_signalling(std::move(p));
}

// register => [peer?][transport://]user[@domain][:secret[:authuser]]@host[:port][/extension][~expiry]
void read_register_line(DiscoveryBuilder& b, const ConfigVariable& v, const ConfigSection& s, const char* via) {
  std::string_view text = v.value;
  std::string trunk = "register";
  if (const auto q = text.find('?'); q != std::string_view::npos && text.find('@') > q) {
    trunk = std::string(text.substr(0, q));
    text.remove_prefix(q + 1);
  }
  std::string transport;
  if (const auto scheme = text.find("://"); scheme != std::string_view::npos) {
    transport = lower(text.substr(0, scheme));
    text.remove_prefix(scheme + 3);
  }
  if (const auto tilde = text.rfind('~'); tilde != std::string_view::npos) text = text.substr(0, tilde);
  const auto at = text.rfind('@');
  if (at == std::string_view::npos) {
    b.warn(origin_of(v, s), "register line has no '@host'; ignored");
    return;
  }
  text.remove_prefix(at + 1);
  if (const auto slash = text.find('/'); slash != std::string_view::npos) text = text.substr(0, slash);
  b.add_host_text(text, 0, transport, TrunkReference{trunk, via, origin_of(v, s)});
}

void read_peers(DiscoveryBuilder& b, const AsteriskConfig& cfg, const std::string& driver) {
  for (const auto& s : cfg.sections) {
    if (s.is_template || lower(s.name) == "general" || lower(s.name) == "authentication") continue;
    const auto* type = s.find("type");
    if (!type) continue;
    const auto t = lower(type->value);
    if (t == "peer" || t == "friend" || t == "user") b.add_account(s.name, driver.c_str(), driver + " " + t, origin_of(s));
    if (t != "peer" && t != "friend") continue;
    const auto* host = s.find("host");
    if (!host || host->value.empty() || lower(host->value) == "dynamic") continue;
    std::uint16_t port = 0;
    if (const auto* p = s.find("port")) {
      auto hp = parse_host_port("0.0.0.0:" + p->value);
      if (hp) {
        port = hp->port;
      } else {
        b.warn(origin_of(*p, s), "'" + p->value + "' is not a port number in 1..65535; ignored");
      }
    }
    std::string transport;
    if (const auto* tr = s.find("transport")) {
      transport = lower(tr->value.substr(0, tr->value.find(',')));  // the first is used for calls out
    }
    b.add_host_text(host->value, port, transport, TrunkReference{s.name, driver + " host", origin_of(*host, s)});
    for (const auto* permit : s.find_all("permit")) {
      b.add_host_text(permit->value, 0, {}, TrunkReference{s.name, driver + " permit", origin_of(*permit, s)});
    }
    if (const auto* proxy = s.find("outboundproxy"); proxy && !proxy->value.empty()) {
      std::string_view value = proxy->value;
      if (value.substr(0, 4) == "sip:" || value.substr(0, 5) == "sips:") {
        b.add_host_uri(value, TrunkReference{s.name, driver + " outboundproxy", origin_of(*proxy, s)});
      } else {
        std::string proxy_transport;
        if (const auto scheme = value.find("://"); scheme != std::string_view::npos) {
          proxy_transport = lower(value.substr(0, scheme));
          value.remove_prefix(scheme + 3);
        }
        value = value.substr(0, value.find(','));  // ",force" suffix
        b.add_host_text(value, 0, proxy_transport,
                        TrunkReference{s.name, driver + " outboundproxy", origin_of(*proxy, s)});
      }
    }
  }
}

}  // namespace

void read_chan_sip(DiscoveryBuilder& b) {
  const auto cfg = b.load("sip.conf");
  if (!cfg.found) return;
  const Driver d{"chan_sip", "sip.conf", PortRole::sip, 5060};
  const auto file = b.path_of(d.file);
  ConfigSection empty_general;
  empty_general.name = "general";
  const auto* general = b.general(cfg);
  if (!general) general = &empty_general;
  const char* udp_key = general->find("udpbindaddr") ? "udpbindaddr" : "bindaddr";
  auto udp = read_bind(b, *general, udp_key, "bindport", 5060, file);
  if (udp) add_listener(b, d, *udp, "udp");
  if (const auto* v = general->find("tcpenable"); v && asterisk_true(v->value)) {
    auto tcp = read_bind(b, *general, "tcpbindaddr", nullptr, 5060, file);
    if (tcp) {
      if (tcp->is_default) tcp->origin = origin_of(*v, *general);
      add_listener(b, d, *tcp, "tcp");
    }
  }
  if (const auto* v = general->find("tlsenable"); v && asterisk_true(v->value)) {
    auto tls = read_bind(b, *general, "tlsbindaddr", nullptr, 5061, file);
    if (tls) {
      if (tls->is_default) tls->origin = origin_of(*v, *general);
      add_listener(b, d, *tls, "tls");
    }
  }
  for (const auto* reg : general->find_all("register")) read_register_line(b, *reg, *general, "chan_sip register");
  read_peers(b, cfg, "chan_sip");
}

void read_iax(DiscoveryBuilder& b) {
  const auto cfg = b.load("iax.conf");
  if (!cfg.found) return;
  const Driver d{"chan_iax2", "iax.conf", PortRole::iax, 4569};
  ConfigSection empty_general;
  empty_general.name = "general";
  const auto* general = b.general(cfg);
  if (!general) general = &empty_general;
  if (auto bind = read_bind(b, *general, "bindaddr", "bindport", 4569, b.path_of(d.file))) add_listener(b, d, *bind, "udp");
  for (const auto* reg : general->find_all("register")) read_register_line(b, *reg, *general, "chan_iax2 register");
  read_peers(b, cfg, "chan_iax2");
}

}  // namespace pbxwall::pbx
