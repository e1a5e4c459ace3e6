// The responsive engine: tells attackers from phones by what a remote sends and how the PBX
// answers, and decides to block, validate, forget or flag it.
//
// Pure: no I/O, no clocks. Every call takes the time ("now") from the caller: packet time in
// replays, the daemon's clock live. One Observation is one packet (or one security event),
// already parsed; adapters below build them from sip::Message and iax::Frame. Observations
// hold string_views into the packet: they must stay valid only during observe().
//
// The rules, their defaults and the reasons for them are documented in docs/responsive.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/address.h"
#include "base/time.h"

namespace pbxwall::sip {
struct Message;
struct ParseError;
}  // namespace pbxwall::sip
namespace pbxwall::iax {
struct Frame;
struct ParseError;
}  // namespace pbxwall::iax

namespace pbxwall::responsive {

// ---------------------------------------------------------------------------------------------
// Observations

enum class Direction : std::uint8_t { to_pbx, from_pbx };
enum class Transport : std::uint8_t { udp, tcp, tls, ws, wss };

struct PacketMeta {
  TimePoint t{};
  Direction dir = Direction::to_pbx;
  IpAddress src, dst;
  std::uint16_t sport = 0, dport = 0;
  Transport transport = Transport::udp;

  // The address the engine keeps state for: the sender of packets to the PBX, the receiver of
  // packets from it.
  const IpAddress& remote() const { return dir == Direction::to_pbx ? src : dst; }
};

// Methods the rules tell apart; everything else is `other`.
enum class SipMethod : std::uint8_t { other, register_, invite, options, subscribe, message, ack, bye, cancel };

struct SipRequest {
  SipMethod method = SipMethod::other;
  std::string_view uri_user;       // request-URI user (dialled number for INVITE)
  std::string_view from_user;
  std::string_view from_display;   // display name of From, as written
  std::string_view to_user;
  bool has_credentials = false;    // Authorization or Proxy-Authorization present
  bool auth_response_present = false;
  std::string_view auth_user;      // username of the credentials; empty when none
  std::string_view auth_nonce;     // nonce the credentials answer; empty when none
  std::string_view user_agent;
  std::string_view user_agent_last;  // the last of several User-Agent headers (else empty)
  // Grammar a PBX forgives but no phone breaks (sip::is_evasive): how many kinds of it.
  std::uint8_t evasions = 0;
  std::string_view call_id;
  std::uint32_t cseq = 0;
  // Expiry asked for: the first Contact's expires parameter, else the Expires header. A
  // REGISTER asking for 0 (or "Contact: *") is an unregister.
  std::optional<std::uint32_t> expires;
  std::string_view via_host;       // sent-by host of the top Via
  std::string_view to_tag;         // tag of To: the PBX's, within a dialog or in an ACK

