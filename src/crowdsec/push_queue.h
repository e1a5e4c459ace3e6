// What this server tells the LAPI: its blocks (as alerts carrying one ban decision each) and an
// operator's unblocks (as deletes of the decisions pbxwall pushed). Pure policy of the queue
// that holds them while the LAPI cannot be reached: bounded (the oldest goes first when full),
// sent in batches, retried with exponential back-off. The caller persists the items (so they
// survive a restart) and performs the HTTP requests.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/address.h"
#include "base/time.h"

namespace pbxwall::crowdsec {

enum class PushKind : std::uint8_t { ban, unban };

struct PushItem {
  std::int64_t seq = 0;  // given by the queue, increasing; the persistence key
  PushKind kind = PushKind::ban;
  Cidr net;
  std::string rule;    // the pbxwall rule that blocked, e.g. "fingerprint" (scenario pbxwall/<rule>)
  std::string reason;  // readable, for the alert's message
  TimePoint at;        // when the block was taken
  TimePoint until;     // ban: when it ends
  bool operator==(const PushItem&) const = default;
};

// Exponential back-off: 1 s after the first failure, doubling, at most `max_delay`.
class Backoff {
 public:
  explicit Backoff(Duration first = std::chrono::seconds(1), Duration max_delay = std::chrono::seconds(60))
      : first_(first), max_(max_delay) {}
  void failed(TimePoint now);
  void succeeded() { failures_ = 0, not_before_.reset(); }
  bool ready(TimePoint now) const { return !not_before_ || now >= *not_before_; }
  std::uint32_t failures() const { return failures_; }
  std::optional<TimePoint> not_before() const { return not_before_; }

 private:
  Duration first_, max_;
  std::uint32_t failures_ = 0;
  std::optional<TimePoint> not_before_;
};

struct Enqueued {
  std::int64_t seq = 0;
  std::vector<std::int64_t> dropped;  // items taken out: the oldest when full, a ban an unban cancels
};

class PushQueue {
 public:
  explicit PushQueue(std::size_t capacity = 10'000, std::size_t batch = 250) : capacity_(capacity), batch_(batch) {}

  // Items persisted by an earlier run, oldest first.
  void restore(std::vector<PushItem> items);
  // An unban also drops a ban of the same network still waiting (and not being sent): the LAPI
  // never needs to hear of it. The unban itself stays, for a ban pushed earlier.
  Enqueued enqueue(PushItem item);

  // The next items to send: a run of one kind from the front, at most `batch`; none while a
  // batch is being sent or the back-off waits. Marks them in flight.
  std::vector<PushItem> next_batch(TimePoint now);
  // The first `done` items of the batch in flight were accepted; the rest (if any) failed.
  // Returns the sequence numbers that left the queue.
  std::vector<std::int64_t> finished(std::size_t done, bool failed, TimePoint now);

  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }
  std::uint64_t dropped() const { return dropped_; }
  bool in_flight() const { return in_flight_ > 0; }
  const Backoff& backoff() const { return backoff_; }

 private:
  std::deque<PushItem> items_;
  std::size_t capacity_, batch_;
  std::size_t in_flight_ = 0;
  std::int64_t next_seq_ = 1;
  std::uint64_t dropped_ = 0;
  Backoff backoff_;
};

// "2024-01-02T03:04:05Z"
std::string rfc3339(TimePoint t);
// Parses what the LAPI writes in "expire" ("2024-01-02T03:04:05Z", with fraction or offset).
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// The body of POST /v1/alerts for the bans in `items` (unbans are left out): one alert per ban,
// scenario "pbxwall/<rule>", its decision of origin "pbxwall" for the time that remains at
// `now`. Bans already over are left out too.
nlohmann::json alerts_body(const std::vector<PushItem>& items, const std::string& machine_id, TimePoint now);

// The query of DELETE /v1/decisions that removes the bans pbxwall pushed for `net`.
std::string unban_query(const Cidr& net);

inline constexpr const char* kOrigin = "pbxwall";

}  // namespace pbxwall::crowdsec
