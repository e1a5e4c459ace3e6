#include <algorithm>

#include "model/model.h"

namespace pbxwall::model {
namespace {

bool is_loopback(const IpAddress& a) {
  static const Cidr v4 = *Cidr::parse("127.0.0.0/8");
  static const Cidr v6 = *Cidr::parse("::1/128");
  return v4.contains(a) || v6.contains(a);
}

bool opens(const Service& s, Proto proto, std::uint16_t port) {
  return std::any_of(s.ports.begin(), s.ports.end(), [&](const PortRange& r) {
    return r.proto == proto && r.first <= port && port <= r.last;
  });
}

}  // namespace

std::string Session::describe() const {
  std::string s = kind + " from " + client.str();
  if (port != 0) s += " to " + std::string(proto_name(proto)) + "/" + std::to_string(port);
  return s;
}

std::optional<std::string> session_refused(const Policy& policy, const Session& session,
                                           const ResolvedHosts& resolved) {
  if (is_loopback(session.client) || !policy.enabled) return std::nullopt;
  const Zone zone = zone_of(policy, session.client, session.ifname, resolved);
  if (zone == Zone::trusted) return std::nullopt;
  const std::string where = session.client.str() + " would be in zone " + std::string(zone_name(zone));
  if (zone == Zone::reject) return where + ", which reaches nothing";
  for (const auto& s : policy.services) {
    if (!s.zones.contains(zone)) continue;
    if (session.port != 0 ? opens(s, session.proto, session.port)
                          : (s.name == "ssh" || s.name == "http" || s.name == "https"))
      return std::nullopt;
  }
  if (session.port == 0) return where + ", where neither ssh nor http(s) is open";
  return where + ", where no service opens " + std::string(proto_name(session.proto)) + "/" +
         std::to_string(session.port);
}

}  // namespace pbxwall::model
