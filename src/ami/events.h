// Typed AMI events that matter to the firewall: Asterisk's security events (who failed or
// passed authentication, from which address and transport) and registration changes
// (ContactStatus from chan_pjsip, PeerStatus from chan_sip, chan_iax2 and chan_pjsip).
// interpret() turns one Message into one of these; everything else is not an event of interest.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ami/message.h"
#include "base/address.h"

namespace pbxwall::ami {

enum class Transport { udp, tcp, tls, ws, wss };

// "IPV4/UDP/203.0.113.9/5060", "IPV6/TLS/2001:db8::9/5061" (the form security events use).
struct SecurityAddress {
  Transport transport = Transport::udp;
  IpAddress address;
  std::uint16_t port = 0;
};
std::optional<SecurityAddress> parse_security_address(std::string_view text, std::string* why = nullptr);

enum class SecurityEventType {
  invalid_account_id,         // unknown user name: enumeration
  challenge_response_failed,  // wrong digest response
  invalid_password,           // wrong password
  failed_acl,                 // refused by permit/deny or identify ACL
  successful_auth,            // authenticated (UsingPassword says whether by password)
  challenge_sent,             // a digest challenge was sent
  request_bad_format,         // malformed request
};

struct SecurityEvent {
  SecurityEventType type = SecurityEventType::invalid_account_id;
  std::string service;     // PJSIP, SIP, IAX2, AMI
  std::string account_id;  // user name tried; may be empty
  std::string session_id;
  std::string event_tv;    // Asterisk's timestamp text, kept as sent
  std::string severity;    // Error, Informational
  SecurityAddress remote;  // always present: an event without a usable address is malformed
  std::optional<SecurityAddress> local;
  bool using_password = false;  // SuccessfulAuth
  std::string acl_name;         // FailedACL
  std::string request_type;     // RequestBadFormat
};

enum class ContactState { created, removed, reachable, unreachable, updated, unknown, non_qualified, other };

// chan_pjsip: a contact of an AOR appeared, changed or went away.
struct ContactStatusEvent {
  ContactState state = ContactState::other;
  std::string status;  // as sent: "Created", "Reachable", ...
  std::string aor;
  std::string endpoint;  // EndpointName
  std::string uri;       // the contact URI, e.g. sip:101@198.51.100.23:5060;ob
  std::optional<IpAddress> uri_address;  // its host, when it is an address
  std::uint16_t uri_port = 0;
  std::optional<IpAddress> via_address;  // ViaAddress (the source seen in Via), when present
  std::uint16_t via_port = 0;
  std::string user_agent;
  // RegExpire: when the registration ends, in seconds since the epoch (the PBX's clock);
  // absent, empty or 0 for contacts without one (static contacts, removals).
  std::optional<std::int64_t> reg_expire;
};

enum class PeerState { registered, unregistered, rejected, reachable, unreachable, lagged, unknown, other };

// chan_sip / chan_iax2 (and chan_pjsip without an address): a peer registered or left.
struct PeerStatusEvent {
  PeerState state = PeerState::other;
  std::string status;        // as sent
  std::string channel_type;  // SIP, IAX2, PJSIP
  std::string peer;          // without the "SIP/" prefix: the account name
  std::optional<IpAddress> address;
  std::uint16_t port = 0;
  std::string cause;
};

// The answer to an action we sent (Login, Events, Ping).
struct ActionResponse {
  bool success = false;  // Response: Success (or Pong for old Ping answers)
  std::string response;  // as sent
  std::string action_id;
  std::string message;
};

struct FullyBooted {};  // Asterisk finished starting; events flow from here on

using Event = std::variant<SecurityEvent, ContactStatusEvent, PeerStatusEvent, ActionResponse, FullyBooted>;

struct Interpretation {
  std::optional<Event> event;  // empty: not of interest, or malformed
  std::string problem;         // set when the message was of interest but malformed
};

Interpretation interpret(const Message& message);

const char* to_string(SecurityEventType type);
const char* to_string(Transport transport);

}  // namespace pbxwall::ami
