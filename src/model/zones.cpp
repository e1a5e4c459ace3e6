// Which zone a source belongs to: the most specific network, else its interface's zone.
#include <algorithm>
#include <cctype>

#include "model/model.h"

namespace pbxwall::model {

bool is_valid_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // fully qualified form
  if (name.empty() || name.size() > 253) return false;
  std::string_view last_label;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const auto label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    last_label = label;
    start = dot + 1;
  }
  // An all-digit last label would make "10.0.0.300" a hostname; it is a mistyped address.
  return !std::all_of(last_label.begin(), last_label.end(),
                      [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::vector<std::pair<Cidr, Zone>> zone_networks(const Policy& policy,
                                                 const ResolvedHosts& resolved) {
  std::vector<std::pair<Cidr, Zone>> out;
  out.reserve(policy.networks.size());
  for (const auto& n : policy.networks) {
    if (n.cidr) {
      out.emplace_back(*n.cidr, n.zone);
      continue;
    }
    auto it = resolved.find(n.hostname);
    if (it == resolved.end()) continue;
    for (const auto& a : it->second) out.emplace_back(Cidr(a, a.bit_width()), n.zone);
  }
  return out;
}

Zone zone_of(const Policy& policy, const IpAddress& src, std::string_view ifname,
             const ResolvedHosts& resolved) {
  int best_prefix = -1;
  Zone best = Zone::internet;
  auto consider = [&](const Cidr& c, Zone z) {
    if (!c.contains(src)) return;
    if (c.prefix() > best_prefix ||
        (c.prefix() == best_prefix && restrictiveness(z) > restrictiveness(best))) {
      best_prefix = c.prefix();
      best = z;
    }
  };
  for (const auto& n : policy.networks) {
    if (n.cidr) {
      consider(*n.cidr, n.zone);
    } else if (auto it = resolved.find(n.hostname); it != resolved.end()) {
      for (const auto& a : it->second) consider(Cidr(a, a.bit_width()), n.zone);
    }
  }
  if (best_prefix >= 0) return best;
  if (auto it = policy.interfaces.find(ifname); it != policy.interfaces.end()) return it->second;
  return Zone::internet;
}

}  // namespace pbxwall::model
