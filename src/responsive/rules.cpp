// From observations to rule events: requests are remembered until the PBX answers them, and
// each answer becomes an authentication outcome (accepted, challenged, rejected, not found)
// that feeds rules 2-7. Rules 1 (fingerprints), 4 (probing) and 5 (floods) act on requests.
#include <algorithm>
#include <string>

#include "responsive/engine_impl.h"

namespace pbxwall::responsive {

using detail::name_hash;
using detail::Pending;
using detail::SourceRecord;
namespace pending_flag = detail::pending_flag;
namespace record_flag = detail::record_flag;
namespace user_flag = detail::user_flag;

namespace {

// Usernames in decisions come from the network: printable ASCII only, and bounded.
constexpr std::size_t kMaxUserText = 64;

// Quick failures one registration may loop through before it is more than a phone's loop
// (baresip 1.0: 15).
constexpr std::uint8_t kDeviceLoop = 20;

std::uint16_t saturate16(std::uint32_t v) { return static_cast<std::uint16_t>(std::min<std::uint32_t>(v, 0xffff)); }

std::string in_seconds(std::uint32_t from_s, std::uint32_t now_s) {
  const std::uint32_t elapsed = now_s > from_s ? now_s - from_s : 0;
  return "in " + std::to_string(std::max<std::uint32_t>(elapsed, 1)) + " s";
}

std::uint16_t remote_port(const PacketMeta& m) { return m.dir == Direction::to_pbx ? m.sport : m.dport; }

std::uint32_t source_tag(const IpAddress& a) {
  const auto h = static_cast<std::uint32_t>(IpAddressHash{}(a));
  return h == 0 ? 1 : h;
}

bool is_international(std::string_view number, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return number.starts_with(p); });
}

}  // namespace

// ---- rules on requests ----------------------------------------------------------------------

bool Engine::Impl::check_fingerprint(Step& s, const SipRequest& r) {
  SourceRecord& rec = s.rec;
  // The same User-Agent and display name as last time were checked already.
  std::uint32_t h = name_hash(r.user_agent) ^ (name_hash(r.from_display) * 31u) ^ (name_hash(r.via_host) * 131u) ^
                    (name_hash(r.user_agent_last) * 257u);
  if (h == 0) h = 1;  // 0 means "nothing checked yet"
  if (h == rec.fingerprint_hash) return false;
  rec.fingerprint_hash = h;
  std::string reason;
  if (auto p = fingerprints.match(r.user_agent); !p.empty()) {
    reason = "attack tool fingerprint: User-Agent " + detail::printable(r.user_agent, 60);
  } else if (auto l = fingerprints.match(r.user_agent_last); !l.empty()) {
    reason = "attack tool fingerprint: User-Agent " + detail::printable(r.user_agent_last, 60) + " (behind another User-Agent)";
  } else if (auto q = fingerprints.match(r.from_display); !q.empty()) {
    reason = "attack tool fingerprint: From name " + detail::printable(r.from_display, 60);
  } else if (settings.fingerprint_loopback_via && detail::is_loopback_host(r.via_host) && !detail::is_loopback(rec.addr)) {
    reason = "attack tool fingerprint: Via " + detail::printable(r.via_host) + " from " + rec.addr.str() +
             " (SIPVicious svwar/svcrack)";
  } else {
    return false;
  }
  std::string user = detail::printable(r.target_user(), kMaxUserText);
  // svwar's first request names no extension it is after: the block names no user.
  if (rec.requests == 0 && detail::looks_like_random_probe(user) && !(known_user && known_user(user).value_or(false))) {
    reason += "; its first request was for " + detail::random_probe_text(user);
    user.clear();
  }
  return take_block(s, Rule::fingerprint, std::move(user), std::move(reason), true);
}

bool Engine::Impl::rate_request(Step& s) {
  ++s.rec.requests;
  if (!rated(s.rec)) return false;
  if (!detail::pour(s.rec.flood_tat, s.now_us, flood_shape.weight_us, flood_shape.capacity_us)) return false;
  return take_block(s, Rule::flood, {},
                    "request flood: " + std::to_string(settings.flood.count) + " requests or more within " +
                        detail::human_duration(settings.flood.window.count()),
                    false);
}

bool Engine::Impl::rate_port(Step& s, std::uint16_t port) {
  SourceRecord& rec = s.rec;
  if (!rated(rec) || (rec.flags & record_flag::authenticated)) return false;
  if (port != rec.flood_port_of) {  // another device behind the same address, or a new socket
    rec.flood_port_of = port;
    rec.flood_port_tat = 0;
  }
  if (!detail::pour(rec.flood_port_tat, s.now_us, flood_port_shape.weight_us, flood_port_shape.capacity_us)) return false;
  return take_block(s, Rule::flood, {},
                    "request flood: " + std::to_string(settings.flood_port.count) + " requests without credentials within " +
                        detail::human_duration(settings.flood_port.window.count()) + " from port " + std::to_string(port) +
                        ", none ever authenticated",
                    false);
}

