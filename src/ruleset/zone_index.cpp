#include "ruleset/zone_index.h"

#include <algorithm>

namespace pbxwall::ruleset {

ZoneIndex::ZoneIndex(const std::vector<ZoneRange>& ranges) {
  for (const auto& r : ranges)
    (r.first.is_v4() ? v4_ : v6_).push_back({detail::to_u128(r.first), detail::to_u128(r.last), r.zone});
  // flatten_zones sorts already; sorting again keeps the index right for any caller.
  auto by_first = [](const Range& a, const Range& b) { return a.first < b.first; };
  std::sort(v4_.begin(), v4_.end(), by_first);
  std::sort(v6_.begin(), v6_.end(), by_first);
}

ZoneIndex ZoneIndex::of_networks(std::vector<std::pair<Cidr, model::Zone>> networks) {
  return ZoneIndex(flatten_zones(std::move(networks)));
}

std::optional<model::Zone> ZoneIndex::zone_of(const IpAddress& addr) const {
  const auto& ranges = addr.is_v4() ? v4_ : v6_;
  const detail::u128 key = detail::to_u128(addr);
  // The last range starting at or before the address.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), key,
                             [](detail::u128 k, const Range& r) { return k < r.first; });
  if (it == ranges.begin()) return std::nullopt;
  --it;
  if (key > it->last) return std::nullopt;
  return it->zone;
}

}  // namespace pbxwall::ruleset
