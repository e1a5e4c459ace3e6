// The zone of an address by its networks in O(log n): the disjoint ranges flatten_zones makes
// for the zone sets (the most specific network wins, ties the more restrictive zone), searched
// by binary search. The daemon asks it "never block this address?" for every block decision
// and every restored block; the renderer writes the same ranges into the kernel's sets.
#pragma once

#include <optional>
#include <vector>

#include "base/address.h"
#include "model/model.h"
#include "ruleset/intervals.h"
#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {

class ZoneIndex {
 public:
  ZoneIndex() = default;
  // `ranges` as flatten_zones returns them (disjoint, sorted by family then address).
  explicit ZoneIndex(const std::vector<ZoneRange>& ranges);
  // From networks that may overlap (flattened first).
  static ZoneIndex of_networks(std::vector<std::pair<Cidr, model::Zone>> networks);

  // The zone of the most specific network holding `addr`; nullopt when none does (the
  // interface's zone, else internet, applies then: see model::zone_of).
  std::optional<model::Zone> zone_of(const IpAddress& addr) const;
  bool contains(const IpAddress& addr) const { return zone_of(addr).has_value(); }
  std::size_t size() const { return v4_.size() + v6_.size(); }

 private:
  struct Range {
    detail::u128 first;
    detail::u128 last;
    model::Zone zone;
  };
  std::vector<Range> v4_;
  std::vector<Range> v6_;
};

}  // namespace pbxwall::ruleset