void Engine::Impl::check_known_user(Step& s, std::string_view target, std::uint32_t user, bool call) {
  SourceRecord& rec = s.rec;
  if (!known_user || user == 0 || !rated(rec)) return;
  // A call to a number that is no account is the probing rule's business once the caller
  // authenticated; before, the dialled number is all the PBX identifies it by.
  if (call && (rec.flags & record_flag::authenticated)) return;
  const std::optional<bool> exists = known_user(target);
  if (!exists || *exists) return;
  ++counters.unknown_users;
  unknown_user(s, user);
}

void Engine::Impl::probe_call(Step& s, std::string_view destination) {
  SourceRecord& rec = s.rec;
  if (destination.empty() || !rated(rec) || (rec.flags & record_flag::authenticated)) return;
  const std::uint32_t h = name_hash(destination);
  names.remember(h, destination);
  if (is_international(destination, settings.international_prefixes)) {
    if (rec.probe_intl < 255) ++rec.probe_intl;
    if (rec.probe_intl >= settings.probing_international) {
      take_block(s, Rule::call_probing, {},
                 std::to_string(rec.probe_intl) + " unauthenticated calls to international numbers, the last to " +
                     detail::printable(destination),
                 false);
      return;
    }
  }
  if (std::find(std::begin(rec.probe_dest), std::end(rec.probe_dest), h) != std::end(rec.probe_dest)) return;
  rec.probe_dest[rec.probe_count % detail::kProbeSlots] = h;
  if (rec.probe_count < 255) ++rec.probe_count;
  if (rec.probe_count >= settings.probing_destinations) {
    const std::size_t shown = std::min<std::size_t>(rec.probe_count, detail::kProbeSlots);
    take_block(s, Rule::call_probing, {},
               "unauthenticated calls to " + std::to_string(rec.probe_count) + " numbers: " +
                   detail::name_list(names, rec.probe_dest, shown, rec.probe_count, (rec.flags & record_flag::random_probe_first) != 0),
               false);
  }
}

// ---- rules on outcomes ----------------------------------------------------------------------

// Pours one username into the enumeration bucket; true if that blocked the source.
bool Engine::Impl::count_username(Step& s, std::uint32_t user, std::int64_t weight_us) {
  SourceRecord& rec = s.rec;
  start_enumeration_burst(rec, s.now_us, s.now_s);
  if (rec.enum_names < detail::kFirstNames) rec.first_names[rec.enum_names] = user;
  if (rec.enum_names < 255) ++rec.enum_names;
  if (!detail::pour(rec.enum_tat, s.now_us, weight_us, enum_capacity)) return false;
  return take_block(s, Rule::user_enumeration, {},
                    std::to_string(rec.enum_names) + " usernames tried " + in_seconds(rec.enum_start_s, s.now_s) + ": " +
                        detail::name_list(names, rec.first_names, std::min<std::size_t>(rec.enum_names, detail::kFirstNames),
                                          rec.enum_names, (rec.flags & record_flag::random_probe_first) != 0),
                    false);
}

void Engine::Impl::start_enumeration_burst(SourceRecord& rec, std::int64_t now_us, std::uint32_t now_s) {
  if (!detail::drained(rec.enum_tat, now_us)) return;
  rec.enum_names = 0;
  rec.ignored_names = 0;
  rec.enum_start_s = now_s;
  std::fill(std::begin(rec.first_names), std::end(rec.first_names), 0u);
}

// A phone answers the 401 to its REGISTER (or the 407 to its INVITE) on the same Call-ID
// within milliseconds, before it asks the PBX for anything else from that port; a device with
// several accounts that sends their REGISTERs in one burst has them all challenged before
// any answer can be back, and challenge_answer_time keeps that burst from counting. An
// enumerator against a registrar that challenges every username alike (Asterisk) never
// answers: each next username it tries, on a new Call-ID from the same port, ignores the
// previous challenge. The source must never have answered a challenge (one phone behind a
// shared address answering ends the rule for the address), and each port is judged apart, so
// phones behind one NAT address, each on its own port, never judge each other's challenges.
void Engine::Impl::open_challenge(Step& s, Pending& slot, const Pending& p) {
  if (enum_ignored_weight == 0 || !rated(s.rec) || (s.rec.flags & record_flag::answers_challenges)) return;
  if (p.flags & pending_flag::iax) return;  // IAX2 call numbers change with every attempt
  slot = Pending{};
  slot.key = p.key;
  slot.cseq = static_cast<std::uint32_t>(s.now_us / 1000);
  slot.user = p.user;
  slot.expires = remote_port(s.obs.meta);
  slot.kind = p.kind;
  slot.flags = pending_flag::challenge_open;
}

