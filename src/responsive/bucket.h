// Leaky buckets kept as one time value each (the "theoretical arrival time" of GCRA), so a
// counting rule costs 8 bytes per source whatever its threshold.
//
// A bucket drains at one microsecond per microsecond. Pouring an event adds its weight, a
// duration: for a threshold of `count` events per `window` one event weighs window/count. The
// bucket overflows when its level exceeds its capacity, window − window/count: `count` events
// in quick succession overflow it, and a steady rate of one event per window/count (or
// slower) never does.
#pragma once

#include <algorithm>
#include <cstdint>

namespace pbxwall::responsive::detail {

struct BucketShape {
  std::int64_t weight_us = 1;    // one event
  std::int64_t capacity_us = 0;  // level above which the bucket overflows
};

inline BucketShape bucket_shape(std::uint32_t count, std::int64_t window_us) {
  const std::int64_t weight = std::max<std::int64_t>(1, window_us / std::max<std::uint32_t>(count, 1));
  return {weight, window_us - weight};
}

// Adds `weight_us` to the bucket at `now_us`; true if it overflows.
inline bool pour(std::int64_t& tat_us, std::int64_t now_us, std::int64_t weight_us, std::int64_t capacity_us) {
  tat_us = std::max(tat_us, now_us) + weight_us;
  return tat_us - now_us > capacity_us;
}

// True when nothing is left in the bucket: the next event starts a new burst.
inline bool drained(std::int64_t tat_us, std::int64_t now_us) { return tat_us <= now_us; }

}  // namespace pbxwall::responsive::detail
