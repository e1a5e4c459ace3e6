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
    const toml::table* web = (*config.table)["web"].as_table();
    take(http::web_settings_from_toml(web, config.source_name), out.web);
    if (web != nullptr && errors.empty() && out.web.enabled && !out.web.tls()) {
      const auto listen = IpAddress::parse(out.web.listen);
      static const Cidr v4 = *Cidr::parse("127.0.0.0/8");
      static const Cidr v6 = *Cidr::parse("::1/128");
      if (listen && !v4.contains(*listen) && !v6.contains(*listen)) {
        const toml::node* at = web->get("listen");
        out.warnings.push_back(model::diagnostic_at(
            at != nullptr ? *at : static_cast<const toml::node&>(*web), config.source_name, "web.listen",
            "the web UI listens on " + out.web.listen +
                " without TLS: its password and session travel in clear text; set tls_cert and "
                "tls_key, or keep 127.0.0.1 and use an SSH tunnel",
            Severity::warning));
      }
    }
    take(crowdsec::crowdsec_settings_from_toml(*config.table, config.source_name), out.crowdsec);
    take(blocklist::sources_from_toml(*config.table, config.source_name), out.blocklists);
  }
  if (!errors.empty()) return fail(std::move(errors));
  return out;
}

}  // namespace pbxwall::daemon