  // The user an authentication attempt is for: the credentials' username, else the To user
  // (REGISTER) or the request-URI user (other methods).
  std::string_view target_user() const;
};

struct SipResponse {
  int status = 0;
  std::string_view call_id;
  std::uint32_t cseq = 0;
  SipMethod cseq_method = SipMethod::other;
  bool has_challenge = false;  // WWW-Authenticate or Proxy-Authenticate present
  // The challenge says stale=true: the credentials were right but their nonce had expired
  // (RFC 7616 3.3); phones that reuse nonces see this on every re-registration.
  bool stale_nonce = false;
  std::string_view nonce;  // the challenge's nonce (WWW-Authenticate, else Proxy-Authenticate)
  std::string_view to_user;
  std::string_view to_tag;  // the tag the PBX put in To
  // Expiry granted: the first Contact's expires parameter, else the Expires header.
  std::optional<std::uint32_t> expires;
};

enum class IaxCommand : std::uint8_t {
  other, new_, regreq, regauth, regack, regrej, regrel, authreq, authrep, accept, reject, hangup, poke, pong
};

struct IaxFrame {
  IaxCommand command = IaxCommand::other;
  std::uint16_t source_call = 0;
  std::uint16_t dest_call = 0;
  bool retransmitted = false;  // R bit: a copy of a frame already sent
  std::string_view username;
  std::string_view called_number;
  bool has_md5_result = false;
  bool has_rsa_result = false;
  std::optional<std::uint16_t> refresh;  // REGREQ asked / REGACK granted, seconds
  std::optional<std::uint8_t> cause_code;
};

enum class Protocol : std::uint8_t { sip, iax };

// A packet on a signalling port that the parser refused.
struct Malformed {
  Protocol protocol = Protocol::sip;
  std::string_view reason;  // the parser's reason (static text)
};

// A security event reported by the PBX itself (Asterisk AMI "security" class), for sources
// whose packets the engine may not see (TLS, WebSocket). meta.src is the remote address.
enum class SecurityEventKind : std::uint8_t {
  auth_failed,      // InvalidPassword, ChallengeResponseFailed: wrong password for `account`
  unknown_account,  // InvalidAccountID: no such account
  auth_ok,          // SuccessfulAuth
};
struct SecurityEvent {
  SecurityEventKind kind = SecurityEventKind::auth_failed;
  std::string_view account;
};

using ObservationBody = std::variant<SipRequest, SipResponse, IaxFrame, Malformed, SecurityEvent>;

// Kinds in the order of ObservationBody's alternatives; used for counters.
enum class ObservationKind : std::uint8_t { sip_request, sip_response, iax_frame, malformed, security_event, count_ };
const char* kind_name(ObservationKind k);

struct Observation {
  PacketMeta meta;
  ObservationBody body;
  ObservationKind kind() const { return static_cast<ObservationKind>(body.index()); }
};

// Adapters from the parsers' types. Views point into the same buffer as the parsed message.
Observation from_sip(const sip::Message& message, const PacketMeta& meta);
// Returns nullopt for frames the engine has no use for (mini and meta frames, media).
std::optional<Observation> from_iax(const iax::Frame& frame, const PacketMeta& meta);
Observation from_sip_error(const sip::ParseError& error, const PacketMeta& meta);
Observation from_iax_error(const iax::ParseError& error, const PacketMeta& meta);

// ---------------------------------------------------------------------------------------------
// Decisions

// failed_again: a source flagged for a user failed to authenticate as that user once more
// (rule 7): the flag's count grows; no new flag to report.
enum class Action : std::uint8_t { block, validate, forget, flag, unblock, failed_again };
const char* action_name(Action a);  // "block", "validate", ..., "failed-again"

enum class Rule : std::uint8_t {
  fingerprint,         // 1: known attack tool
  user_enumeration,    // 2: many usernames failing
  password_guessing,   // 3: one username failing fast
  call_probing,        // 4: unauthenticated calls to several / international numbers
  flood,               // 5: request rate no phone produces
  registration,        // 6: validate on successful registration / forget on unregister
  registration_expired,  // 6: validation ran out (from expire())
  misconfigured_device,  // 7: slow wrong-password retries: flag, never block
  manual,              // block()/unblock() from an operator
  address_rotation,    // 10: several addresses of one IPv6 /64 blocked: block the /64
  outside_allow_from,  // 11: an extension registered from outside its allow_from networks
  extension_alarm,     // 12: a new source failing for an extension many sources attack
  count_
};
const char* rule_name(Rule r);  // "fingerprint", "user-enumeration", ...
// The rule whose rule_name() is `name` (as kept in the state database); nullopt if none.
std::optional<Rule> rule_from_name(std::string_view name);

struct Decision {
  Action action = Action::block;
  IpAddress addr;
  std::string user;                 // empty when not known
  std::optional<TimePoint> until;   // block and validate: when it ends
  Rule rule = Rule::fingerprint;
  std::string reason;               // for people: "4 usernames tried in 2 s: 100, 101, 102, …"
  // A block of a whole network rather than of `addr` (rule address_rotation: an IPv6 /64);
  // `addr` is then the address whose block completed the count. Empty for everything else.
  std::optional<Cidr> network{};
  // flag, failed_again: the wrong passwords this decision adds to the flag's count (those that
  // led to the flag, then one per later failure). 0 for every other action.
  std::uint32_t failures = 0;
};

// ---------------------------------------------------------------------------------------------
// Settings: every threshold has a default that works without tuning (see docs/responsive.md).
// Counting rules are leaky buckets: `count` events at once reach the threshold, and the bucket
// drains one event per window/count, so a steady rate of one event per window/count (or
// slower) never blocks.

struct Threshold {
  std::uint32_t count;
  Duration window;
};

std::vector<std::string> default_fingerprints();
std::vector<std::string> default_international_prefixes();

inline constexpr std::uint32_t kDefaultMaxBlocked = 1'000'000;
inline constexpr std::uint32_t kMaxMaxBlocked = 16'000'000;

struct Settings {
  std::size_t max_sources = 1'000'000;  // source table ceiling; least recently seen evicted
  // Ceiling of blocked addresses and networks held in the kernel sets (their `size`); a new
  // block at the ceiling is refused and reported, never lost silently.
  std::uint32_t max_blocked = kDefaultMaxBlocked;

