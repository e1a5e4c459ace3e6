// Which trunk names to ask the DNS about and when, and what the answers add up to. Pure: time
// is a parameter and the lookups happen elsewhere (the daemon's worker thread, or a test).
//
// For each configured name the resolver asks A, AAAA and the SRV records `_sip._udp`,
// `_sip._tcp`, `_sips._tcp` and `_iax._udp`; every SRV target is asked A and AAAA in turn.
// An answer is asked again when its TTL runs out, bounded to [min_refresh, max_refresh].
// A failed lookup keeps the last good answer and is retried after `retry`; NXDOMAIN and empty
// answers are answers (most trunks publish no SRV records at all).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "dns/resolver.h"

namespace pbxwall::dns {

struct RefreshBounds {
  Duration min_refresh = std::chrono::seconds(30);
  Duration max_refresh = std::chrono::hours(1);
  Duration retry = std::chrono::seconds(30);  // after a failure
};

// The SRV services asked for every trunk name.
inline constexpr const char* kSrvPrefixes[] = {"_sip._udp.", "_sip._tcp.", "_sips._tcp.", "_iax._udp."};

// What one configured name adds up to now, for `status`, `discover` and the web UI.
enum class TrunkHealth : std::uint8_t {
  pending,     // not answered yet
  resolved,    // has addresses (the last good answer, even when the latest lookup failed)
  no_name,     // NXDOMAIN: the name does not exist
  no_address,  // the name exists but has no A/AAAA record (nor SRV targets that have one)
  failing,     // no answer at all yet (timeout, no server, SERVFAIL): nothing known
};

const char* to_string(TrunkHealth health);

struct TrunkNameState {
  std::string name;
  TrunkHealth health = TrunkHealth::pending;
  std::vector<IpAddress> addresses;  // directly and through SRV targets, sorted
  Duration ttl{0};                   // smallest TTL of the answers that gave them (0: unknown)
  std::string error;                 // the latest failed lookup's error ("" when it succeeded)
  std::optional<TimePoint> answered;  // when the latest answer came
};

struct TrunkResolverCounters {
  std::size_t answers = 0;
  std::size_t failures = 0;
  std::size_t changes = 0;  // answers that changed the address set
};

class TrunkResolver {
 public:
  explicit TrunkResolver(RefreshBounds bounds = {});
  // New bounds apply from the next answer on; the answers held stay.
  void set_bounds(RefreshBounds bounds) { bounds_ = bounds; }

  // Replaces the configured names (from PBX discovery). New names are due at once; names no
  // longer configured are dropped with what they resolved to. Returns true if the address set
  // changed (a dropped name's addresses went away).
  bool set_names(const std::vector<std::string>& names, TimePoint now);

  // Questions whose refresh time has come and that are not already being asked; they are
  // marked in flight until their answer is given to on_answer().
  std::vector<Question> due(TimePoint now);
  // When the next question falls due (empty: nothing configured or everything in flight).
  std::optional<TimePoint> next_due() const;
  // Asks everything again at the next due() (the PBX configuration changed).
  void refresh_all(TimePoint now);

  // Takes an answer; returns true if the set of addresses changed. Answers to questions no
  // longer wanted are ignored.
  bool on_answer(const Question& question, const Answer& answer, TimePoint now);

  // Every address the configured names currently resolve to, directly or through SRV targets.
  std::vector<IpAddress> addresses() const;
  // Addresses per configured name, for `discover`-style listings.
  std::map<std::string, std::vector<IpAddress>> addresses_by_name() const;

  // The state of every configured name, in configuration order.
  std::vector<TrunkNameState> states() const;

  const TrunkResolverCounters& counters() const { return counters_; }

 private:
  struct Entry {
    std::vector<IpAddress> addresses;  // A / AAAA: last good answer
    std::vector<SrvTarget> targets;    // SRV: last good answer
    TimePoint next{};
    bool in_flight = false;
    bool answered = false;
    AnswerStatus status = AnswerStatus::failure;  // of the last answer given, failures included
    Duration ttl{0};                              // of the last good answer
    std::string error;                            // of the last answer, when it failed
    std::optional<TimePoint> at;                  // when the last answer came
  };
  void rebuild_targets(TimePoint now);
  std::set<IpAddress> address_set() const;

  RefreshBounds bounds_;
  std::vector<std::string> names_;
  std::map<Question, Entry> entries_;
  TrunkResolverCounters counters_;
};

}  // namespace pbxwall::dns
