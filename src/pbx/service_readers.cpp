// modules.conf (which drivers load), rtp.conf (media ports), http.conf (Asterisk's web server:
// WebSocket SIP for WebRTC, ARI) and manager.conf (AMI).
#include <algorithm>
#include <charconv>
#include <cctype>
#include <string>

#include "pbx/discovery_builder.h"
#include "pbx/host.h"

namespace pbxwall::pbx {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<int> parse_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// A TCP listener of http.conf or manager.conf: enabled by a flag, "addr[:port]" in an address
// key, and optionally a separate port key.
struct TcpListener {
  const char* address_key;
  const char* port_key;  // may be null
  std::uint16_t default_port;
  PortRole role;
  const char* protocol;
  const char* driver;
};

void read_tcp_listener(DiscoveryBuilder& b, const ConfigSection& general, const ConfigVariable& enabled,
                       const TcpListener& l, bool web) {
  ListeningPort p;
  p.role = l.role;
  p.protocol = l.protocol;
  p.l4 = L4::tcp;
  p.driver = l.driver;
  p.port = l.default_port;
  p.origin = origin_of(enabled, general);
  p.is_default = true;
  std::string address;
  if (l.port_key != nullptr) {
    if (const auto* v = general.find(l.port_key)) {
      auto port = parse_int(v->value);
      if (!port || *port < 1 || *port > 65535) {
        b.error(origin_of(*v, general), "'" + v->value + "' is not a port number in 1..65535");
        return;
      }
      p.port = static_cast<std::uint16_t>(*port);
      p.origin = origin_of(*v, general);
      p.is_default = false;
    }
  }
  if (const auto* v = general.find(l.address_key)) {
    std::string why;
    auto hp = parse_host_port(v->value, &why);
    if (!hp || !IpAddress::parse(hp->host)) {
      b.error(origin_of(*v, general), "'" + v->value + "': " + (hp ? "not an IP address" : why));
      return;
    }
    address = hp->host;
    if (hp->port != 0) {
      p.port = hp->port;
      p.origin = origin_of(*v, general);
      p.is_default = false;
    }
  }
  if (!address.empty()) p.bind_addresses.push_back(address);
  if (web) {
    b.add_web(std::move(p));
  } else {
    b.add_ami(std::move(p));
  }
}

}  // namespace

ModuleList ModuleList::read(DiscoveryBuilder& b) {
  ModuleList list;
  const auto cfg = b.load("modules.conf");
  if (!cfg.found) return list;  // without modules.conf we cannot tell: assume drivers load
  list.found_ = true;
  const auto* modules = b.general(cfg, "modules");
  if (!modules) return list;
  for (const auto& v : modules->variables) {
    const auto name = lower(v.name);
    if (name == "autoload") list.autoload_ = asterisk_true(v.value);
    if (name == "noload") list.noload_.push_back(lower(v.value));
    if (name == "load" || name == "preload" || name == "require" || name == "preload-require")
      list.load_.push_back(lower(v.value));
  }
  return list;
}

bool ModuleList::loads(std::string_view module) const {
  const auto name = lower(module);
  auto listed = [&](const std::vector<std::string>& l) { return std::find(l.begin(), l.end(), name) != l.end(); };
  if (listed(noload_)) return false;
  return autoload_ || listed(load_);
}

bool read_rtp(DiscoveryBuilder& b) {
  const auto cfg = b.load("rtp.conf");
  if (!cfg.found) return false;
  // Asterisk's defaults and limits (main/rtp_engine.c, res_rtp_asterisk.c).
  constexpr int kDefaultStart = 5000, kDefaultEnd = 31000, kMinimumPort = 1024, kMaximumPort = 65535;
  PortRange range{kDefaultStart, kDefaultEnd, Origin{b.path_of("rtp.conf"), 0, "general", {}}, true};
  const auto* general = b.general(cfg);
  if (!general) {
    b.set_rtp(range);
    return true;
  }
  int start = kDefaultStart, end = kDefaultEnd;
  const auto* start_var = general->find("rtpstart");
  const auto* end_var = general->find("rtpend");
  auto read_port = [&](const ConfigVariable* v, int& into) {
    if (!v) return;
    auto n = parse_int(v->value);
    if (!n) {
      b.warn(origin_of(*v, *general), "'" + v->value + "' is not a number; Asterisk's default applies");
      return;
    }
    into = std::clamp(*n, kMinimumPort, kMaximumPort);
    if (into != *n) b.warn(origin_of(*v, *general), "clamped to " + std::to_string(into) + " as Asterisk does");
  };
  read_port(start_var, start);
  read_port(end_var, end);
  if (start_var || end_var) {
    range.origin = origin_of(start_var ? *start_var : *end_var, *general);
    range.is_default = false;
  }
  if (start >= end) {
    b.warn(range.origin, "rtpstart " + std::to_string(start) + " is not below rtpend " + std::to_string(end) +
                             "; Asterisk falls back to 5000-31000");
    start = kDefaultStart;
    end = kDefaultEnd;
    range.is_default = true;
  }
  range.first = static_cast<std::uint16_t>(start);
  range.last = static_cast<std::uint16_t>(end);
  b.set_rtp(range);
  return true;
}

void read_http(DiscoveryBuilder& b) {
  const auto cfg = b.load("http.conf");
  const auto* general = b.general(cfg);
  if (!general) return;
  const auto* enabled = general->find("enabled");
  if (!enabled || !asterisk_true(enabled->value)) return;  // the server is off by default
  read_tcp_listener(b, *general, *enabled, {"bindaddr", "bindport", 8088, PortRole::http, "http", "http"}, true);
  if (const auto* tls = general->find("tlsenable"); tls && asterisk_true(tls->value)) {
    read_tcp_listener(b, *general, *tls, {"tlsbindaddr", "tlsbindport", 8089, PortRole::https, "https", "http"}, true);
  }
}

void read_manager(DiscoveryBuilder& b) {
  const auto cfg = b.load("manager.conf");
  const auto* general = b.general(cfg);
  if (!general) return;
  const auto* enabled = general->find("enabled");
  if (!enabled || !asterisk_true(enabled->value)) return;
  read_tcp_listener(b, *general, *enabled, {"bindaddr", "port", 5038, PortRole::ami, "ami", "manager"}, false);
  if (const auto* tls = general->find("tlsenable"); tls && asterisk_true(tls->value)) {
    read_tcp_listener(b, *general, *tls, {"tlsbindaddr", nullptr, 5039, PortRole::ami_tls, "ami-tls", "manager"}, false);
  }
}

}  // namespace pbxwall::pbx