  // 1. fingerprints: case-insensitive substrings of User-Agent or From display name.
  std::vector<std::string> fingerprints = default_fingerprints();
  bool fingerprint_loopback_via = true;  // top Via host 127.0.0.0/8 or ::1 from another source
  Duration fingerprint_block = std::chrono::hours(24);

  // 2. user enumeration: distinct usernames failing (401/403/407 to credentials, 403/404
  // without) fill one bucket; a username challenged from a source that has never answered a
  // challenge weighs less (it may be a phone with several accounts starting up).
  Threshold enumeration{4, std::chrono::seconds(60)};
  std::uint32_t enumeration_unanswered = 10;  // challenged usernames that fill the same bucket
  // ... and usernames whose challenge the source ignored: the next request from the same port
  // came at least challenge_answer_time after the challenge, on another Call-ID, without
  // credentials, from a source that has never answered a challenge (a phone answers its 401
  // before it asks for anything else). 0: off.
  std::uint32_t enumeration_ignored = 4;
  Duration challenge_answer_time = std::chrono::milliseconds(20);

  // 3. password guessing: credentials for one username rejected.
  Threshold guessing{4, std::chrono::seconds(60)};
  // ... this many in a row from one source port, each within guessing_fast_gap of the last:
  // a phone waits for its retry timer after a failure, a tool answers at once. 0: off.
  std::uint32_t guessing_fast_failures = 3;
  Duration guessing_fast_gap = std::chrono::seconds(1);

  // 4. call probing: unauthenticated INVITE / IAX NEW, none ever authenticated.
  std::uint32_t probing_destinations = 3;   // distinct destinations
  std::uint32_t probing_international = 2;  // INVITEs to international numbers
  std::vector<std::string> international_prefixes = default_international_prefixes();

  // 5. flood: requests (and malformed packets) from an unvalidated source.
  Threshold flood{50, std::chrono::seconds(5)};
  // ... and requests without credentials from one source port of a source whose credentials
  // were never accepted (a device behind NAT has a port of its own).
  Threshold flood_port{10, std::chrono::seconds(5)};

  // 6. validation.
  Duration registration_grace = std::chrono::seconds(60);
  Duration default_registration = std::chrono::seconds(3600);  // 200 OK without expiry

  // 7. tolerance: flag a username after this many rejected credentials that did not block.
  std::uint32_t misconfigured_after = 3;
  Duration reflag_interval = std::chrono::hours(1);

  // 8. escalation: the n-th block within `escalation_memory` of the previous one's end.
  std::vector<Duration> block_ladder = {std::chrono::minutes(15), std::chrono::hours(24),
                                        std::chrono::hours(24 * 7)};
  Duration escalation_memory = std::chrono::hours(24);

