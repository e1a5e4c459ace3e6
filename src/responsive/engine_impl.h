// Inside the engine: the state it owns and the steps the rules share. engine.cpp holds the
// public entry points and the decisions (block, validate, forget, flag, expiry); rules.cpp
// turns SIP, IAX2 and security observations into authentication outcomes and rule events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "responsive/bucket.h"
#include "responsive/fingerprint.h"
#include "responsive/responsive.h"
#include "responsive/source_table.h"
#include "responsive/text.h"

namespace pbxwall::responsive {

// How the PBX answered a request, whatever the protocol.
enum class Outcome : std::uint8_t {
  accepted,   // 2xx, REGACK, ACCEPT
  ringing,    // 18x to a call: the PBX took the credentials, the call proceeds
  challenged, // 401/407, REGAUTH, AUTHREQ
  rejected,   // 403, REGREJ, REJECT
  not_found,  // 404/604, REJECT of a call nobody authenticated (no such user or number)
  other,      // anything else that ends the request (busy, server error, ...)
};

struct Engine::Impl {
  Impl(Settings settings, NeverBlock never_block, AllowFrom allow_from, KnownUser known_user);

  // One observation being handled.
  struct Step {
    const Observation& obs;
    std::int64_t now_us;
    std::uint32_t now_s;
    std::uint32_t index;
    detail::SourceRecord& rec;
    std::vector<Decision>& out;
    // Rule 13: the conversation judged in this step answered a nonce the PBX sent to the
    // address (this request's digest, or the request this answer belongs to).
    bool proved = false;
    // Rule 13: the spoofing guard withheld a block in this step (its rule; count_: none).
    Rule guarded = Rule::count_;
  };

  // rules.cpp
  void on_sip_request(Step& s, const SipRequest& r);
  void on_sip_response(Step& s, const SipResponse& r);
  void on_iax(Step& s, const IaxFrame& f);
  void on_security_event(Step& s, const SecurityEvent& e);
  void on_malformed(Step& s);
  void on_outcome(Step& s, const detail::Pending& p, Outcome o, std::string_view answer_user,
                  std::optional<std::uint32_t> granted_expires);
  bool check_fingerprint(Step& s, const SipRequest& r);
  bool rate_request(Step& s);  // flood bucket; true if the source got blocked
  void probe_call(Step& s, std::string_view destination);
  // `call` and `port` name the conversation the failure came in (Call-ID hash and remote
  // port; call 0 when not known, as for the PBX's security events).
  void wrong_password(Step& s, std::uint32_t user, std::uint32_t call, std::uint32_t cseq, std::uint16_t port);
  // Rule 3's view of a failure's conversation: true when it is a device retrying a
  // registration that failed before, at a phone's pace, from a port no other one uses.
  bool device_retry(Step& s, int slot, std::uint32_t call, std::uint16_t port, detail::Conversation*& mine);
  // Rule 3: the run of quick failures from one port; true if it blocked the source. `loop` is
  // set when the failure continues one registration's quick loop (same Call-ID, higher CSeq).
  bool fast_failure(Step& s, int slot, std::uint32_t user, std::uint32_t call, std::uint32_t cseq, std::uint16_t port,
                    bool& loop);
  // Rule 12: counts a failure for `user` across sources; true if it blocked the source.
  bool extension_alarm(Step& s, int slot, std::uint32_t user);
  // Rule 2 with the PBX's accounts: a request for a name the PBX does not have.
  void check_known_user(Step& s, std::string_view target, std::uint32_t user, bool call);
  bool rate_port(Step& s, std::uint16_t port);  // flood_port bucket; true if blocked
  void unknown_user(Step& s, std::uint32_t user);
  void unanswered_challenge(Step& s, std::uint32_t user);
  // Rule 2: a challenge to a request without credentials stays open until the next request
  // from the same port; judge_open_challenges() is that request's verdict on them (true if it
  // blocked the source), ignored_challenge() counts one that was ignored.
  void open_challenge(Step& s, detail::Pending& slot, const detail::Pending& p);
  bool judge_open_challenges(Step& s, std::uint32_t call, bool credentialed);
  bool ignored_challenge(Step& s, std::uint32_t user, std::uint16_t port);
  void start_enumeration_burst(detail::SourceRecord& rec, std::int64_t now_us, std::uint32_t now_s);
  static bool credentials_pending(const detail::SourceRecord& rec, std::uint32_t user);
  void challenge_beside_credentials(Step& s, std::uint32_t user);
  void credentials_accepted(Step& s, std::uint32_t user);
  bool count_username(Step& s, std::uint32_t user, std::int64_t weight_us);
  // Rule 11: whether `addr` lies outside the networks `user` may register from (false when
  // the user has no such list), and the block of a source that registered from there.
  bool outside_allow_from(const IpAddress& addr, std::string_view user) const;
  bool refuse_registration(Step& s, std::string_view user);

  // engine.cpp
  // The record of `addr` (created, evicting the least recent one if the table is full), marked
  // as seen at `now_us`.
  std::uint32_t touch_source(const IpAddress& addr, std::int64_t now_us);
  bool take_block(Step& s, Rule rule, std::string user, std::string reason, bool fingerprint);
  void validate(Step& s, std::string_view user, std::uint32_t user_hash, std::uint32_t expires_s);
  void forget(Step& s, Rule rule, std::string reason);
  // Rule 7: flags `user` (user slot `slot`), or, when `again`, counts one more failure of a flag.
  void flag(Step& s, int slot, std::string_view user, std::string reason, bool again);
  void count_rotation(Step& s);
  void enqueue(std::uint32_t index);
  void clear_rule_state(detail::SourceRecord& r);
  std::string user_of(const detail::SourceRecord& r) const;

