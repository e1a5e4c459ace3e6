#include "daemon/source_trail.h"

#include <algorithm>
#include <chrono>
#include <variant>

namespace pbxwall::daemon {

using json = nlohmann::json;

namespace {

std::string cut(std::string_view s, std::size_t n = 40) {
  std::string out(s.substr(0, n));
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  return s.size() > n ? out + "…" : out;
}

const char* method_text(responsive::SipMethod m) {
  using responsive::SipMethod;
  switch (m) {
    case SipMethod::register_: return "REGISTER";
    case SipMethod::invite: return "INVITE";
    case SipMethod::options: return "OPTIONS";
    case SipMethod::subscribe: return "SUBSCRIBE";
    case SipMethod::message: return "MESSAGE";
    case SipMethod::ack: return "ACK";
    case SipMethod::bye: return "BYE";
    case SipMethod::cancel: return "CANCEL";
    case SipMethod::other: break;
  }
  return "SIP request";
}

const char* iax_text(responsive::IaxCommand c) {
  using responsive::IaxCommand;
  switch (c) {
    case IaxCommand::new_: return "NEW";
    case IaxCommand::regreq: return "REGREQ";
    case IaxCommand::regauth: return "REGAUTH";
    case IaxCommand::regack: return "REGACK";
    case IaxCommand::regrej: return "REGREJ";
    case IaxCommand::regrel: return "REGREL";
    case IaxCommand::authreq: return "AUTHREQ";
    case IaxCommand::authrep: return "AUTHREP";
    case IaxCommand::accept: return "ACCEPT";
    case IaxCommand::reject: return "REJECT";
    case IaxCommand::hangup: return "HANGUP";
    case IaxCommand::poke: return "POKE";
    case IaxCommand::pong: return "PONG";
    case IaxCommand::other: break;
  }
  return "frame";
}

}  // namespace

std::string trail_text(const responsive::Observation& obs) {
  using namespace responsive;
  if (const auto* r = std::get_if<SipRequest>(&obs.body)) {
    std::string s = method_text(r->method);
    const auto user = r->target_user();
    if (!user.empty()) s += (r->method == SipMethod::invite ? " to " : " for ") + cut(user);
    if (r->has_credentials) s += " with credentials";
    if (!r->user_agent.empty()) s += " (" + cut(r->user_agent) + ")";
    return s;
  }
  if (const auto* a = std::get_if<SipResponse>(&obs.body)) {
    std::string s = std::to_string(a->status) + " to " + method_text(a->cseq_method);
    if (a->has_challenge) s += ", challenge";
    return s;
  }
  if (const auto* f = std::get_if<IaxFrame>(&obs.body)) {
    std::string s = std::string("IAX2 ") + iax_text(f->command);
    if (!f->username.empty()) s += " for " + cut(f->username);
    if (!f->called_number.empty()) s += " to " + cut(f->called_number);
    return s;
  }
  if (const auto* m = std::get_if<Malformed>(&obs.body))
    return std::string(m->protocol == Protocol::sip ? "malformed SIP: " : "malformed IAX2: ") + cut(m->reason, 80);
  if (const auto* e = std::get_if<SecurityEvent>(&obs.body)) {
    const char* kind = e->kind == SecurityEventKind::auth_ok          ? "the PBX says: authenticated"
                       : e->kind == SecurityEventKind::unknown_account ? "the PBX says: no such account"
                                                                       : "the PBX says: wrong password";
    return std::string(kind) + (e->account.empty() ? "" : " for " + cut(e->account));
  }
  return "packet";
}

SourceTrail::SourceTrail(std::size_t sources, std::size_t per_source)
    : sources_(sources == 0 ? 1 : sources), per_source_(per_source == 0 ? 1 : per_source) {}

void SourceTrail::record(const responsive::Observation& obs) {
  add(obs.meta.remote(), {obs.meta.t, obs.meta.dir == responsive::Direction::from_pbx, trail_text(obs), "", ""});
}

void SourceTrail::record(const responsive::Decision& d, TimePoint now) {
  add(d.addr, {now, false, d.reason, responsive::action_name(d.action), responsive::rule_name(d.rule)});
}

void SourceTrail::add(const IpAddress& addr, TrailStep step) {
  auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) {
    if (recent_.size() >= sources_) {
      by_addr_.erase(recent_.back().addr);
      recent_.pop_back();
    }
    recent_.push_front(Trail{addr, {}, 0});
    it = by_addr_.emplace(addr, recent_.begin()).first;
  } else if (it->second != recent_.begin()) {
    recent_.splice(recent_.begin(), recent_, it->second);
  }
  Trail& trail = *it->second;
  // The first quarter stays (what started it: the packet that got it blocked), the rest is a
  // ring of the latest.
  const std::size_t head = per_source_ / 4;
  if (trail.steps.size() < per_source_) {
    trail.steps.push_back(std::move(step));
  } else {
    trail.steps[head + trail.next] = std::move(step);
    trail.next = (trail.next + 1) % (per_source_ - head);
  }
}

std::vector<TrailStep> SourceTrail::of(const IpAddress& addr) const {
  const auto it = by_addr_.find(addr);
  if (it == by_addr_.end()) return {};
  const Trail& trail = *it->second;
  std::vector<TrailStep> out;
  out.reserve(trail.steps.size());
  const std::size_t head = std::min(per_source_ / 4, trail.steps.size());
  const std::size_t ring = trail.steps.size() - head;
  for (std::size_t i = 0; i < head; ++i) out.push_back(trail.steps[i]);
  for (std::size_t i = 0; i < ring; ++i) out.push_back(trail.steps[head + (trail.next + i) % ring]);
  return out;
}

json SourceTrail::json_of(const IpAddress& addr) const {
  json steps = json::array();
  for (const auto& s : of(addr)) {
    json step = {{"t", std::chrono::duration<double>(s.t.time_since_epoch()).count()}, {"from_pbx", s.from_pbx}, {"what", s.what}};
    if (!s.action.empty()) {
      step["action"] = s.action;
      step["rule"] = s.rule;
    }
    steps.push_back(std::move(step));
  }
  return {{"ok", true}, {"addr", addr.str()}, {"steps", steps}, {"kept", per_source_}};
}

}  // namespace pbxwall::daemon
