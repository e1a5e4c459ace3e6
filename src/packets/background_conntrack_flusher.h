// Runs another ConntrackFlusher on a worker thread, so that the event loop does not wait for
// the conntrack table walk each tick with a new block (a dump visits every bucket of the table,
// milliseconds even when it holds few entries). The order the interface asks for still holds:
// sources are queued after their block is in the kernel set, and the worker flushes them after.
// CPU stays bounded in a burst of blocks: after a walk the worker rests kIdleFactor times as
// long as the walk took (within kMinRest..kMaxRest), so walks take at most a fifth of a core,
// and every source queued meanwhile goes into the next walk.
#pragma once

#include <chrono>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "packets/conntrack_flusher.h"

namespace pbxwall::packets {

// How long the worker rests after a walk that took `walk`.
std::chrono::steady_clock::duration conntrack_rest_after(std::chrono::steady_clock::duration walk);

class BackgroundConntrackFlusher final : public ConntrackFlusher {
 public:
  static constexpr int kIdleFactor = 4;
  static constexpr std::chrono::milliseconds kMinRest{50};
  static constexpr std::chrono::milliseconds kMaxRest{2000};

  explicit BackgroundConntrackFlusher(std::unique_ptr<ConntrackFlusher> inner);
  // Flushes what is still queued, then stops the worker.
  ~BackgroundConntrackFlusher() override;
  BackgroundConntrackFlusher(const BackgroundConntrackFlusher&) = delete;
  BackgroundConntrackFlusher& operator=(const BackgroundConntrackFlusher&) = delete;

  // Queues the sources and returns 0 at once; the worker takes everything queued in one call
  // of the inner flusher. What it deleted and how often it failed: deleted(), failures().
  Result<std::size_t> flush_udp(std::span<const IpAddress> sources) override;

  std::uint64_t deleted() const { return deleted_; }
  std::uint64_t failures() const { return failures_; }
  std::uint64_t walks() const { return walks_; }  // calls of the inner flusher

 private:
  void run();

  std::unique_ptr<ConntrackFlusher> inner_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<IpAddress> queued_;  // guarded by mutex_
  bool stopping_ = false;          // guarded by mutex_
  std::atomic<std::uint64_t> deleted_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> walks_{0};
  std::thread worker_;  // last: started once everything above exists
};

}  // namespace pbxwall::packets
