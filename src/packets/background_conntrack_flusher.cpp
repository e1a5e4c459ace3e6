#include "packets/background_conntrack_flusher.h"

#include <algorithm>

namespace pbxwall::packets {

std::chrono::steady_clock::duration conntrack_rest_after(std::chrono::steady_clock::duration walk) {
  using Rest = std::chrono::steady_clock::duration;
  return std::clamp<Rest>(walk * BackgroundConntrackFlusher::kIdleFactor, BackgroundConntrackFlusher::kMinRest,
                          BackgroundConntrackFlusher::kMaxRest);
}

BackgroundConntrackFlusher::BackgroundConntrackFlusher(std::unique_ptr<ConntrackFlusher> inner)
    : inner_(std::move(inner)), worker_([this] { run(); }) {}

BackgroundConntrackFlusher::~BackgroundConntrackFlusher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  worker_.join();
}

Result<std::size_t> BackgroundConntrackFlusher::flush_udp(std::span<const IpAddress> sources) {
  if (sources.empty()) return std::size_t{0};
  {
    std::lock_guard lock(mutex_);
    queued_.insert(queued_.end(), sources.begin(), sources.end());
  }
  wake_.notify_one();
  return std::size_t{0};
}

void BackgroundConntrackFlusher::run() {
  std::vector<IpAddress> batch;
  std::chrono::steady_clock::duration rest{0};
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // The rest after the last walk; stopping ends it early, so nothing waits at shutdown.
      if (rest.count() > 0) wake_.wait_for(lock, rest, [this] { return stopping_; });
      wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, nothing left
      batch.swap(queued_);
    }
    // A source blocked twice in a burst is walked for once.
    std::sort(batch.begin(), batch.end());
    batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
    const auto started = std::chrono::steady_clock::now();
    auto flushed = inner_->flush_udp(batch);
    rest = conntrack_rest_after(std::chrono::steady_clock::now() - started);
    ++walks_;
    if (flushed.ok()) deleted_ += *flushed;
    else ++failures_;
    batch.clear();
  }
}

}  // namespace pbxwall::packets