  // 10. address rotation: when this many distinct addresses of one IPv6 /64 have been blocked,
  // each within escalation_memory of the previous, the whole /64 is blocked (its length
  // follows block_ladder, escalating per /64). 0 turns the rule off; at most 8.
  std::uint32_t ipv6_rotation_sources = 3;

  // 12. extension alarm: when this many distinct unvalidated sources had credentials for one
  // extension rejected within extension_alarm_window, the extension is under attack: until
  // extension_alarm_hold after its last failure, a further source failing for it is blocked at
  // its first wrong password. 0 turns the rule off; at most 8.
  std::uint32_t extension_alarm_sources = 5;
  Duration extension_alarm_window = std::chrono::minutes(10);
  Duration extension_alarm_hold = std::chrono::hours(1);

  // 13. spoofing guard: an address validated within validated_memory (remembered past its
  // registration, and across restarts through remember_validation) is blocked only on
  // evidence a forged source address cannot produce: a digest answering the nonce the PBX
  // sent to that address, a request over TCP/TLS (a completed handshake), or a request that
  // continues a conversation after the PBX answered it there (an ACK or in-dialog request
  // carrying the To tag of the PBX's answer). Until then the blocks its packets would earn are
  // not taken (counter spoof_guarded); a block withheld for a conversation that then continues
  // so is taken at that request. 0 turns it off.
  Duration validated_memory = std::chrono::hours(24 * 30);
};

// Checks ranges (counts ≥ 1, windows > 0, non-empty ladder...). Empty string when valid.
std::string validate(const Settings& s);

// ---------------------------------------------------------------------------------------------
// State for UIs and counters

enum class SourceState : std::uint8_t { none, blocked, validated };
// A source record keeps this much of its validated user's name (fixed-size records).
inline constexpr std::size_t kSourceUserBytes = 15;
const char* state_name(SourceState s);

struct SourceView {
  IpAddress addr;
  SourceState state = SourceState::none;
  bool flagged = false;
  std::optional<TimePoint> until;
  std::string user;  // validated user: its first kSourceUserBytes bytes
  Rule last_rule = Rule::fingerprint;  // of the last block (meaningful when blocked)
  std::uint32_t requests = 0;          // requests and malformed packets seen
  std::uint32_t packets_while_blocked = 0;
  TimePoint last_seen{};
};

struct Counters {
  std::uint64_t observations[static_cast<std::size_t>(ObservationKind::count_)] = {};
  std::uint64_t decisions[static_cast<std::size_t>(Rule::count_)] = {};
  std::uint64_t evictions = 0;
  std::uint64_t retransmissions = 0;       // requests matching a pending one
  std::uint64_t unmatched_responses = 0;   // answers to no pending request
  std::uint64_t while_blocked = 0;         // observations of blocked sources (no decision)
  std::uint64_t never_block_spared = 0;    // blocks not taken because of never_block
  std::uint64_t from_pbx_requests = 0;     // requests sent by the PBX (not rated)
  std::uint64_t unknown_users = 0;         // requests for a username the PBX does not have
  std::uint64_t fast_failures = 0;         // wrong passwords within guessing_fast_gap of the last
  std::uint64_t device_retries = 0;        // wrong passwords retried by a known conversation
  std::uint64_t extension_alarms = 0;      // alarms raised on an extension (rule 12)
  std::uint64_t spoof_guarded = 0;         // blocks not taken: a remembered address, no proof (13)
  std::uint64_t evasive_requests = 0;      // requests with grammar no phone breaks
  std::uint64_t ignored_challenges = 0;    // challenges the next request from the port ignored (2)
  std::size_t table_size = 0;
  std::size_t table_ceiling = 0;
};

// ---------------------------------------------------------------------------------------------

class Engine {
 public:
  using NeverBlock = std::function<bool(const IpAddress&)>;
  // The networks `user` may register from (rule 11); empty: anywhere. The span is read during
  // the call only.
  using AllowFrom = std::function<std::span<const Cidr>(std::string_view user)>;
  // Whether the PBX has an account `user` (an extension, an auth username, an IAX2 peer):
  // true or false when the PBX's configuration says, nullopt when it is not known.
  using KnownUser = std::function<std::optional<bool>(std::string_view user)>;

