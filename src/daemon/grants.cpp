#include "daemon/grants.h"

#include <netinet/in.h>

#include <algorithm>

namespace pbxwall::daemon {

namespace {

std::uint8_t l4proto(model::Proto p) { return p == model::Proto::udp ? IPPROTO_UDP : IPPROTO_TCP; }

packets::SetKey key_of(const IpAddress& addr, const GrantPort& p) { return packets::SetKey::grant(addr, l4proto(p.proto), p.port); }

}  // namespace

std::vector<GrantPort> grant_ports(const std::vector<model::Service>& services, const std::vector<std::string>& names) {
  std::vector<GrantPort> out;
  for (const auto& name : names) {
    for (const auto& s : services) {
      if (s.name != name) continue;
      std::size_t n = 0;
      for (const auto& r : s.ports)
        for (std::uint32_t p = r.first; p <= r.last && n < kMaxGrantPortsPerService; ++p, ++n)
          out.push_back({r.proto, static_cast<std::uint16_t>(p)});
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void GrantTable::grant(const IpAddress& addr, const std::string& user, std::vector<GrantPort> ports, TimePoint until,
                       TimePoint now, packets::SetUpdater& sets) {
  auto& held = held_[addr];
  for (const auto& old : held.ports)
    if (!std::binary_search(ports.begin(), ports.end(), old)) sets.remove(key_of(addr, old));
  const Duration left = until > now ? until - now : Duration(0);
  const std::string comment = "user " + user;
  for (const auto& p : ports) sets.add({key_of(addr, p), left, comment});
  held = Held{user, std::move(ports), until};
  if (held.ports.empty()) held_.erase(addr);
}

std::size_t GrantTable::revoke(const IpAddress& addr, packets::SetUpdater& sets) {
  auto it = held_.find(addr);
  if (it == held_.end()) return 0;
  for (const auto& p : it->second.ports) sets.remove(key_of(addr, p));
  const std::size_t n = it->second.ports.size();
  held_.erase(it);
  return n;
}

void GrantTable::recompute(const std::function<std::vector<GrantPort>(const std::string&)>& ports_of_user, TimePoint now) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.until <= now) {
      it = held_.erase(it);
      continue;
    }
    it->second.ports = ports_of_user(it->second.user);
    it = it->second.ports.empty() ? held_.erase(it) : std::next(it);
  }
}

std::vector<ruleset::GrantEntry> GrantTable::live(TimePoint now) const {
  std::vector<ruleset::GrantEntry> out;
  for (const auto& [addr, held] : held_) {
    if (held.until <= now) continue;
    for (const auto& p : held.ports) out.push_back({addr, p.proto, p.port, held.until - now});
  }
  return out;
}

std::vector<GrantPort> GrantTable::ports_of(const IpAddress& addr) const {
  auto it = held_.find(addr);
  return it == held_.end() ? std::vector<GrantPort>{} : it->second.ports;
}

}  // namespace pbxwall::daemon
