// Effective services (configuration + ports discovered from the PBX) and their port sets.
#include <algorithm>

#include "ruleset/ports.h"
#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {

namespace detail {

std::vector<model::PortRange> merge_ports(std::vector<model::PortRange> ports) {
  std::sort(ports.begin(), ports.end());
  std::vector<model::PortRange> out;
  for (const auto& p : ports) {
    if (!out.empty() && out.back().proto == p.proto &&
        static_cast<unsigned>(p.first) <= static_cast<unsigned>(out.back().last) + 1) {
      out.back().last = std::max(out.back().last, p.last);
    } else {
      out.push_back(p);
    }
  }
  return out;
}

std::vector<model::PortRange> subtract_ports(const std::vector<model::PortRange>& from,
                                             const std::vector<model::PortRange>& minus) {
  std::vector<model::PortRange> out;
  for (const auto& p : from) {
    unsigned first = p.first;  // the part of p not yet cut
    for (const auto& m : minus) {
      if (m.proto != p.proto || m.last < first || m.first > p.last) continue;
      if (m.first > first) out.push_back({p.proto, static_cast<std::uint16_t>(first), static_cast<std::uint16_t>(m.first - 1)});
      first = static_cast<unsigned>(m.last) + 1;
      if (first > p.last) break;
    }
    if (first <= p.last) out.push_back({p.proto, static_cast<std::uint16_t>(first), p.last});
  }
  return out;
}

std::vector<model::PortRange> zone_ports(const std::vector<model::Service>& services,
                                         model::Zone zone) {
  std::vector<model::PortRange> ports;
  for (const auto& s : services)
    if (s.zones.contains(zone)) ports.insert(ports.end(), s.ports.begin(), s.ports.end());
  return merge_ports(std::move(ports));
}

std::vector<model::PortRange> service_ports(const std::vector<model::Service>& services,
                                            std::initializer_list<std::string_view> names) {
  std::vector<model::PortRange> ports;
  for (const auto& s : services)
    if (std::find(names.begin(), names.end(), s.name) != names.end())
      ports.insert(ports.end(), s.ports.begin(), s.ports.end());
  return merge_ports(std::move(ports));
}

}  // namespace detail

std::vector<model::Service> effective_services(const model::Policy& policy,
                                               const std::optional<DiscoveredPorts>& discovered) {
  std::vector<model::Service> services = policy.services;
  if (!discovered) return services;
  for (auto& s : services) {
    if (!s.builtin || s.ports_configured) continue;  // the administrator's ports win
    std::vector<model::PortRange> found;
    if (s.name == "sip") found = discovered->sip;
    else if (s.name == "iax") found = discovered->iax;
    else if (s.name == "webrtc") found = discovered->webrtc;
    else if (s.name == "rtp" && discovered->rtp) found = {*discovered->rtp};
    if (found.empty()) continue;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    s.ports = std::move(found);
  }
  return services;
}

}  // namespace pbxwall::ruleset
