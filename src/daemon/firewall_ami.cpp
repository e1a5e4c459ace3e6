// The Firewall's side of the PBX's own word (AMI events): security events fed to the engine
// when the packet path cannot see them, registrations validated and forgotten.
#include <algorithm>

#include "daemon/firewall.h"

namespace pbxwall::daemon {

namespace {

// Past this many addresses the per-address request marks start afresh: a mark only saves one
// event from being counted twice, so losing them costs little and memory stays bounded.
constexpr std::size_t kMaxRequestMarks = 65536;

}  // namespace

bool Firewall::on_pbx_security_event(const PbxSecurityEvent& event) {
  if (!engine_) return false;
  const TimePoint now = edges_.clock.now();
  // The kernel copies requests of unvalidated remotes on the signalling ports (UDP and TCP)
  // to the packet path, which rates the PBX's answers to them: the same failed attempt would
  // otherwise count twice. What it cannot see (TLS, WebSocket, validated remotes, other
  // ports) leaves the engine's request count where it was.
  const auto source = engine_->source(event.remote);
  const std::uint32_t requests = source ? source->requests : 0;
  if (pbx_word_.requests_at_last_event.size() >= kMaxRequestMarks) pbx_word_.requests_at_last_event.clear();
  const auto mark = pbx_word_.requests_at_last_event.try_emplace(event.remote, 0u).first;
  const bool seen_by_packets = requests != mark->second;
  mark->second = requests;
  if (seen_by_packets) return false;

  responsive::Observation obs;
  obs.meta.t = now;
  obs.meta.dir = responsive::Direction::to_pbx;
  obs.meta.src = event.remote;
  obs.meta.sport = event.remote_port;
  obs.meta.transport = event.transport;
  obs.body = responsive::SecurityEvent{event.kind, event.account};
  decisions_.clear();
  engine_->observe(obs, now, decisions_);
  for (const auto& d : decisions_) take(d, now);
  return true;
}

bool Firewall::on_pbx_registration(const IpAddress& addr, const std::string& user, std::optional<TimePoint> ends,
                                   const std::string& reason) {
  if (!engine_) return false;
  const TimePoint now = edges_.clock.now();
  // An extension registered from outside its allow_from: blocked (unless never_block), never
  // validated.
  decisions_.clear();
  if (!engine_->registration_allowed(addr, now, user, decisions_)) {
    for (const auto& d : decisions_) take(d, now);
    if (!decisions_.empty()) flush();  // the caller flushes only after validations
    return false;
  }
  pbx_word_.registered[addr].insert(user);
  const auto& settings = engine_->settings();
  // A registration end in the past (clocks apart) falls back to the default; one absurdly far
  // ahead is held to a day, as the PBX's maximum expiry is far below that.
  const TimePoint end = ends && *ends > now ? std::min<TimePoint>(*ends, now + std::chrono::hours(24))
                                            : now + settings.default_registration;
  const TimePoint until = end + settings.registration_grace;
  // Validated already (by the packet path or an earlier event) for this user and about as
  // long, or the PBX gave no end (Asterisk 22's ContactStatus carries no RegExpire; the
  // packet path read the expiry from the PBX's answer): one validation, not two.
  const auto source = engine_->source(addr);
  if (source && source->state == responsive::SourceState::validated && source->user == user && source->until &&
      (!ends || *source->until + settings.registration_grace >= until) && !pbx_word_.forgotten.count(addr))
    return false;
  if (source && source->state == responsive::SourceState::blocked) return false;  // the engine's block stands
  // The engine holds the validation too, so that it expires it (a forget decision) and its own
  // registration handling of the same address renews this one.
  if (!engine_->restore_validation(addr, now, user, until)) return false;
  take(responsive::Decision{responsive::Action::validate, addr, user, until, responsive::Rule::registration, reason}, now);
  return true;
}

bool Firewall::on_pbx_unregistration(const IpAddress& addr, const std::string& user, const std::string& reason) {
  if (!engine_) return false;
  bool known = false;
  if (auto it = pbx_word_.registered.find(addr); it != pbx_word_.registered.end()) {
    known = it->second.erase(user) > 0;
    if (!it->second.empty()) return false;  // another phone behind the same address stays
    pbx_word_.registered.erase(it);
  }
  const auto source = engine_->source(addr);
  if (!source || source->state != responsive::SourceState::validated || pbx_word_.forgotten.count(addr)) return false;
  if (!known && source->user != user) return false;  // validated for a user the PBX did not remove
  const TimePoint now = edges_.clock.now();
  take(responsive::Decision{responsive::Action::forget, addr, user, std::nullopt, responsive::Rule::registration, reason},
       now);
  pbx_word_.forgotten.insert(addr);
  return true;
}

std::vector<IpAddress> Firewall::pbx_registrations_of(const std::string& user) const {
  std::vector<IpAddress> out;
  for (const auto& [addr, users] : pbx_word_.registered)
    if (users.count(user)) out.push_back(addr);
  return out;
}

}  // namespace pbxwall::daemon
