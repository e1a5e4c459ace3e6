#include "http/event_feed.h"

namespace pbxwall::http {

void EventFeed::publish(std::string data) {
  {
    std::lock_guard lock(mutex_);
    events_.emplace_back(next_++, std::move(data));
    while (events_.size() > keep_) events_.pop_front();
  }
  changed_.notify_all();
}

std::vector<std::pair<std::uint64_t, std::string>> EventFeed::wait_after(std::uint64_t after,
                                                                         std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, wait, [&] { return stopped_ || (!events_.empty() && events_.back().first > after); });
  std::vector<std::pair<std::uint64_t, std::string>> out;
  if (stopped_) return out;
  for (const auto& e : events_)
    if (e.first > after) out.push_back(e);
  return out;
}

std::uint64_t EventFeed::last() const {
  std::lock_guard lock(mutex_);
  return next_ - 1;
}

void EventFeed::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  changed_.notify_all();
}

bool EventFeed::stopped() const {
  std::lock_guard lock(mutex_);
  return stopped_;
}

}  // namespace pbxwall::http
