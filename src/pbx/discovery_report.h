// Renders a Discovery for people (aligned table) and programs (JSON), each item with the
// file:line it came from. Used by `pbxwall discover` and the daemon's API.
#pragma once

#include <string>

#include "pbx/discovery.h"

namespace pbxwall::pbx {

std::string discovery_to_text(const Discovery& d);
// Stable field names; ports as numbers; "port": null for a trunk host without a port.
std::string discovery_to_json(const Discovery& d, int indent = 2);

}  // namespace pbxwall::pbx
