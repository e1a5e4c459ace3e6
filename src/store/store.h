// Persistent firewall state in SQLite: what is blocked, validated and flagged, and a bounded
// history of events. The daemon writes every decision here in the same loop tick that sends it
// to the kernel, and at start puts the unexpired blocks and validations back into the kernel
// sets before inspecting any packet.
//
// Durability: WAL journal with synchronous=NORMAL, so a committed transaction survives the
// process being killed at any moment (the WAL is in the page cache); only a power loss can undo
// the last commits, and never corrupts the file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace pbxwall::store {

namespace sql {
class Database;
}

// A source address whose packets the kernel drops until `until`.
struct BlockRecord {
  std::string address;  // IPv4 or IPv6 address text
  std::string rule;     // rule that decided, e.g. "fingerprint"
  std::string reason;   // readable, e.g. "svwar fingerprint: User-Agent friendly-scanner"
  TimePoint since;
  TimePoint until;
  std::int64_t times_blocked = 1;  // escalation: a host blocked again is blocked for longer
  bool operator==(const BlockRecord&) const = default;
};

// A source that registered successfully and skips userspace until `until`.
struct ValidatedRecord {
  std::string address;
  std::string user;
  TimePoint until;
  bool operator==(const ValidatedRecord&) const = default;
};

// The latest validation of an address, kept after the validation ended: the engine blocks a
// recently validated address only on evidence a forged source cannot produce.
struct RememberedRecord {
  std::string address;
  std::string user;
  TimePoint validated;
  bool operator==(const RememberedRecord&) const = default;
};

// A device that keeps failing authentication for one user without looking like an attack
// (a phone with a wrong password): shown to the admin, not blocked. Keyed by (address, user).
struct FlagRecord {
  std::string address;
  std::string user;
  std::string reason;
  TimePoint first_seen;
  TimePoint last_seen;
  std::int64_t count = 1;
  bool operator==(const FlagRecord&) const = default;
};

struct EventRecord {
  std::int64_t id = 0;  // assigned by the store, increasing; ignored by add_event
  TimePoint time;
  std::string kind;  // "block", "unblock", "validate", "flag", ...
  std::string address;
  std::string user;
  std::string rule;
  std::string reason;
  bool operator==(const EventRecord&) const = default;
};

// A message for a peer that waits until the peer takes it (the CrowdSec LAPI's pushes): kept
// across restarts, removed once delivered. `kind` and the fields' meaning belong to the sender.
struct OutboxRecord {
  std::int64_t seq = 0;  // given by the sender, increasing
  std::string kind;      // e.g. "ban", "unban"
  std::string address;   // address or network text
  std::string rule;
  std::string reason;
  TimePoint at;
  TimePoint until;
  bool operator==(const OutboxRecord&) const = default;
};

// What prune() keeps. Active blocks and validations are never pruned, whatever their number:
// they mirror the kernel sets.
struct Retention {
  Duration max_age = std::chrono::hours(24 * 30);  // expired blocks, flags, events older go
  std::int64_t max_events = 100'000;
  std::int64_t max_flags = 100'000;
  std::int64_t max_expired_blocks = 100'000;  // kept for escalation history
};

struct PruneCounts {
  std::int64_t blocks = 0;
  std::int64_t validated = 0;
  std::int64_t flags = 0;
  std::int64_t events = 0;
  bool operator==(const PruneCounts&) const = default;
};