  // `never_block` names trusted and trunk addresses (rule 9); null means none. `allow_from`
  // gives the extensions' allowed networks (rule 11); null means every extension anywhere.
  // `known_user` tells the PBX's accounts (rule 2 counts a request for any other name as an
  // unknown user at once, whatever the PBX answers); null means not known.
  // `settings` must pass validate() (settings_from_toml checks it); the engine aborts otherwise.
  explicit Engine(Settings settings, NeverBlock never_block = nullptr, AllowFrom allow_from = nullptr,
                  KnownUser known_user = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Feeds one observation; appends decisions to `out` (not cleared) and returns how many.
  std::size_t observe(const Observation& obs, TimePoint now, std::vector<Decision>& out);
  std::vector<Decision> observe(const Observation& obs, TimePoint now);

  // Forgets validations whose registration ran out (forget decisions) and clears blocks that
  // ended (no decision: the kernel's set timeout removes them).
  std::size_t expire(TimePoint now, std::vector<Decision>& out);
  std::vector<Decision> expire(TimePoint now);

  // Rule 11 for registrations the engine does not see itself (the PBX reporting them, e.g.
  // AMI ContactStatus): true when `addr` may register as `user`. When it may not, the source
  // is not to be validated, and unless it is never_block it is blocked: the block decision
  // (preceded by a forget when the source was validated) is appended to `out`.
  bool registration_allowed(const IpAddress& addr, TimePoint now, std::string_view user, std::vector<Decision>& out);

  // Operator actions. block() without a duration follows the escalation ladder; either way it
  // counts as a block for escalation. It returns the block decision, preceded by a forget when
  // the source was validated; nothing for a never_block address. unblock() also clears the
  // escalation history; nullopt when the source is not blocked.
  std::vector<Decision> block(const IpAddress& addr, TimePoint now, std::optional<Duration> duration,
                              std::string reason);
  std::optional<Decision> unblock(const IpAddress& addr, TimePoint now);

  // State put back after a restart (from the state database), without decisions: the kernel
  // sets are rendered from the same records. restore_block() keeps the escalation history:
  // `times_blocked` blocks so far (1 = this one) place the next block on the ladder, and a
  // block within escalation_memory of `until` escalates. Both return false (and change
  // nothing) when `until` is not after `now` or the address is never_block.
  bool restore_block(const IpAddress& addr, TimePoint now, TimePoint until, Rule rule, std::uint32_t times_blocked);
  bool restore_validation(const IpAddress& addr, TimePoint now, const std::string& user, TimePoint until);
  // An address validated at `validated_at` whose validation may have ended (rule 13, from the
  // state database after a restart). Ignored when validated_memory is 0.
  void remember_validation(const IpAddress& addr, TimePoint validated_at);
  // A /64 blocked by address_rotation until `until` (its members' packets are then ignored).
  bool restore_network_block(const Cidr& network, TimePoint now, TimePoint until);

  // Blocked, validated or flagged sources. A block or validation whose end has passed (by the
  // latest time the engine was given) is shown as over even before expire() clears it.
  std::vector<SourceView> snapshot() const;
  // How many sources snapshot() would list as blocked, validated and flagged, without
  // listing them (for status with a million blocks).
  struct StateCounts {
    std::size_t blocked = 0;
    std::size_t validated = 0;
    std::size_t flagged = 0;
  };
  StateCounts state_counts() const;
  std::optional<SourceView> source(const IpAddress& addr) const;
  Counters counters() const;
  const Settings& settings() const;

  // Bytes held by the source table per tracked source at the ceiling (records, index, queue).
  static std::size_t bytes_per_source();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pbxwall::responsive
