// The daemon's writes to the state database, kept until they are saved. A write that fails
// (a full disk, an I/O error, a read-only file system) is not forgotten: it stays queued, in
// order, and is tried again with the next ones, at most once per retry interval while the
// database keeps failing. The queue is bounded; beyond it the oldest changes are dropped and
// counted. What the daemon renders into the kernel sets reads the database with the unsaved
// changes on top, so a reload never loses a block that only the disk refused.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "base/time.h"
#include "store/store.h"

namespace pbxwall::daemon {

struct RemoveBlock {
  std::string address;
};
struct RemoveValidation {
  std::string address;
};
// A block found in the kernel set and missing from the database: saved without escalating.
struct RecoveredBlock {
  store::BlockRecord record;
};

// One change. A new block's escalation count and a flag's first sighting and count are read
// from the database when it is written.
using StateChange = std::variant<store::BlockRecord, RecoveredBlock, RemoveBlock, store::ValidatedRecord,
                                 RemoveValidation, store::FlagRecord, store::EventRecord, store::RememberedRecord>;

struct StateWriterHealth {
  bool ok = true;              // the last write attempt succeeded
  std::size_t unsaved = 0;     // changes waiting to be written
  std::uint64_t failures = 0;  // write attempts that failed
  std::uint64_t dropped = 0;   // unsaved changes dropped, oldest first, beyond the queue's bound
  std::string error;           // why the last attempt failed
  std::optional<TimePoint> failing_since;  // first failure of the current run of failures
};

class StateWriter {
 public:
  static constexpr std::size_t kDefaultCapacity = 50'000;
  static constexpr Duration kRetryInterval = std::chrono::seconds(1);

  explicit StateWriter(store::StateStore& store, std::size_t capacity = kDefaultCapacity);

  // Queues a change; it is written by the next write().
  void queue(StateChange change);
  // True when a write() has something to do.
  bool has_work() const { return !queue_.empty(); }
  // Writes the queued changes (earlier unsaved ones first) and then `events` in one
  // transaction; each event's id is set when it is saved. On failure nothing of it is lost
  // (up to the bound): all stays queued for the next call. While the database is failing, a
  // call sooner than kRetryInterval after the last attempt only queues. True when everything
  // is saved.
  bool write(std::vector<store::EventRecord>& events, TimePoint now);

  const StateWriterHealth& health() const { return health_; }

  // Unexpired blocks and validations as the database holds them with the unsaved changes
  // applied on top, by address.
  std::vector<store::BlockRecord> active_blocks(TimePoint now) const;
  std::vector<store::ValidatedRecord> active_validated(TimePoint now) const;
  // How many blocks (addresses and networks) are in force: the database's count plus the
  // unsaved new ones (an upper bound while some wait: one may replace a saved block).
  std::size_t count_active_blocks(TimePoint now) const;
  // Unexpired blocks after address text `after` ("" from the start) in address order, unsaved
  // changes applied on top, one at a time to `each` until it returns false: constant memory
  // beyond the unsaved changes, whatever the number of blocks.
  void each_active_block(TimePoint now, const std::string& after,
                         const std::function<bool(const store::BlockRecord&)>& each) const;
  // Whether `address` (canonical text) is blocked now, unsaved changes included.
  bool is_active_block(const std::string& address, TimePoint now) const;

 private:
  Status<> apply(StateChange& change);
  void trim();
  void index(const StateChange& change);

  store::StateStore& store_;
  std::size_t capacity_;
  std::deque<StateChange> queue_;
  // The last queued block change per address: its end, or nullopt for a removal. A block
  // list queues thousands of blocks before they are written; without it each one's "blocked
  // already?" would scan the queue.
  std::unordered_map<std::string, std::optional<TimePoint>> queued_blocks_;
  std::optional<TimePoint> last_attempt_;
  StateWriterHealth health_;
};

}  // namespace pbxwall::daemon
