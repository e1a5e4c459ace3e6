// Reads the optional <case>.state file that accompanies a golden configuration: the inputs of
// render() that do not come from pbxwall.toml (resolved hosts, trunks, live state, ...).
#pragma once

#include <string>

#include "ruleset/ruleset.h"

namespace pbxwall::ruleset::testing {

struct ExtraInputs {
  model::ResolvedHosts resolved;
  std::optional<DiscoveredPorts> discovered;
  std::vector<Cidr> trunks;
  LiveState live;
  RenderOptions options;
};

// Aborts the test (ADD_FAILURE + empty result) on a malformed line, naming file:line.
ExtraInputs read_extra_inputs(const std::string& path);

std::string read_file(const std::string& path);

}  // namespace pbxwall::ruleset::testing