bool Engine::Impl::judge_open_challenges(Step& s, std::uint32_t call, bool credentialed) {
  const std::uint16_t port = remote_port(s.obs.meta);
  const std::uint32_t now_ms = static_cast<std::uint32_t>(s.now_us / 1000);
  const auto answer_ms = static_cast<std::uint32_t>(settings.challenge_answer_time.count() / 1000);
  for (auto& q : s.rec.pending) {
    if (!(q.flags & pending_flag::challenge_open) || q.expires != port) continue;
    if (credentialed || q.key == call) {  // answered, or its dialog goes on
      q = Pending{};
      continue;
    }
    if (now_ms - q.cseq < answer_ms) continue;  // sent before an answer could be back: still open
    const std::uint32_t user = q.user;
    q = Pending{};
    if (ignored_challenge(s, user, port)) return true;
  }
  return false;
}

bool Engine::Impl::ignored_challenge(Step& s, std::uint32_t user, std::uint16_t port) {
  SourceRecord& rec = s.rec;
  ++counters.ignored_challenges;
  if (enum_ignored_weight == 0 || user == 0 || !rated(rec) || (rec.flags & record_flag::answers_challenges)) return false;
  const int i = user_slot(rec, user, true);
  if (i < 0 || (rec.user_flags[i] & (user_flag::ignored | user_flag::failed))) return false;  // counted already
  start_enumeration_burst(rec, s.now_us, s.now_s);
  std::int64_t weight = enum_ignored_weight;
  if (rec.user_flags[i] & user_flag::challenged) {
    // Its challenge poured in as an unanswered one: top it up to an ignored one's weight.
    weight = std::max<std::int64_t>(1, enum_ignored_weight - enum_unanswered_weight);
  } else {
    if (rec.enum_names < detail::kFirstNames) rec.first_names[rec.enum_names] = user;
    if (rec.enum_names < 255) ++rec.enum_names;
  }
  rec.user_flags[i] |= user_flag::ignored;
  if (rec.ignored_names < 255) ++rec.ignored_names;
  if (!detail::pour(rec.enum_tat, s.now_us, weight, enum_capacity)) return false;
  return take_block(s, Rule::user_enumeration, {},
                    std::to_string(rec.ignored_names) + " challenges ignored " + in_seconds(rec.enum_start_s, s.now_s) +
                        " from port " + std::to_string(port) +
                        " (each time a new Call-ID came instead of the answer a phone sends): usernames " +
                        detail::name_list(names, rec.first_names, std::min<std::size_t>(rec.enum_names, detail::kFirstNames),
                                          rec.enum_names, (rec.flags & record_flag::random_probe_first) != 0),
                    false);
}

bool Engine::Impl::device_retry(Step& s, int slot, std::uint32_t call, std::uint16_t port,
                                detail::Conversation*& mine) {
  SourceRecord& rec = s.rec;
  mine = nullptr;
  if (call == 0) return false;
  bool port_shared = false;  // another Call-ID failing from the same port: not one device
  for (auto& c : rec.conversations) {
    if (c.call == 0) continue;
    if (c.call == call && c.port == port && c.slot == slot) mine = &c;
    else if (c.port == port) port_shared = true;
  }
  const std::int64_t pace_s = settings.guessing.window.count() / settings.guessing.count / 1'000'000;
  const bool retry = mine && !port_shared && std::int64_t{s.now_s} - mine->last_s >= std::max<std::int64_t>(pace_s, 1);
  if (!mine) {
    mine = &rec.conversations[0];
    for (auto& c : rec.conversations)
      if (c.call == 0 || c.last_s < mine->last_s) {
        mine = &c;
        if (c.call == 0) break;
      }
    *mine = detail::Conversation{call, s.now_s, port, static_cast<std::uint8_t>(slot)};
  }
  mine->last_s = s.now_s;
  return retry;
}

// A softphone whose credentials are refused may answer each new 401 at once with the same
// credentials, within one registration (Debian's baresip 1.0 sends 15 in 70 ms, then waits
// 45-60 s): a loop of the same Call-ID with rising CSeq numbers, bounded by the phone. A tool
// opens a new Call-ID per guess or sends its guesses with the CSeq number of the last
// (svcrack); those quick failures make the run that blocks.
bool Engine::Impl::fast_failure(Step& s, int slot, std::uint32_t user, std::uint32_t call, std::uint32_t cseq,
                                std::uint16_t port, bool& loop) {
  SourceRecord& rec = s.rec;
  const bool quick = rec.last_fail_us != 0 && rec.last_fail_port == port && rec.last_fail_slot == slot &&
                     s.now_us - rec.last_fail_us < settings.guessing_fast_gap.count();
  loop = quick && call != 0 && call == rec.last_fail_call && cseq > rec.last_fail_cseq;
  if (loop) {
    rec.loop_run = static_cast<std::uint8_t>(std::min(rec.loop_run + 1, 255));
  } else {
    rec.loop_run = 1;
    rec.fast_run = quick ? static_cast<std::uint8_t>(std::min(rec.fast_run + 1, 255)) : 1;
  }
  rec.last_fail_us = s.now_us;
  rec.last_fail_call = call;
  rec.last_fail_cseq = cseq;
  rec.last_fail_port = port;
  rec.last_fail_slot = static_cast<std::uint8_t>(slot);
  if (quick && !loop) ++counters.fast_failures;
  if (settings.guessing_fast_failures == 0 || !rated(rec)) return false;
  const std::string name = names.lookup(user);
  if (loop && rec.loop_run > kDeviceLoop)
    return take_block(s, Rule::password_guessing, name,
                      std::to_string(rec.loop_run) + " wrong passwords for user " + name + " in one registration, each within " +
                          detail::human_duration(settings.guessing_fast_gap.count()) +
                          " of the last: longer than any phone's retry loop",
                      false);
  if (loop || rec.fast_run < settings.guessing_fast_failures) return false;
  return take_block(s, Rule::password_guessing, name,
                    std::to_string(rec.fast_run) + " wrong passwords for user " + name + " from port " +
                        std::to_string(port) + ", each within " +
                        detail::human_duration(settings.guessing_fast_gap.count()) +
                        " of the last: a phone waits for its retry timer",
                    false);
}

