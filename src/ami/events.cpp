#include "ami/events.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

#include "pbx/host.h"

namespace pbxwall::ami {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

constexpr std::array<std::pair<std::string_view, SecurityEventType>, 7> kSecurityEvents{{
    {"InvalidAccountID", SecurityEventType::invalid_account_id},
    {"ChallengeResponseFailed", SecurityEventType::challenge_response_failed},
    {"InvalidPassword", SecurityEventType::invalid_password},
    {"FailedACL", SecurityEventType::failed_acl},
    {"SuccessfulAuth", SecurityEventType::successful_auth},
    {"ChallengeSent", SecurityEventType::challenge_sent},
    {"RequestBadFormat", SecurityEventType::request_bad_format},
}};

template <class State, std::size_t N>
State state_of(std::string_view text, const std::array<std::pair<std::string_view, State>, N>& table, State other) {
  for (const auto& [name, state] : table)
    if (iequals(name, text)) return state;
  return other;
}

// "198.51.100.23:5060", "[2001:db8::1]:5060", "198.51.100.23" (PeerStatus, ViaAddress).
bool parse_address_port(std::string_view text, std::optional<IpAddress>& address, std::uint16_t& port) {
  auto hp = pbx::parse_host_port(text);
  if (!hp) return false;
  auto ip = IpAddress::parse(hp->host);
  if (!ip) return false;
  address = *ip;
  port = hp->port;
  return true;
}

Interpretation security_event(SecurityEventType type, const Message& m) {
  Interpretation out;
  SecurityEvent e;
  e.type = type;
  e.service = std::string(m.get_or("Service"));
  e.account_id = std::string(m.get_or("AccountID"));
  e.session_id = std::string(m.get_or("SessionID"));
  e.event_tv = std::string(m.get_or("EventTV"));
  e.severity = std::string(m.get_or("Severity"));
  const auto remote = m.get("RemoteAddress");
  if (!remote) {
    out.problem = std::string(m.get_or("Event")) + " without RemoteAddress";
    return out;
  }
  std::string why;
  auto parsed = parse_security_address(*remote, &why);
  if (!parsed) {
    out.problem = "RemoteAddress '" + std::string(*remote) + "': " + why;
    return out;
  }
  e.remote = *parsed;
  if (auto local = m.get("LocalAddress")) e.local = parse_security_address(*local);
  e.using_password = m.get_or("UsingPassword") == "1";
  e.acl_name = std::string(m.get_or("ACLName"));
  e.request_type = std::string(m.get_or("RequestType"));
  out.event = std::move(e);
  return out;
}

Interpretation contact_status(const Message& m) {
  static constexpr std::array<std::pair<std::string_view, ContactState>, 7> kStates{{
      {"Created", ContactState::created},
      {"Removed", ContactState::removed},
      {"Reachable", ContactState::reachable},
      {"Unreachable", ContactState::unreachable},
      {"Updated", ContactState::updated},
      {"Unknown", ContactState::unknown},
      {"NonQualified", ContactState::non_qualified},
  }};
  Interpretation out;
  ContactStatusEvent e;
  e.status = std::string(m.get_or("ContactStatus"));
  e.state = state_of(e.status, kStates, ContactState::other);
  e.aor = std::string(m.get_or("AOR"));
  e.endpoint = std::string(m.get_or("EndpointName"));
  e.uri = std::string(m.get_or("URI"));
  e.user_agent = std::string(m.get_or("UserAgent"));
  if (auto expire = m.get("RegExpire"); expire && !expire->empty()) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(expire->data(), expire->data() + expire->size(), value);
    if (ec == std::errc() && end == expire->data() + expire->size() && value > 0) e.reg_expire = value;
  }
  if (e.aor.empty() || e.uri.empty()) {
    out.problem = "ContactStatus without AOR or URI";
    return out;
  }
  if (auto uri = pbx::parse_sip_uri(e.uri)) {
    e.uri_address = IpAddress::parse(uri->host.host);
    e.uri_port = uri->host.port;
  }
  if (auto via = m.get("ViaAddress"); via && !via->empty()) parse_address_port(*via, e.via_address, e.via_port);
  out.event = std::move(e);
  return out;
}

