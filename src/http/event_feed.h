// Fan-out of daemon events to Server-Sent Event streams. The daemon's loop publishes; each
// stream (one HTTP server thread) waits for events newer than the last one it sent.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "base/time.h"

namespace pbxwall::http {

class EventFeed {
 public:
  explicit EventFeed(std::size_t keep = 256) : keep_(keep) {}
  // `data` is one JSON document (no newlines).
  void publish(std::string data);
  // Events with sequence > after, waiting up to `wait` for one to come. Empty: timeout or stop.
  std::vector<std::pair<std::uint64_t, std::string>> wait_after(std::uint64_t after, std::chrono::milliseconds wait);
  std::uint64_t last() const;
  void stop();  // wakes every waiter; streams then end
  bool stopped() const;

 private:
  std::size_t keep_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::pair<std::uint64_t, std::string>> events_;
  std::uint64_t next_ = 1;
  bool stopped_ = false;
};

}  // namespace pbxwall::http