class StateStore {
 public:
  // Opens or creates the database at `path` (":memory:" for a private in-memory one), applies
  // pending schema migrations, sets WAL mode, synchronous=NORMAL and a busy timeout. A new file
  // is created 0600 (an existing one is set to 0600). No integrity
  // check: the daemon opens its database with open_state_file() (state_file.h).
  static Result<std::unique_ptr<StateStore>> open(const std::string& path, Retention retention = {});
  // Opens an existing database for reading only, as the CLI does while pbxwalld is down: no
  // migration, no pragma that writes. Writing through it fails.
  static Result<std::unique_ptr<StateStore>> open_read_only(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Insert or replace by address. Addresses must parse as IP addresses; the text is stored in
  // canonical form so "2001:DB8::1" and "2001:db8::1" are one row.
  Status<> upsert_block(const BlockRecord& r);
  // A new block of `r.address`: inserted with times_blocked 1, or replacing the one there with
  // its times_blocked one more (the escalation count), in one statement.
  Status<> add_block(const BlockRecord& r);
  Status<> remove_block(const std::string& address);
  Result<std::optional<BlockRecord>> find_block(const std::string& address);  // also if expired
  // The end of the block of `address`, also if it expired; nullopt when there is none.
  Result<std::optional<TimePoint>> block_until(const std::string& address);
  Result<std::vector<BlockRecord>> active_blocks(TimePoint now);  // until > now, by address
  Result<std::int64_t> count_active_blocks(TimePoint now);        // until > now (an index count)
  // Active blocks with an address text after `after` ("" from the start), in address order,
  // given one at a time to `each` until it returns false: a listing of any size in constant
  // memory.
  Status<> each_active_block(TimePoint now, const std::string& after,
                             const std::function<bool(const BlockRecord&)>& each);

  Status<> upsert_validated(const ValidatedRecord& r);
  Status<> remove_validated(const std::string& address);
  Result<std::vector<ValidatedRecord>> active_validated(TimePoint now);

  // Insert or replace by address (a later validation replaces an earlier one).
  Status<> remember_validated(const RememberedRecord& r);
  Result<std::vector<RememberedRecord>> remembered_since(TimePoint since);  // validated >= since

  // Insert or replace by (address, user).
  Status<> upsert_flag(const FlagRecord& r);
  // Insert, or add r.count to the flag of (address, user) with r's reason and last_seen (its
  // first_seen stays).
  Status<> count_flag(const FlagRecord& r);
  Status<> remove_flag(const std::string& address, const std::string& user);
  Result<std::vector<FlagRecord>> flags();  // most recently seen first

  // Returns the id given to the event.
  Result<std::int64_t> add_event(const EventRecord& e);
  // Events with time >= since, oldest first, at most `limit`.
  Result<std::vector<EventRecord>> events(TimePoint since, std::int64_t limit);
  // Events with id > after_id, oldest first, at most `limit` (for following the history).
  Result<std::vector<EventRecord>> events_after(std::int64_t after_id, std::int64_t limit);

  // The outbox (store/outbox.cpp): insert or replace by seq, remove delivered ones, all in seq order.
  Status<> add_outbox(const OutboxRecord& r);
  Status<> remove_outbox(const std::vector<std::int64_t>& seqs);
  Result<std::vector<OutboxRecord>> outbox();

  // Removes expired validations, remembered validations older than max_age, expired blocks older than max_age (and beyond
  // max_expired_blocks), flags not seen for max_age (and beyond max_flags), events older than
  // max_age (and beyond max_events, oldest first). One transaction.
  Result<PruneCounts> prune(TimePoint now);

  // Runs `body` in one transaction (one fsync-free WAL commit for a whole loop tick). If `body`
  // fails, everything it wrote is rolled back and its error returned. Not reentrant: a
  // transaction inside `body` is an error.
  Status<> transaction(const std::function<Status<>()>& body);

  int schema_version();
  // The schema version the file had before open() migrated it (0: a new database).
  int schema_version_at_open() const { return schema_at_open_; }

  // Makes every later write fail as on a read-only file system (PRAGMA query_only), or lets
  // them through again. Tests use it to inject failed writes.
  Status<> refuse_writes(bool refuse);

 private:
  StateStore(std::unique_ptr<sql::Database> db, Retention retention);
  std::unique_ptr<sql::Database> db_;
  Retention retention_;
  bool in_transaction_ = false;
  int schema_at_open_ = 0;
};

}  // namespace pbxwall::store