bool Engine::Impl::extension_alarm(Step& s, int slot, std::uint32_t user) {
  SourceRecord& rec = s.rec;
  const std::uint32_t needed = settings.extension_alarm_sources;
  if (needed == 0 || user == 0 || alarms.empty() || !rated(rec)) return false;
  if (rec.user_flags[slot] & user_flag::accepted) return false;  // it logged in as this user before
  if (never_block && never_block(rec.addr)) return false;        // trusted networks and trunks
  UserAlarm& a = alarm_of(user);
  const std::int64_t hold_us = settings.extension_alarm_hold.count();
  const std::string window = detail::human_duration(settings.extension_alarm_window.count());
  if (a.until_s != 0 && s.now_us < us_of(a.until_s)) {
    a.until_s = ceil_s(s.now_us + hold_us);  // the attack goes on: so does the alarm
    const std::string name = names.lookup(user);
    return take_block(s, Rule::extension_alarm, name,
                      "wrong password for extension " + name + " while it is under attack from many addresses (" +
                          std::to_string(needed) + " or more within " + window + ")",
                      false);
  }
  if (a.first_s == 0 || std::int64_t{s.now_s} - a.first_s > settings.extension_alarm_window.count() / 1'000'000) {
    a.count = 0;
    a.first_s = s.now_s;
    std::fill(std::begin(a.sources), std::end(a.sources), 0u);
  }
  const std::uint32_t tag = source_tag(rec.addr);
  const auto known = std::begin(a.sources) + std::min<std::size_t>(a.count, 8);
  if (std::find(std::begin(a.sources), known, tag) == known) {
    if (a.count < 8) a.sources[a.count] = tag;
    if (a.count < 255) ++a.count;
  }
  if (a.count < needed) return false;
  ++counters.extension_alarms;
  const std::uint32_t counted = a.count;
  a.until_s = ceil_s(s.now_us + hold_us);
  a.count = 0;
  a.first_s = 0;
  std::fill(std::begin(a.sources), std::end(a.sources), 0u);
  const std::string name = names.lookup(user);
  return take_block(s, Rule::extension_alarm, name,
                    std::to_string(counted) + " addresses failed to authenticate as " + name + " within " + window +
                        ": extension under attack, each further one is blocked at its first wrong password",
                    false);
}

void Engine::Impl::wrong_password(Step& s, std::uint32_t user, std::uint32_t call, std::uint32_t cseq, std::uint16_t port) {
  SourceRecord& rec = s.rec;
  const int i = user_slot(rec, user, true);
  if (i < 0) return;
  const bool first = !(rec.user_flags[i] & user_flag::failed);
  rec.user_flags[i] |= user_flag::failed;
  rec.failures[i] = saturate16(rec.failures[i] + 1u);
  if (detail::drained(rec.fail_tat[i], s.now_us)) {  // the previous failure has drained: a new burst
    rec.burst_failures[i] = 0;
    rec.burst_start_s[i] = s.now_s;
  }
  rec.burst_failures[i] = saturate16(rec.burst_failures[i] + 1u);
  // A device retrying its own registration at a phone's pace weighs a quarter: three devices
  // sharing an extension behind one NAT address, each retrying every 20 s, stay below the
  // bucket's drain rate, as one phone does.
  // ... and a phone's quick loop within one registration is one attempt: the failure that
  // opened it is weighed again as a retry (a quarter) and each one of the loop weighs 1/32,
  // so three baresip devices looping through an old password behind one NAT address (15
  // failures each, starting within seconds) stay below the bucket's capacity.
  detail::Conversation* mine = nullptr;
  const bool retry = device_retry(s, i, call, port, mine);
  bool loop = false;
  if (fast_failure(s, i, user, call, cseq, port, loop)) return;
  if (retry || loop) ++counters.device_retries;
  const std::int64_t quarter = std::max<std::int64_t>(1, guess_shape.weight_us / 4);
  if (loop && mine && mine->charged_full) {
    rec.fail_tat[i] = std::max(s.now_us, rec.fail_tat[i] - (guess_shape.weight_us - quarter));
  }
  const std::int64_t weight = loop    ? std::max<std::int64_t>(1, guess_shape.weight_us / 32)
                              : retry ? quarter
                                      : guess_shape.weight_us;
  if (mine) mine->charged_full = !loop && !retry;
  const bool overflow = detail::pour(rec.fail_tat[i], s.now_us, weight, guess_shape.capacity_us);
  if (rated(rec)) {
    if (first && count_username(s, user, enum_fail_weight)) return;
    if (extension_alarm(s, i, user)) return;
    if (overflow) {
      const std::string name = names.lookup(user);
      take_block(s, Rule::password_guessing, name,
                 std::to_string(rec.burst_failures[i]) + " wrong passwords for user " + name + " " +
                     in_seconds(rec.burst_start_s[i], s.now_s),
                 false);
      return;
    }
  }
  // Rule 7: failures spaced at a phone's retry pace (each one finds the rule 3 bucket drained)
  // never block; after a few they are worth an admin's look. A flag is reported again at most
  // once per reflag_interval; in between, each failure of the flagged user counts on it.
  const bool flagged_user = (rec.user_flags[i] & user_flag::flagged) != 0;
  const std::int64_t reflag_s = settings.reflag_interval.count() / 1'000'000;
  const bool recently_flagged = (rec.flags & record_flag::flagged) && std::int64_t{s.now_s} - rec.last_flag_s < reflag_s;
  const bool due = rec.burst_failures[i] == 1 && rec.failures[i] >= settings.misconfigured_after && !recently_flagged;
  if (!due && !flagged_user) return;
  const std::string name = names.lookup(user);
  flag(s, i, name,
       "user " + name + " failed to authenticate " + std::to_string(rec.failures[i]) +
           " times at a phone's retry pace: probably a device with an old password",
       !due);
}

