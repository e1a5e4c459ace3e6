// The configuration a Firewall runs with, validated (private to the daemon's sources).
#pragma once

#include <cstdint>
#include <string>

#include "daemon/firewall.h"
#include "ruleset/zone_index.h"

namespace pbxwall::daemon {

struct Firewall::Loaded {
  std::string text;  // the file's text this was loaded from
  model::LoadedConfig config;
  responsive::Settings settings;
  model::ResolvedHosts resolved;
  ruleset::ZoneIndex zones;  // [networks] with `resolved`, for never_block
  IntegrationSettings integration;
  ruleset::PacketPath packet_path = ruleset::PacketPath::log_group;
  std::uint16_t queue_num = 1;
  ruleset::PacketPathExplanation packet_path_explanation;
};

}  // namespace pbxwall::daemon
