// A fixed-bucket latency histogram in the shape Prometheus expects (cumulative buckets).
#pragma once

#include <array>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "base/time.h"

namespace pbxwall::daemon {

class LatencyHistogram {
 public:
  static constexpr std::array<double, 11> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                     0.05,   0.1,   0.25,   0.5,   1.0};
  void observe(Duration d) {
    const double s = static_cast<double>(d.count()) / 1e6;
    for (std::size_t i = 0; i < kBounds.size(); ++i)
      if (s <= kBounds[i]) ++buckets_[i];
    sum_ += s;
    ++count_;
  }
  std::uint64_t count() const { return count_; }
  // {"buckets": [[le, cumulative count], ...], "sum": seconds, "count": n}
  nlohmann::json json() const {
    nlohmann::json b = nlohmann::json::array();
    for (std::size_t i = 0; i < kBounds.size(); ++i) b.push_back({kBounds[i], buckets_[i]});
    return {{"buckets", b}, {"sum", sum_}, {"count", count_}};
  }

 private:
  std::array<std::uint64_t, kBounds.size()> buckets_{};
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace pbxwall::daemon