bool Engine::Impl::credentials_pending(const SourceRecord& rec, std::uint32_t user) {
  if (user == 0) return false;
  return std::any_of(std::begin(rec.pending), std::end(rec.pending), [&](const Pending& q) {
    return q.key != 0 && q.user == user && (q.flags & pending_flag::credentialed) != 0;
  });
}

// A request without credentials challenged while the same source still awaits the answer to
// credentials for that user: a cracker opening another dialog mid-run (svcrack re-probes
// against a slow registrar). A phone waits for its answer before it registers anew, so this
// counts as one more attempt in the user's guessing bucket, not as a wrong password.
void Engine::Impl::challenge_beside_credentials(Step& s, std::uint32_t user) {
  SourceRecord& rec = s.rec;
  if (!rated(rec)) return;
  const int i = user_slot(rec, user, true);
  if (i < 0) return;
  if (detail::drained(rec.fail_tat[i], s.now_us)) {
    rec.burst_failures[i] = 0;
    rec.burst_start_s[i] = s.now_s;
  }
  if (!detail::pour(rec.fail_tat[i], s.now_us, guess_shape.weight_us, guess_shape.capacity_us)) return;
  const std::string name = names.lookup(user);
  take_block(s, Rule::password_guessing, name,
             std::to_string(rec.burst_failures[i]) + " wrong passwords for user " + name + " " +
                 in_seconds(rec.burst_start_s[i], s.now_s) + ", and requests without credentials while they were pending",
             false);
}

void Engine::Impl::unknown_user(Step& s, std::uint32_t user) {
  SourceRecord& rec = s.rec;
  const int i = user_slot(rec, user, true);
  if (i < 0 || (rec.user_flags[i] & user_flag::failed)) return;
  rec.user_flags[i] |= user_flag::failed;
  if (rated(rec)) count_username(s, user, enum_fail_weight);
}

void Engine::Impl::unanswered_challenge(Step& s, std::uint32_t user) {
  SourceRecord& rec = s.rec;
  if (!rated(rec) || (rec.flags & record_flag::answers_challenges)) return;
  const int i = user_slot(rec, user, true);
  if (i < 0 || (rec.user_flags[i] & (user_flag::challenged | user_flag::failed))) return;
  rec.user_flags[i] |= user_flag::challenged;
  count_username(s, user, enum_unanswered_weight);
}

void Engine::Impl::credentials_accepted(Step& s, std::uint32_t user) {
  SourceRecord& rec = s.rec;
  rec.flags |= record_flag::authenticated;
  if (const int i = user_slot(rec, user, true); i >= 0) {
    rec.failures[i] = rec.burst_failures[i] = 0;
    rec.fail_tat[i] = 0;
    rec.user_flags[i] |= user_flag::accepted;
  }
}

