// What the bridge to other servers (CrowdSec's LAPI) needs of the Firewall: which addresses
// must stay open, which this server blocks itself, and a way to change our table's sets.
#include <algorithm>

#include "daemon/firewall.h"

namespace pbxwall::daemon {

std::optional<std::string> Firewall::spare_reason(const Cidr& net) const {
  if (!loaded_) return std::nullopt;
  // Networks: trusted ones are accepted before any ban is looked at, and the drop rule skips
  // trunks, so the kernel keeps them open; only single addresses are judged here.
  if (!net.is_host()) return std::nullopt;
  const IpAddress& addr = net.address();
  if (is_trunk(addr)) return std::string("trunk");
  if (model::zone_of(*policy(), addr, "", resolved_hosts()) == model::Zone::trusted)
    return std::string("trusted network");
  if (engine_) {
    if (auto view = engine_->source(addr); view && view->state == responsive::SourceState::validated)
      return "validated: user " + (view->user.empty() ? std::string("?") : view->user);
  }
  if (vpn_clients_.contains(addr)) return std::string("VPN client");
  return std::nullopt;
}

std::string Firewall::spare_kind(const std::string& reason) {
  return reason.substr(0, reason.find(':'));
}

bool Firewall::blocks_here(const IpAddress& addr) const {
  if (!engine_) return false;
  auto view = engine_->source(addr);
  return view && view->state == responsive::SourceState::blocked;
}

Status<std::string> Firewall::set_blocklists(ListsSource source) {
  lists_ = std::move(source);
  if (!loaded_) return {};
  flush();  // the table about to be rendered must hold this tick's decisions
  return apply(*loaded_);
}

Status<std::string> Firewall::apply_set_script(std::string_view script) {
  if (script.empty()) return {};
  auto applied = edges_.applier.apply(script);
  if (applied.ok()) ++counters_.kernel_commits;
  else ++counters_.kernel_failures;
  return applied;
}

void Firewall::note_event(std::string kind, std::string addr, std::string rule, std::string reason) {
  store::EventRecord e;
  e.time = edges_.clock.now();
  e.kind = std::move(kind);
  e.address = std::move(addr);
  e.rule = std::move(rule);
  e.reason = std::move(reason);
  pending_events_.push_back(std::move(e));
}

}  // namespace pbxwall::daemon
