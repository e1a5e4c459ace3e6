// Observations from parsed SIP messages.
#include "responsive/responsive.h"
#include "sip/sip.h"

namespace pbxwall::responsive {
namespace {

SipMethod method_of(sip::Method m) {
  switch (m) {
    case sip::Method::register_: return SipMethod::register_;
    case sip::Method::invite: return SipMethod::invite;
    case sip::Method::options: return SipMethod::options;
    case sip::Method::subscribe: return SipMethod::subscribe;
    case sip::Method::message: return SipMethod::message;
    case sip::Method::ack: return SipMethod::ack;
    case sip::Method::bye: return SipMethod::bye;
    case sip::Method::cancel: return SipMethod::cancel;
    default: return SipMethod::other;
  }
}

// Expiry asked for or granted: the first Contact's parameter wins over the Expires header
// (RFC 3261 10.2.1.1); "Contact: *" only appears with Expires: 0.
std::optional<std::uint32_t> expiry_of(const sip::Message& m) {
  if (m.contact.present && m.contact.is_star) return 0u;
  if (m.contact.present && m.contact.expires) return m.contact.expires;
  return m.expires;
}

// True if a challenge header carries stale=true (any case, quoted or not).
bool says_stale(std::string_view challenge) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t at = 0; at + 5 <= challenge.size(); ++at) {
    std::size_t i = 0;
    while (i < 5 && lower(challenge[at + i]) == "stale"[i]) ++i;
    if (i < 5) continue;
    std::size_t j = at + 5;
    while (j < challenge.size() && (challenge[j] == ' ' || challenge[j] == '\t')) ++j;
    if (j >= challenge.size() || challenge[j] != '=') continue;
    ++j;
    while (j < challenge.size() && (challenge[j] == ' ' || challenge[j] == '\t' || challenge[j] == '"')) ++j;
    if (j + 4 <= challenge.size() && lower(challenge[j]) == 't' && lower(challenge[j + 1]) == 'r' &&
        lower(challenge[j + 2]) == 'u' && lower(challenge[j + 3]) == 'e')
      return true;
  }
  return false;
}

}  // namespace

Observation from_sip(const sip::Message& m, const PacketMeta& meta) {
  if (m.is_request) {
    SipRequest r;
    r.method = method_of(m.method);
    r.uri_user = m.request_uri.user;
    r.from_user = m.from.uri.user;
    r.from_display = m.from.display;
    r.to_user = m.to.uri.user;
    // Proxy-Authorization answers a 407 (calls through Asterisk and Kamailio); either proves
    // the same thing about the sender.
    const sip::Credentials& c = m.authorization.present ? m.authorization : m.proxy_authorization;
    r.has_credentials = c.present;
    r.auth_response_present = c.has_response;
    r.auth_user = c.username;
    r.auth_nonce = c.nonce;
    r.user_agent = m.user_agent;
    r.user_agent_last = m.user_agent_last;
    for (std::size_t a = 0; a < static_cast<std::size_t>(sip::Anomaly::count_); ++a)
      if (sip::is_evasive(static_cast<sip::Anomaly>(a)) && m.anomalies.has(static_cast<sip::Anomaly>(a))) ++r.evasions;
    r.call_id = m.call_id;
    r.cseq = m.cseq;
    r.expires = expiry_of(m);
    r.via_host = m.top_via.host;
    r.to_tag = m.to.tag;
    return Observation{meta, r};
  }
  SipResponse r;
  r.status = m.status_code;
  r.call_id = m.call_id;
  r.cseq = m.cseq;
  r.cseq_method = method_of(m.cseq_method);
  r.has_challenge = m.www_authenticate.present || m.proxy_authenticate.present;
  if (r.has_challenge)
    r.stale_nonce = says_stale(m.header("WWW-Authenticate")) || says_stale(m.header("Proxy-Authenticate"));
  r.nonce = m.www_authenticate.present ? m.www_authenticate.nonce : m.proxy_authenticate.nonce;
  r.to_user = m.to.uri.user;
  r.to_tag = m.to.tag;
  r.expires = expiry_of(m);
  return Observation{meta, r};
}

Observation from_sip_error(const sip::ParseError& error, const PacketMeta& meta) {
  return Observation{meta, Malformed{Protocol::sip, error.reason}};
}

}  // namespace pbxwall::responsive