void Engine::Impl::on_outcome(Step& s, const Pending& p, Outcome o, std::string_view answer_user,
                              std::optional<std::uint32_t> granted_expires) {
  const bool credentialed = (p.flags & pending_flag::credentialed) != 0;
  SourceRecord& rec = s.rec;
  // The conversation a failure came in: SIP Call-ID and the remote's port (IAX2 call numbers
  // change with every registration attempt, so they say nothing of a device).
  const std::uint32_t call = (p.flags & pending_flag::iax) ? 0 : p.key;
  const std::uint16_t port = remote_port(s.obs.meta);
  switch (o) {
    case Outcome::accepted: {
      if (credentialed) credentials_accepted(s, p.user);
      if (p.kind == detail::RequestKind::unregister ||
          (p.kind == detail::RequestKind::register_ && granted_expires && *granted_expires == 0)) {
        const int i = user_slot(rec, p.user, false);
        if (i >= 0) rec.user_flags[i] &= static_cast<std::uint8_t>(~user_flag::registered);
        const bool others = std::any_of(std::begin(rec.user_flags), std::end(rec.user_flags),
                                        [](std::uint8_t f) { return (f & user_flag::registered) != 0; });
        if (rec.state == SourceState::validated && !others)
          forget(s, Rule::registration, "unregistered " + detail::printable(user_of(rec)));
      } else if (p.kind == detail::RequestKind::register_ && credentialed) {
        const std::string user = !answer_user.empty() && name_hash(answer_user) == p.user ? detail::printable(answer_user, kMaxUserText)
                                 : p.user != 0                                         ? names.lookup(p.user)
                                                                                       : detail::printable(answer_user, kMaxUserText);
        if (p.flags & pending_flag::outside_allow_from) {
          refuse_registration(s, user);
          return;
        }
        const std::uint32_t expires = granted_expires  ? *granted_expires
                                      : p.expires != 0 ? p.expires
                                                       : static_cast<std::uint32_t>(settings.default_registration.count() / 1'000'000);
        validate(s, user, p.user, expires);
      }
      return;
    }
    case Outcome::ringing:
    case Outcome::other:
      if (credentialed) credentials_accepted(s, p.user);
      return;
    case Outcome::challenged:
      if (credentialed) wrong_password(s, p.user, call, p.cseq, port);
      else if (credentials_pending(rec, p.user)) challenge_beside_credentials(s, p.user);
      else unanswered_challenge(s, p.user);
      return;
    case Outcome::rejected:
      if (credentialed) wrong_password(s, p.user, call, p.cseq, port);
      else unknown_user(s, p.user);
      return;
    case Outcome::not_found:
      // A registrar may look the user up before checking credentials; for calls, a number
      // that does not exist after authentication says nothing against the caller.
      if (!credentialed || p.kind != detail::RequestKind::invite) unknown_user(s, p.user);
      else credentials_accepted(s, p.user);
      return;
  }
}

// ---- SIP ------------------------------------------------------------------------------------

namespace {

detail::RequestKind request_kind(const SipRequest& r) {
  switch (r.method) {
    case SipMethod::register_: return r.expires && *r.expires == 0 ? detail::RequestKind::unregister : detail::RequestKind::register_;
    case SipMethod::invite: return detail::RequestKind::invite;
    default: return detail::RequestKind::other;
  }
}

bool kind_matches(detail::RequestKind k, SipMethod m) {
  switch (k) {
    case detail::RequestKind::register_:
    case detail::RequestKind::unregister: return m == SipMethod::register_;
    case detail::RequestKind::invite: return m == SipMethod::invite;
    case detail::RequestKind::other:
      return m != SipMethod::register_ && m != SipMethod::invite && m != SipMethod::ack && m != SipMethod::cancel;
  }
  return false;
}

}  // namespace

bool Engine::Impl::continues_answered(Step& s, const SipRequest& r) {
  if (r.to_tag.empty()) return false;
  SourceRecord& rec = s.rec;
  const std::uint32_t call = name_hash(r.call_id);
  const std::uint32_t tag = std::max<std::uint32_t>(name_hash(r.to_tag), 1);
  for (auto& q : rec.pending) {
    if (!(q.flags & pending_flag::answered) || q.key != call || q.user != tag) continue;
    if (r.method == SipMethod::ack ? r.cseq != q.cseq : r.cseq <= q.cseq) continue;
    s.proved = true;
    if (!(q.flags & pending_flag::guarded)) return false;
    q.flags = static_cast<std::uint8_t>(q.flags & ~pending_flag::guarded);
    const Rule rule = rec.guarded_rule;
    return take_block(s, rule, {},
                      std::string(rule_name(rule)) + " evidence from " + rec.addr.str() +
                          ", held back by the spoofing guard until this request continued the conversation the PBX "
                          "had answered there: the sender receives at that address",
                      rule == Rule::fingerprint);
  }
  return false;
}

void Engine::Impl::keep_answer(Step& s, Pending& slot, const Pending& p, const SipResponse& r) {
  if (r.to_tag.empty() || (p.flags & pending_flag::iax)) return;
  if (p.kind == detail::RequestKind::register_ || p.kind == detail::RequestKind::unregister) return;  // no dialog follows
  slot = Pending{};
  slot.key = p.key;
  slot.cseq = p.cseq;
  slot.user = std::max<std::uint32_t>(name_hash(r.to_tag), 1);
  slot.kind = p.kind;
  slot.flags = pending_flag::answered;
  if ((p.flags & pending_flag::guarded) || s.guarded != Rule::count_) slot.flags |= pending_flag::guarded;
}

