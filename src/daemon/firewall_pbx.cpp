// The Firewall's PBX integration: ports discovered in the PBX's configuration, trunk networks
// (never blocked, updated as set contents rather than by a ruleset reload), per-extension
// grants and VPN clients.
#include <algorithm>

#include "daemon/firewall.h"

namespace pbxwall::daemon {

namespace {

// Replaces the contents of trunks4/trunks6 in one transaction. The sets are interval sets whose
// ranges the renderer merged; flushing and refilling them avoids deleting one address out of a
// merged range (which nft refuses), and a transaction never shows an empty set in between.
std::string trunk_set_script(const std::vector<Cidr>& trunks) {
  std::vector<std::pair<Cidr, model::Zone>> nets;
  for (const auto& c : trunks) nets.emplace_back(c, model::Zone::trusted);
  const auto ranges = ruleset::flatten_zones(std::move(nets));
  const std::string table = std::string(ruleset::kTableFamily) + " " + std::string(ruleset::kTableName);
  std::string script = "flush set " + table + " trunks4\nflush set " + table + " trunks6\n";
  for (const bool v4 : {true, false}) {
    std::string elements;
    for (const auto& r : ranges) {
      if (r.first.is_v4() != v4) continue;
      elements += (elements.empty() ? "" : ", ") + r.first.str();
      if (r.last != r.first) elements += "-" + r.last.str();
    }
    if (!elements.empty()) script += "add element " + table + (v4 ? " trunks4 { " : " trunks6 { ") + elements + " }\n";
  }
  return script;
}

}  // namespace

std::vector<GrantPort> Firewall::grant_ports_of(const std::string& user) const {
  if (!policy()) return {};
  const auto services = ruleset::effective_services(*policy(), discovered_);
  return grant_ports(services, integration().users.of(user));
}

void Firewall::grant_for(const responsive::Decision& d, TimePoint now) {
  using responsive::Action;
  if (d.action == Action::validate) {
    const TimePoint until = d.until.value_or(now + std::chrono::hours(1));
    grants_.grant(d.addr, d.user, grant_ports_of(d.user), until, now, edges_.sets);
  } else if (d.action == Action::forget || d.action == Action::block) {
    grants_.revoke(d.addr, edges_.sets);
  }
}

Status<std::string> Firewall::set_discovered_ports(std::optional<ruleset::DiscoveredPorts> ports) {
  auto same = [](const std::optional<ruleset::DiscoveredPorts>& a, const std::optional<ruleset::DiscoveredPorts>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (!a) return true;
    return a->sip == b->sip && a->iax == b->iax && a->rtp == b->rtp && a->webrtc == b->webrtc;
  };
  if (same(ports, discovered_)) {
    if (ports) discovered_->origins = std::move(ports->origins);  // a line moved: listings follow, the table stays
    return {};
  }
  auto previous = std::move(discovered_);
  discovered_ = std::move(ports);
  if (!loaded_) return {};
  flush();  // the table about to be rendered must hold this tick's decisions
  grants_.recompute([this](const std::string& user) { return grant_ports_of(user); }, edges_.clock.now());
  auto applied = apply(*loaded_);
  if (!applied.ok()) {
    discovered_ = std::move(previous);
    ++counters_.refused_reloads;
    return fail("the kernel refused the ruleset with the PBX's ports, the running policy is kept:\n" + applied.error());
  }
  rebuild_tap();
  ++counters_.reloads;
  return {};
}

Status<std::string> Firewall::set_trunks(std::vector<Cidr> trunks) {
  std::sort(trunks.begin(), trunks.end());
  trunks.erase(std::unique(trunks.begin(), trunks.end()), trunks.end());
  if (trunks == trunks_) return {};
  trunks_ = std::move(trunks);
  std::vector<std::pair<Cidr, model::Zone>> nets;
  for (const auto& c : trunks_) nets.emplace_back(c, model::Zone::trusted);
  trunk_index_ = ruleset::ZoneIndex::of_networks(std::move(nets));
  if (!loaded_) return {};
  auto applied = edges_.applier.apply(trunk_set_script(trunks_));
  if (!applied.ok()) {
    ++counters_.kernel_failures;
    return fail("updating the trunks sets: " + applied.error());
  }
  ++counters_.kernel_commits;
  return {};
}

bool Firewall::is_trunk(const IpAddress& addr) const {
  return trunk_index_.contains(addr);
}

void Firewall::set_vpn_clients(const std::vector<IpAddress>& present) {
  if (!engine_) return;
  const TimePoint now = edges_.clock.now();
  // Renewed at every poll; the timeout only matters if the daemon stops polling.
  const TimePoint until = now + std::max<Duration>(integration().vpn.poll * 6, std::chrono::minutes(1));
  std::set<IpAddress> now_present(present.begin(), present.end());
  for (const auto& addr : now_present) {
    responsive::Decision d{responsive::Action::validate, addr, "vpn", until, responsive::Rule::manual, "VPN client"};
    if (!vpn_clients_.count(addr)) {
      take(d, now);  // validated set, grants, store row and event
    } else {
      edges_.sets.add({packets::SetKey::validated(addr), until - now, "vpn"});
      grant_for(d, now);
    }
  }
  for (const auto& addr : vpn_clients_)
    if (!now_present.count(addr))
      take({responsive::Action::forget, addr, "vpn", std::nullopt, responsive::Rule::manual, "VPN client gone"}, now);
  vpn_clients_ = std::move(now_present);
  flush();
}

}  // namespace pbxwall::daemon