Interpretation peer_status(const Message& m) {
  static constexpr std::array<std::pair<std::string_view, PeerState>, 7> kStates{{
      {"Registered", PeerState::registered},
      {"Unregistered", PeerState::unregistered},
      {"Rejected", PeerState::rejected},
      {"Reachable", PeerState::reachable},
      {"Unreachable", PeerState::unreachable},
      {"Lagged", PeerState::lagged},
      {"Unknown", PeerState::unknown},
  }};
  Interpretation out;
  PeerStatusEvent e;
  e.status = std::string(m.get_or("PeerStatus"));
  e.state = state_of(e.status, kStates, PeerState::other);
  e.channel_type = std::string(m.get_or("ChannelType"));
  std::string_view peer = m.get_or("Peer");
  if (const auto slash = peer.find('/'); slash != std::string_view::npos) {
    if (e.channel_type.empty()) e.channel_type = std::string(peer.substr(0, slash));
    peer.remove_prefix(slash + 1);
  }
  e.peer = std::string(peer);
  e.cause = std::string(m.get_or("Cause"));
  if (e.peer.empty()) {
    out.problem = "PeerStatus without Peer";
    return out;
  }
  if (auto address = m.get("Address"); address && !address->empty()) {
    if (!parse_address_port(*address, e.address, e.port)) {
      out.problem = "PeerStatus Address '" + std::string(*address) + "' is not address:port";
      return out;
    }
  }
  out.event = std::move(e);
  return out;
}

}  // namespace

std::optional<SecurityAddress> parse_security_address(std::string_view text, std::string* why) {
  auto say = [&](const char* m) -> std::optional<SecurityAddress> {
    if (why) *why = m;
    return std::nullopt;
  };
  // FAMILY/TRANSPORT/ADDRESS/PORT; IPv6 addresses hold ':' but never '/'.
  const auto a = text.find('/');
  const auto b = a == std::string_view::npos ? a : text.find('/', a + 1);
  const auto c = text.rfind('/');
  if (a == std::string_view::npos || b == std::string_view::npos || c == b)
    return say("not FAMILY/TRANSPORT/ADDRESS/PORT");
  const auto family = text.substr(0, a);
  const auto transport = text.substr(a + 1, b - a - 1);
  auto address_text = text.substr(b + 1, c - b - 1);
  const auto port_text = text.substr(c + 1);
  SecurityAddress out;
  static constexpr std::array<std::pair<std::string_view, Transport>, 5> kTransports{{
      {"UDP", Transport::udp}, {"TCP", Transport::tcp}, {"TLS", Transport::tls}, {"WS", Transport::ws}, {"WSS", Transport::wss}}};
  bool known = false;
  for (const auto& [name, t] : kTransports)
    if (iequals(name, transport)) {
      out.transport = t;
      known = true;
    }
  if (!known) return say("transport is not UDP, TCP, TLS, WS or WSS");
  if (address_text.size() >= 2 && address_text.front() == '[' && address_text.back() == ']')
    address_text = address_text.substr(1, address_text.size() - 2);
  auto ip = IpAddress::parse(address_text);
  if (!ip) return say("not an IP address");
  const bool v4 = iequals(family, "IPV4");
  if (!v4 && !iequals(family, "IPV6")) return say("family is not IPV4 or IPV6");
  // IPv4-mapped IPv6 addresses are normalised to IPv4 by IpAddress, so only a v4 label on a
  // v6 address is a contradiction.
  if (v4 && !ip->is_v4()) return say("IPV4 label on an IPv6 address");
  auto port = parse_port(port_text);
  if (!port) return say("port is not a number in 0..65535");
  out.address = *ip;
  out.port = *port;
  return out;
}

Interpretation interpret(const Message& m) {
  // Events first: ChallengeResponseFailed carries a "Response" field of its own.
  if (const auto event = m.get("Event")) {
    for (const auto& [name, type] : kSecurityEvents)
      if (iequals(name, *event)) return security_event(type, m);
    if (iequals(*event, "ContactStatus")) return contact_status(m);
    if (iequals(*event, "PeerStatus")) return peer_status(m);
    if (iequals(*event, "FullyBooted")) return Interpretation{FullyBooted{}, {}};
    return {};
  }
  if (auto response = m.get("Response")) {
    ActionResponse r;
    r.response = std::string(*response);
    r.success = iequals(*response, "Success") || iequals(*response, "Pong") || iequals(*response, "Goodbye");
    r.action_id = std::string(m.get_or("ActionID"));
    r.message = std::string(m.get_or("Message"));
    return Interpretation{std::move(r), {}};
  }
  return {};
}

const char* to_string(SecurityEventType type) {
  for (const auto& [name, t] : kSecurityEvents)
    if (t == type) return name.data();
  return "?";
}

const char* to_string(Transport transport) {
  switch (transport) {
    case Transport::udp: return "udp";
    case Transport::tcp: return "tcp";
    case Transport::tls: return "tls";
    case Transport::ws: return "ws";
    case Transport::wss: return "wss";
  }
  return "?";
}

}  // namespace pbxwall::ami
