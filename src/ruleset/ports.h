// Port sets as the ruleset needs them: merged per protocol so interval sets never overlap.
#pragma once

#include <set>
#include <vector>

#include "model/model.h"

namespace pbxwall::ruleset::detail {

// Sorted by protocol then port; overlapping or adjacent ranges of one protocol merged.
std::vector<model::PortRange> merge_ports(std::vector<model::PortRange> ports);

// The ports of `from` that are not in `minus` (both as merge_ports leaves them).
std::vector<model::PortRange> subtract_ports(const std::vector<model::PortRange>& from,
                                             const std::vector<model::PortRange>& minus);

// Ports of every service opened to `zone`.
std::vector<model::PortRange> zone_ports(const std::vector<model::Service>& services,
                                         model::Zone zone);

// Ports of the named services (missing names are skipped).
std::vector<model::PortRange> service_ports(const std::vector<model::Service>& services,
                                            std::initializer_list<std::string_view> names);

}  // namespace pbxwall::ruleset::detail
