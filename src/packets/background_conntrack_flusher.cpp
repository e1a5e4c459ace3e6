#include "packets/background_conntrack_flusher.h"

namespace pbxwall::packets {

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
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, nothing left
      batch.swap(queued_);
    }
    auto flushed = inner_->flush_udp(batch);
    if (flushed.ok()) deleted_ += *flushed;
    else ++failures_;
    batch.clear();
  }
}

}  // namespace pbxwall::packets
