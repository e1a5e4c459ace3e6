// Zones, protocols, port ranges and the built-in services: the words of the configuration.
#include <algorithm>
#include <charconv>

#include "model/model.h"

namespace pbxwall::model {

std::string_view zone_name(Zone z) {
  switch (z) {
    case Zone::trusted: return "trusted";
    case Zone::local: return "local";
    case Zone::other: return "other";
    case Zone::internet: return "internet";
    case Zone::reject: return "reject";
  }
  return "internet";
}

std::string_view zone_description(Zone z) {
  switch (z) {
    case Zone::trusted: return "reaches every service; never blocked";
    case Zone::local: return "the office network: administration, phones, provisioning";
    case Zone::other: return "known remote sites and phones: telephony and user portal";
    case Zone::internet: return "everyone else: RTP, and SIP/IAX through the responsive firewall";
    case Zone::reject: return "reaches nothing";
  }
  return "";
}

std::optional<Zone> parse_zone(std::string_view name) {
  for (Zone z : kAllZones)
    if (zone_name(z) == name) return z;
  return std::nullopt;
}

int restrictiveness(Zone z) {
  switch (z) {
    case Zone::trusted: return 0;
    case Zone::local: return 1;
    case Zone::other: return 2;
    case Zone::internet: return 3;
    case Zone::reject: return 4;
  }
  return 4;
}

std::string_view proto_name(Proto p) { return p == Proto::tcp ? "tcp" : "udp"; }

namespace {

std::optional<std::uint16_t> parse_port(std::string_view s, std::string* why) {
  unsigned long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    if (ec == std::errc::result_out_of_range) {
      if (why) *why = "port must be 1..65535";
      return std::nullopt;
    }
    if (why) *why = "port '" + std::string(s) + "' is not a number";
    return std::nullopt;
  }
  if (v == 0 || v > 65535) {
    if (why) *why = "port must be 1..65535";
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

std::optional<PortRange> PortRange::parse(std::string_view text, std::string* why) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    if (why) *why = "expected PROTO/PORT or PROTO/FIRST-LAST, e.g. \"udp/5060\" (protocol missing)";
    return std::nullopt;
  }
  PortRange r;
  const auto proto = text.substr(0, slash);
  if (proto == "tcp") {
    r.proto = Proto::tcp;
  } else if (proto == "udp") {
    r.proto = Proto::udp;
  } else {
    if (why) *why = "protocol must be tcp or udp";
    return std::nullopt;
  }
  const auto ports = text.substr(slash + 1);
  const auto dash = ports.find('-');
  auto first = parse_port(ports.substr(0, dash), why);
  if (!first) return std::nullopt;
  r.first = r.last = *first;
  if (dash != std::string_view::npos) {
    auto last = parse_port(ports.substr(dash + 1), why);
    if (!last) return std::nullopt;
    if (*last < *first) {
      if (why) *why = "range start is greater than its end";
      return std::nullopt;
    }
    r.last = *last;
  }
  return r;
}

std::string PortRange::str() const {
  std::string s(proto_name(proto));
  s += "/" + std::to_string(first);
  if (last != first) s += "-" + std::to_string(last);
  return s;
}

const std::vector<Service>& builtin_services() {
  using enum Zone;
  using enum Proto;
  static const std::vector<Service> services = [] {
    std::vector<Service> v = {
        {"http", "FreePBX administration over HTTP", {{tcp, 80, 80}}, {local}, true, false},
        {"https", "FreePBX administration over HTTPS", {{tcp, 443, 443}}, {local}, true, false},
        {"iax", "IAX2 trunks and phones", {{udp, 4569, 4569}}, {local, other}, true, false},
        {"ntp", "time service for phones", {{udp, 123, 123}}, {local}, true, false},
        {"provisioning", "phone provisioning (HTTP, HTTPS, TFTP)",
         {{tcp, 84, 84}, {tcp, 1443, 1443}, {udp, 69, 69}}, {local}, true, false},
        {"rtp", "media of calls", {{udp, 10000, 20000}}, {local, other, internet}, true, false},
        {"sip", "SIP signalling of phones and trunks",
         {{tcp, 5060, 5060}, {tcp, 5061, 5061}, {udp, 5060, 5060}}, {local, other}, true, false},
        {"ssh", "secure shell", {{tcp, 22, 22}}, {local}, true, false},
        {"ucp", "User Control Panel over HTTP", {{tcp, 81, 81}}, {local, other}, true, false},
        {"ucp_ssl", "User Control Panel over HTTPS", {{tcp, 4443, 4443}}, {local, other}, true,
         false},
        {"vpn", "OpenVPN server", {{udp, 1194, 1194}}, {local}, true, false},
        {"webrtc", "WebRTC phones (Asterisk HTTP/HTTPS websocket)",
         {{tcp, 8088, 8088}, {tcp, 8089, 8089}}, {local, other}, true, false},
    };
    for (auto& s : v) std::sort(s.ports.begin(), s.ports.end());
    std::sort(v.begin(), v.end(), [](const Service& a, const Service& b) { return a.name < b.name; });
    return v;
  }();
  return services;
}

const Service* Policy::find_service(std::string_view name) const {
  auto it = std::lower_bound(services.begin(), services.end(), name,
                             [](const Service& s, std::string_view n) { return s.name < n; });
  if (it == services.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace pbxwall::model
