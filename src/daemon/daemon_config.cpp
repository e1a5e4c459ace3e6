#include "daemon/daemon_config.h"

#include "responsive/settings_toml.h"

namespace pbxwall::daemon {

Result<responsive::Settings, Diagnostics> engine_settings_from(const model::LoadedConfig& config) {
  const auto* section = config.table ? (*config.table)["responsive"].as_table() : nullptr;
  if (section == nullptr) return responsive::Settings{};
  return responsive::settings_from_toml(*section, config.source_name);
}

Result<DaemonSections, Diagnostics> daemon_sections_from(const model::LoadedConfig& config) {
  DaemonSections out;
  Diagnostics errors;
  const auto take = [&errors](auto&& result, auto& into) {
    if (result.ok()) {
      into = std::move(*result);
    } else {
      errors.insert(errors.end(), result.error().begin(), result.error().end());
    }
  };
  const auto* responsive = config.table ? (*config.table)["responsive"].as_table() : nullptr;
  take(ruleset::packet_path_from_toml(responsive, config.source_name), out.packet_path);
  take(engine_settings_from(config), out.settings);
  if (config.table) {
    take(integration_from_toml(*config.table, config.source_name, config.policy), out.integration);
    take(ami_settings_from_toml(*config.table, config.source_name), out.ami);
  }
  if (!errors.empty()) return fail(std::move(errors));
  return out;
}

}  // namespace pbxwall::daemon
