// Healing what others break in table inet pbxwall while pbxwalld runs: `nft flush ruleset`
// (what restarting the nftables service does), `nft delete table inet pbxwall`, a flushed or
// deleted set, deleted elements of the responsive sets. The kernel's notifications
// (packets::TableWatch) say what changed and who changed it; the daemon's own changes are
// recognised by the sending socket or process and ignored. What was lost is put back from the
// daemon's live state (Firewall::restore_table, Firewall::reconcile_sets), an event and a
// warning say what happened. A periodic reconciliation re-adds elements lost without a
// notification, and set changes the kernel refused are retried every tick.
//
// The decisions are pure functions (plan_healing, missing_elements), tested without a kernel.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/time.h"
#include "daemon/firewall.h"
#include "packets/set_reader.h"
#include "packets/table_watch.h"
#include "ruleset/ruleset.h"

namespace asio {
class io_context;
}

namespace pbxwall::daemon {

// Who the daemon itself is, as notifications name it: its netlink ports (the set writer's,
// and libnftables' once seen) and process ids (its own; the kernel may name it by its pid in
// the initial namespace, learned from a transaction of a known port).
struct OwnIdentity {
  std::set<std::uint32_t> portids;
  std::set<std::uint32_t> process_ids;
};
// Whether the transaction is the daemon's own; learns the other identifier of a transaction
// recognised by one.
bool is_own(const packets::TableTransaction& t, OwnIdentity& own);

enum class HealStep : std::uint8_t {
  none,
  readd_elements,  // elements of responsive sets deleted: re-add those the daemon holds
  check,           // unknown (notifications lost) or the table replaced: check table and sets
  restore_table,   // the table, a chain, a rule or a set deleted: render the table again
};

struct HealPlan {
  HealStep step = HealStep::none;
  HealCause cause;
  std::vector<std::string> sets;  // readd_elements: responsive sets that lost elements
};

// What to do about a transaction of another process (pure).
HealPlan plan_healing(const packets::TableTransaction& t);
// Two plans of one read, as one: the larger step, the sets of both.
void merge(HealPlan& into, const HealPlan& other);
// "nft (pid 4242)", "netlink port 77" for the committing process.
std::string committed_by(const packets::TableTransaction& t);

// The elements the live state holds, one per key (the longest remaining time), ordered by
// key, leaving out entries with less than `min_remaining` left: they expire in the kernel at
// about the same time (pure).
std::vector<packets::SetElement> live_elements(const ruleset::LiveState& live, Duration min_remaining);

// Elements the live state holds and the kernel's sets lack, with their remaining time (pure).
// Only the sets present in `kernel` are compared.
std::vector<packets::SetElement> missing_elements(const ruleset::LiveState& live,
                                                  const std::map<std::string, std::set<packets::SetKey>>& kernel,
                                                  Duration min_remaining);

struct HealerOptions {
  std::uint32_t reconcile_ticks = 30;  // ticks (seconds) between reconciliations
  OwnIdentity own;
};

class TableHealer {
 public:
  using Log = std::function<void(int priority, const std::string& text)>;

  // `watch` may be null (no notifications: only ticks heal); `firewall` and `watch` must
  // outlive the healer. The Firewall reads the kernel through its kernel reader.
  TableHealer(asio::io_context& io, Firewall& firewall, packets::TableWatch* watch, Log log, HealerOptions options);
  ~TableHealer();
  TableHealer(const TableHealer&) = delete;
  TableHealer& operator=(const TableHealer&) = delete;

  void start();  // waits for notifications and ticks once a second on `io`
  void stop();

  // One transaction read from the watch (public for tests): the plan is acted on by act().
  void on_transaction(const packets::TableTransaction& t);
  // Acts on the plans of the transactions read since the last call.
  void act();
  // Once a second: retries a failed restore and refused set changes, reconciles when due.
  void tick();

 private:
  struct Timers;
  void wait_notifications();
  void schedule_tick();
  void restore(const HealCause& cause);
  void check(const HealCause& cause);
  void reconcile(const HealCause& cause, const std::vector<std::string>& sets);

  Firewall& firewall_;
  packets::TableWatch* watch_;
  Log log_;
  HealerOptions options_;
  std::unique_ptr<Timers> timers_;
  HealPlan planned_;
  std::optional<HealCause> restore_pending_;  // a restore the kernel refused, retried each tick
  bool updates_failing_ = false;
  std::uint64_t ticks_ = 0;
};

}  // namespace pbxwall::daemon