void Engine::Impl::on_sip_request(Step& s, const SipRequest& r) {
  if (s.obs.meta.dir == Direction::from_pbx) {  // the PBX calling or qualifying the remote
    ++counters.from_pbx_requests;
    return;
  }
  judge_sip_request(s, r);
  // A block the spoofing guard withheld: remember it with the request, so that the
  // conversation continuing after the PBX's answer takes it (rule 13).
  if (s.guarded == Rule::count_ || s.rec.state == SourceState::blocked) return;
  if (Pending* p = find_pending(s.rec, name_hash(r.call_id), r.cseq, false)) p->flags |= pending_flag::guarded;
}

void Engine::Impl::judge_sip_request(Step& s, const SipRequest& r) {
  // Rule 13: only the holder of the address saw the nonce the PBX sent there; known before the
  // fingerprint is judged, so a tool answering its challenge is blocked at that request.
  if (r.has_credentials && r.auth_response_present && s.rec.nonce_hash != 0 && !r.auth_nonce.empty() &&
      name_hash(r.auth_nonce) == s.rec.nonce_hash)
    s.proved = true;
  // ... and only the receiver of the PBX's answer knows the To tag in it.
  if (continues_answered(s, r)) return;
  if (s.rec.requests < detail::kRandomProbeWindow && detail::looks_like_random_probe(r.target_user()) &&
      !(known_user && known_user(r.target_user()).value_or(false)))
    s.rec.flags |= record_flag::random_probe_first;
  if (check_fingerprint(s, r) || rate_request(s)) return;
  if (r.method == SipMethod::ack || r.method == SipMethod::cancel) return;  // never challenged
  if (r.evasions) ++counters.evasive_requests;
  if (!r.has_credentials && rate_port(s, remote_port(s.obs.meta))) return;
  // Grammar no phone breaks weighs two more requests in the port's bucket each time.
  for (int extra = 0; r.evasions && extra < 2; ++extra)
    if (rate_port(s, remote_port(s.obs.meta))) return;
  SourceRecord& rec = s.rec;
  const std::uint32_t key = name_hash(r.call_id);
  const detail::RequestKind kind = request_kind(r);
  if (Pending* p = find_pending(rec, key, r.cseq, false); p && p->kind == kind) {
    ++counters.retransmissions;
    return;
  }
  const std::string_view target = r.target_user();
  const std::uint32_t user = target.empty() ? 0 : name_hash(target);
  if (user) names.remember(user, target);
  const bool credentialed = r.has_credentials && r.auth_response_present;
  if (judge_open_challenges(s, key, credentialed)) return;
  if (credentialed) rec.flags |= record_flag::answers_challenges;
  Pending p;
  p.key = key;
  p.cseq = r.cseq;
  p.user = user;
  p.expires = r.expires ? saturate16(*r.expires) : 0;
  p.kind = kind;
  p.flags = credentialed ? pending_flag::credentialed : 0;
  if (s.proved) p.flags |= pending_flag::proved;
  if (credentialed && kind == detail::RequestKind::register_ && outside_allow_from(rec.addr, target))
    p.flags |= pending_flag::outside_allow_from;
  add_pending(rec, p);
  if (kind != detail::RequestKind::unregister) check_known_user(s, target, user, kind == detail::RequestKind::invite);
  if (rec.state == SourceState::blocked) return;
  if (kind == detail::RequestKind::invite && !credentialed) probe_call(s, r.uri_user);
}

void Engine::Impl::on_sip_response(Step& s, const SipResponse& r) {
  if (s.obs.meta.dir == Direction::to_pbx) return;  // the remote answering the PBX
  if (r.cseq_method == SipMethod::ack || r.cseq_method == SipMethod::cancel) return;
  if (r.has_challenge && !r.nonce.empty()) s.rec.nonce_hash = std::max<std::uint32_t>(name_hash(r.nonce), 1);
  Pending* found = find_pending(s.rec, name_hash(r.call_id), r.cseq, false);
  if (!found || !kind_matches(found->kind, r.cseq_method)) {
    ++counters.unmatched_responses;
    return;
  }
  if (found->flags & pending_flag::proved) s.proved = true;  // the answer to a proving request
  if (r.status < 200) {
    if (r.status >= 180 && found->kind == detail::RequestKind::invite) on_outcome(s, *found, Outcome::ringing, {}, std::nullopt);
    return;  // still pending: the final answer decides
  }
  const Pending p = *found;
  *found = Pending{};
  Outcome o = Outcome::other;
  if (r.status < 300) o = Outcome::accepted;
  else if (r.status == 401 || r.status == 407) o = r.stale_nonce ? Outcome::other : Outcome::challenged;
  else if (r.status == 403) o = Outcome::rejected;
  else if (r.status == 404 || r.status == 604) o = Outcome::not_found;
  on_outcome(s, p, o, r.to_user, r.expires);
  if (s.rec.state == SourceState::blocked || found->key != 0) return;
  if (o == Outcome::challenged && !(p.flags & pending_flag::credentialed) && p.kind != detail::RequestKind::invite)
    open_challenge(s, *found, p);
  else
    keep_answer(s, *found, p, r);
}

