// Time as the core sees it: a point given by the caller (packet time in replays, the clock in
// the daemon). Core code never reads a clock itself.
#pragma once

#include <chrono>
#include <cstdint>

namespace pbxwall {

using Duration = std::chrono::microseconds;
// Microseconds since the Unix epoch. Packet captures and the kernel both speak this.
using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;

inline TimePoint from_epoch_seconds(double s) {
  return TimePoint(Duration(static_cast<std::int64_t>(s * 1e6)));
}
inline double to_epoch_seconds(TimePoint t) {
  return static_cast<double>(t.time_since_epoch().count()) / 1e6;
}

// The boundary for code that needs "now" (daemon, CLI). Tests use SimulatedClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

class SimulatedClock final : public Clock {
 public:
  explicit SimulatedClock(TimePoint start = TimePoint(Duration(1'700'000'000'000'000))) : now_(start) {}
  TimePoint now() const override { return now_; }
  void advance(Duration d) { now_ += d; }
  void set(TimePoint t) { now_ = t; }

 private:
  TimePoint now_;
};

}  // namespace pbxwall
