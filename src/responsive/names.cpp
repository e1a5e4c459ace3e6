// Names of the engine's enums, default lists, and settings checks.
#include <string>

#include "responsive/responsive.h"

namespace pbxwall::responsive {

const char* kind_name(ObservationKind k) {
  switch (k) {
    case ObservationKind::sip_request: return "sip_request";
    case ObservationKind::sip_response: return "sip_response";
    case ObservationKind::iax_frame: return "iax_frame";
    case ObservationKind::malformed: return "malformed";
    case ObservationKind::security_event: return "security_event";
    case ObservationKind::count_: break;
  }
  return "unknown";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::block: return "block";
    case Action::validate: return "validate";
    case Action::forget: return "forget";
    case Action::flag: return "flag";
    case Action::unblock: return "unblock";
    case Action::failed_again: return "failed-again";
  }
  return "unknown";
}

const char* rule_name(Rule r) {
  switch (r) {
    case Rule::fingerprint: return "fingerprint";
    case Rule::user_enumeration: return "user-enumeration";
    case Rule::password_guessing: return "password-guessing";
    case Rule::call_probing: return "call-probing";
    case Rule::flood: return "flood";
    case Rule::registration: return "registration";
    case Rule::registration_expired: return "registration-expired";
    case Rule::misconfigured_device: return "misconfigured-device";
    case Rule::manual: return "manual";
    case Rule::address_rotation: return "address-rotation";
    case Rule::outside_allow_from: return "outside-allow-from";
    case Rule::extension_alarm: return "extension-alarm";
    case Rule::count_: break;
  }
  return "unknown";
}

std::optional<Rule> rule_from_name(std::string_view name) {
  for (std::size_t i = 0; i < static_cast<std::size_t>(Rule::count_); ++i)
    if (name == rule_name(static_cast<Rule>(i))) return static_cast<Rule>(i);
  return std::nullopt;
}

const char* state_name(SourceState s) {
  switch (s) {
    case SourceState::none: return "none";
    case SourceState::blocked: return "blocked";
    case SourceState::validated: return "validated";
  }
  return "unknown";
}

std::vector<std::string> default_fingerprints() {
  // User-Agent substrings of SIP attack tools (SIPVicious, SIPPTS, sipcli, VaxSIP-based
  // scanners, iWar, sundayddr, sipsak, siparmyknife, sivus, smap) as reported by Kamailio
  // configurations and SIP hardening guides.
  return {"friendly-scanner", "sipvicious", "sipcli",  "vaxsipuseragent", "vaxipuseragent",
          "pplsip",           "sip-scan",   "sipscan", "iwar",            "sundayddr",
          "sipsak",           "siparmyknife", "sivus", "smap",            "friendly-request"};
}

std::vector<std::string> default_international_prefixes() { return {"00", "011", "9011", "+"}; }

std::string_view SipRequest::target_user() const {
  if (has_credentials && !auth_user.empty()) return auth_user;
  return method == SipMethod::register_ ? to_user : uri_user;
}

std::string validate(const Settings& s) {
  auto positive = [](Duration d) { return d.count() > 0; };
  if (s.max_sources < 1 || s.max_sources > 0xfffffffeu) return "max_sources must be between 1 and 4294967294";
  if (s.max_blocked < 1 || s.max_blocked > kMaxMaxBlocked)
    return "max_blocked must be between 1 and " + std::to_string(kMaxMaxBlocked);
  for (const auto& f : s.fingerprints)
    if (f.empty()) return "fingerprints must not contain an empty string";
  if (!positive(s.fingerprint_block)) return "fingerprint_block must be positive";
  if (s.enumeration.count < 1 || !positive(s.enumeration.window)) return "enumeration needs a count >= 1 and a positive window";
  if (s.enumeration_unanswered < 1) return "enumeration_unanswered must be >= 1";
  if (s.enumeration_ignored > 10000) return "enumeration_ignored must be between 0 (off) and 10000";
  if (s.challenge_answer_time.count() < 0 || s.challenge_answer_time > std::chrono::seconds(10))
    return "challenge_answer_time must be between 0 and 10s";
  if (s.guessing.count < 1 || !positive(s.guessing.window)) return "guessing needs a count >= 1 and a positive window";
  if (s.flood.count < 1 || !positive(s.flood.window)) return "flood needs a count >= 1 and a positive window";
  if (s.probing_destinations < 1 || s.probing_destinations > 255) return "probing_destinations must be between 1 and 255";
  if (s.probing_international < 1 || s.probing_international > 255) return "probing_international must be between 1 and 255";
  for (const auto& p : s.international_prefixes)
    if (p.empty()) return "international_prefixes must not contain an empty string";
  if (s.registration_grace.count() < 0) return "registration_grace must not be negative";
  if (!positive(s.default_registration)) return "default_registration must be positive";
  if (s.misconfigured_after < 1) return "misconfigured_after must be >= 1";
  if (s.block_ladder.empty()) return "block_ladder must list at least one duration";
  if (s.block_ladder.size() > 255) return "block_ladder is limited to 255 steps";
  for (auto d : s.block_ladder)
    if (!positive(d)) return "block_ladder durations must be positive";
  if (s.ipv6_rotation_sources > 8) return "ipv6_rotation_sources must be between 0 (off) and 8";
  if (s.flood_port.count < 1 || !positive(s.flood_port.window)) return "flood_port needs a count >= 1 and a positive window";
  if (s.guessing_fast_failures == 1 || s.guessing_fast_failures > 255)
    return "guessing_fast_failures must be 0 (off) or between 2 and 255";
  if (!positive(s.guessing_fast_gap)) return "guessing_fast_gap must be positive";
  if (s.extension_alarm_sources > 8) return "extension_alarm_sources must be between 0 (off) and 8";
  if (!positive(s.extension_alarm_window)) return "extension_alarm_window must be positive";
  if (!positive(s.extension_alarm_hold)) return "extension_alarm_hold must be positive";
  return {};
}

}  // namespace pbxwall::responsive