  static bool rated(const detail::SourceRecord& r) { return r.state != SourceState::validated; }
  int user_slot(detail::SourceRecord& r, std::uint32_t hash, bool create);
  detail::Pending* find_pending(detail::SourceRecord& r, std::uint32_t key, std::uint32_t cseq, bool iax);
  void add_pending(detail::SourceRecord& r, const detail::Pending& p);
  void emit(Step& s, Decision d);

  Settings settings;
  NeverBlock never_block;
  AllowFrom allow_from;
  KnownUser known_user;
  detail::SourceTable table;
  detail::NameCache names;
  detail::FingerprintMatcher fingerprints;
  Counters counters;
  std::int64_t latest_us = 0;  // the latest "now" the engine was given (for snapshots)

  detail::BucketShape flood_shape, guess_shape, flood_port_shape;
  std::int64_t enum_fail_weight = 0, enum_unanswered_weight = 0, enum_ignored_weight = 0, enum_capacity = 0;
  std::uint32_t fingerprint_step = 0;  // first ladder step at least as long as fingerprint_block

  // Expiry queue: a min-heap on until_s with at most one entry per record (record_flag::queued).
  struct QueueEntry {
    std::uint32_t until_s;
    std::uint32_t index;
  };
  std::vector<QueueEntry> queue;

  // Rule 10: blocks per IPv6 /64, direct-mapped by a salted hash of the prefix (a newer /64
  // on the same slot replaces an older one), so memory stays fixed whatever the addresses.
  struct NetRecord {
    std::uint64_t prefix = 0;   // the first 64 bits, in network order
    bool used = false;
    std::uint8_t count = 0;     // distinct addresses blocked in the current run
    std::uint8_t step = 0;      // escalation: ladder index of the last /64 block
    std::uint32_t last_block_s = 0;  // latest member block
    std::uint32_t until_s = 0;       // end of the /64 block; 0: never blocked
    std::uint32_t members[8] = {};   // address hashes counted in the current run
  };
  std::vector<NetRecord> nets;

  // Rule 13: addresses validated within validated_memory, kept apart from the source table
  // (whose records are evicted) in sets of 4 slots chosen by a salted hash of the address, the
  // oldest replaced first, so memory stays fixed. Only a validation adds one, which a forged
  // source address cannot produce.
  struct RememberedAddress {
    IpAddress addr;
    std::uint32_t last_s = 0;  // latest validation; 0 = free
  };
  std::vector<RememberedAddress> remembered;
  void remember(const IpAddress& addr, std::uint32_t at_s);
  bool remembered_recently(const IpAddress& addr, std::uint32_t now_s) const;
  // True when a block of this source must not be taken: it is remembered and this
  // conversation proved nothing a spoofer could not send (counts spoof_guarded).
  bool spoof_guard(Step& s, Rule rule);
  // Rule 13, traffic that continues after the PBX answered: a request carrying the To tag of
  // an answer the PBX sent to the address, on its Call-ID (an ACK with its CSeq number, any
  // other request with a higher one), proves the sender receives there. Takes the block the
  // guard withheld for that conversation; true if it did.
  bool continues_answered(Step& s, const SipRequest& r);
  void judge_sip_request(Step& s, const SipRequest& r);
  // The PBX's final answer `p` got becomes an answered entry in `slot` (rule 13).
  void keep_answer(Step& s, detail::Pending& slot, const detail::Pending& p, const SipResponse& r);

  // Rule 12: failures per extension across sources, direct-mapped by a salted hash of the
  // username hash (a newer extension on the same slot replaces an older one).
  struct UserAlarm {
    std::uint32_t user = 0;          // username hash; 0 = free
    std::uint8_t count = 0;          // distinct sources in the current window
    std::uint32_t first_s = 0;       // first failure of the window
    std::uint32_t until_s = 0;       // end of the alarm; 0: none
    std::uint32_t sources[8] = {};   // address tags counted in the window
  };
  std::vector<UserAlarm> alarms;
  UserAlarm& alarm_of(std::uint32_t user);
  std::uint64_t net_salt = 0;
  NetRecord* net_of(const IpAddress& addr, bool create);
  std::int64_t memory_s() const { return settings.escalation_memory.count() / 1'000'000; }
  static bool queue_later(const QueueEntry& a, const QueueEntry& b) {
    return a.until_s > b.until_s;  // std heap functions keep the largest first; we want earliest
  }
};

inline std::int64_t to_us(TimePoint t) { return t.time_since_epoch().count(); }
inline std::uint32_t floor_s(std::int64_t us) {
  return us <= 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>(us / 1'000'000, 0xffffffffLL));
}
inline std::uint32_t ceil_s(std::int64_t us) {
  return us <= 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>((us + 999'999) / 1'000'000, 0xffffffffLL));
}
inline std::int64_t us_of(std::uint32_t s) { return static_cast<std::int64_t>(s) * 1'000'000; }

}  // namespace pbxwall::responsive