// ---- IAX2 -----------------------------------------------------------------------------------

void Engine::Impl::on_iax(Step& s, const IaxFrame& f) {
  SourceRecord& rec = s.rec;
  if (s.obs.meta.dir == Direction::to_pbx) {
    if (rate_request(s)) return;
    if (f.retransmitted) {
      ++counters.retransmissions;
      return;
    }
    const std::uint32_t key = std::uint32_t{f.source_call} + 1;
    const bool credentialed = f.has_md5_result || f.has_rsa_result;
    Pending p;
    p.key = key;
    p.flags = static_cast<std::uint8_t>(pending_flag::iax | (credentialed ? pending_flag::credentialed : 0));
    switch (f.command) {
      case IaxCommand::regreq:
      case IaxCommand::regrel:
      case IaxCommand::new_: {
        const std::string_view target = f.command == IaxCommand::new_ && f.username.empty() ? f.called_number : f.username;
        p.user = target.empty() ? 0 : name_hash(target);
        if (p.user) names.remember(p.user, target);
        p.kind = f.command == IaxCommand::new_     ? detail::RequestKind::invite
                 : f.command == IaxCommand::regrel ? detail::RequestKind::unregister
                                                   : detail::RequestKind::register_;
        p.expires = f.refresh ? *f.refresh : 0;
        if (credentialed) rec.flags |= record_flag::answers_challenges;
        if (credentialed && p.kind == detail::RequestKind::register_ && outside_allow_from(rec.addr, target))
          p.flags |= pending_flag::outside_allow_from;
        if (Pending* old = find_pending(rec, key, 0, true)) *old = p;
        else add_pending(rec, p);
        if (f.command != IaxCommand::regrel) check_known_user(s, target, p.user, f.command == IaxCommand::new_);
        if (rec.state == SourceState::blocked) return;
        if (f.command == IaxCommand::new_) probe_call(s, f.called_number);
        return;
      }
      case IaxCommand::authrep:
        if (!credentialed) return;
        rec.flags |= record_flag::answers_challenges;
        if (Pending* old = find_pending(rec, key, 0, true)) {
          old->flags |= pending_flag::credentialed;
        } else {
          p.kind = detail::RequestKind::invite;
          add_pending(rec, p);
        }
        return;
      default:
        return;
    }
  }

  // From the PBX: answers carry the remote's call number as destination.
  Outcome o;
  bool done = true;
  switch (f.command) {
    case IaxCommand::regauth: o = Outcome::challenged; break;
    case IaxCommand::authreq: o = Outcome::challenged; done = false; break;
    case IaxCommand::regack:
    case IaxCommand::accept: o = Outcome::accepted; break;
    case IaxCommand::regrej: o = Outcome::rejected; break;
    case IaxCommand::reject:
    case IaxCommand::hangup: o = Outcome::rejected; break;
    default: return;
  }
  Pending* found = find_pending(rec, std::uint32_t{f.dest_call} + 1, 0, true);
  if (!found) {
    if (f.command != IaxCommand::hangup) ++counters.unmatched_responses;
    return;
  }
  const Pending p = *found;
  const bool credentialed = (p.flags & pending_flag::credentialed) != 0;
  if (f.command == IaxCommand::reject || f.command == IaxCommand::hangup) {
    // Cause 1 (unallocated number) or 3 (no route): the call failed, not the credentials.
    const bool no_route = f.cause_code && (*f.cause_code == 1 || *f.cause_code == 3);
    if (!credentialed) o = p.kind == detail::RequestKind::invite || no_route ? Outcome::not_found : Outcome::rejected;
    else if (no_route) o = Outcome::other;
  }
  if (f.command == IaxCommand::authreq) {
    if (found->flags & pending_flag::challenged) return;  // retransmitted challenge
    found->flags |= pending_flag::challenged;
  }
  if (done) *found = Pending{};
  std::optional<std::uint32_t> granted;
  if (f.refresh) granted = *f.refresh;
  on_outcome(s, p, o, f.username, granted);
}

// ---- other observations ---------------------------------------------------------------------

void Engine::Impl::on_security_event(Step& s, const SecurityEvent& e) {
  const std::uint32_t user = e.account.empty() ? 0 : name_hash(e.account);
  if (user) names.remember(user, e.account);
  switch (e.kind) {
    case SecurityEventKind::auth_failed: wrong_password(s, user, 0, 0, s.obs.meta.sport); break;
    case SecurityEventKind::unknown_account: unknown_user(s, user); break;
    case SecurityEventKind::auth_ok: credentials_accepted(s, user); break;
  }
}

void Engine::Impl::on_malformed(Step& s) {
  // A packet on a signalling port that cannot be read is no free pass: it counts in both flood
  // buckets, like a request without credentials (no phone sends them in a row).
  if (s.obs.meta.dir != Direction::to_pbx) return;
  if (!rate_request(s)) rate_port(s, s.obs.meta.sport);
}

}  // namespace pbxwall::responsive
