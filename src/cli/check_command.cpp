// `pbxwall check` and `pbxwall show ruleset`.
#include <net/if.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <ostream>
#include <tuple>

#include "base/plural.h"
#include "base/suggest.h"
#include "cli/commands.h"
#include "cli/firewall.h"
#include "daemon/daemon_config.h"
#include "kernel/kernel.h"
#include "ruleset/ruleset.h"

namespace pbxwall::cli {
namespace {

// The script pbxwalld would apply for `config` now (without the live blocks): the
// configuration with the PBX's ports and trunks.
std::string render_applied(Context& ctx, const model::LoadedConfig& config) {
  const PbxInput pbx = pbx_input(config);
  ruleset::RenderInput input{config.policy};
  input.resolved = resolve_hostnames(ctx, config.policy);
  input.discovered = pbx.ports;
  input.trunks = trunks_now(ctx, pbx);
  return ruleset::render(input);
}

std::vector<std::string> interfaces_here(Context& ctx) {
  if (ctx.interface_names) return ctx.interface_names();
  std::vector<std::string> names;
  if (struct if_nameindex* list = if_nameindex(); list != nullptr) {
    for (const struct if_nameindex* i = list; i->if_index != 0; ++i) names.emplace_back(i->if_name);
    if_freenameindex(list);
  }
  return names;
}

// [interfaces] names this machine does not have: valid (a VPN or VLAN interface may come up
// later), but a typo leaves the interface meant in the zone of its addresses.
Diagnostics missing_interfaces(Context& ctx, const model::LoadedConfig& config) {
  Diagnostics out;
  const toml::table* section = config.table ? (*config.table)["interfaces"].as_table() : nullptr;
  if (section == nullptr || config.policy.interfaces.empty()) return out;
  const auto here = interfaces_here(ctx);
  std::string list;
  for (const auto& name : here) list += (list.empty() ? "" : ", ") + name;
  for (const auto& [name, zone] : config.policy.interfaces) {
    if (std::find(here.begin(), here.end(), name) != here.end()) continue;
    const toml::node* at = section->get(name);
    if (at == nullptr) continue;
    std::string message = "no interface named " + name + " on this machine";
    if (auto near = near_miss(name, here)) message += " (did you mean " + *near + "?)";
    message += "; interfaces here: " + (list.empty() ? std::string("none") : list) + ". Its zone " +
               std::string(model::zone_name(zone)) + " applies once it exists";
    out.push_back(model::diagnostic_at(*at, config.source_name, "interfaces." + name, std::move(message),
                                       Severity::warning));
  }
  return out;
}

// require_enabled: a valid configuration that says `[firewall] enabled = false` exits with
// kExitFailure (the systemd units' ExecCondition: an unconfigured machine is never firewalled).
// Every problem of the file is reported at once, in line order: the sections the model reads
// and those only pbxwalld reads (checked by the function its reloads use) alike.
void run_check(Context& ctx, bool require_enabled) {
  auto report = model::load_file_report(ctx.config_path);
  Diagnostics all = std::move(report.errors);
  const auto add = [&all](const Diagnostics& ds) { all.insert(all.end(), ds.begin(), ds.end()); };
  add(report.config.warnings);
  if (report.config.table) {
    auto sections = daemon::daemon_sections_from(report.config);
    add(sections.ok() ? sections->warnings : sections.error());
    add(missing_interfaces(ctx, report.config));
  }
  std::stable_sort(all.begin(), all.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  print_diagnostics(ctx, all);
  if (has_errors(all)) {
    const auto errors = std::count_if(all.begin(), all.end(), [](const Diagnostic& d) { return d.severity == Severity::error; });
    ctx.e() << "pbxwall: " << ctx.config_path << " is invalid (" << counted(errors, "error") << ")\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  const auto warnings = static_cast<std::size_t>(all.size());
  const model::LoadedConfig* config = &report.config;
  const std::string script = render_applied(ctx, *config);
  // The kernel's own dry run catches what only nftables knows (it needs CAP_NET_ADMIN).
  if (ctx.applier != nullptr || geteuid() == 0) {
    auto checked = ctx.kernel().check(script);
    if (!checked) {
      ctx.fail("nftables rejects the rendered ruleset:\n", checked.error());
      return;
    }
  }
  const auto& p = config->policy;
  auto count = [](std::size_t n, const char* what) { return counted(static_cast<std::int64_t>(n), what); };
  ctx.o() << ctx.config_path << ": OK (" << count(p.networks.size(), "network") << ", "
          << count(p.interfaces.size(), "interface") << ", " << count(p.services.size(), "service")
          << (warnings == 0 ? "" : ", " + count(warnings, "warning")) << ")\n";
  if (require_enabled && !p.enabled) {
    ctx.e() << "pbxwall: " << ctx.config_path
            << ": [firewall] enabled = false: the firewall stays off until it says enabled = true\n";
    ctx.exit_status = kExitFailure;
  }
}

void run_show_ruleset(Context& ctx, bool live) {
  if (live) {
    auto table = live_table(ctx);
    if (!table) return;
    if (table->empty()) ctx.e() << "pbxwall: not running (no table inet pbxwall)\n";
    ctx.o() << *table;
    return;
  }
  auto config = load_config(ctx);
  if (!config) return;
  ctx.o() << render_applied(ctx, *config);
}

}  // namespace

void add_check_command(CLI::App& app, Context& ctx) {
  auto* check = app.add_subcommand(
      "check", "Validate the configuration (errors as file:line:column) and the ruleset it renders");
  auto require_enabled = std::make_shared<bool>(false);
  check->add_flag("--require-enabled", *require_enabled,
                  "Also exit 1 when [firewall] enabled = false (the systemd units' start condition)");
  check->callback([&ctx, require_enabled] { run_check(ctx, *require_enabled); });

  auto* show = app.add_subcommand("show", "Show what pbxwall would apply or has applied");
  show->require_subcommand(1);
  auto* ruleset_cmd = show->add_subcommand(
      "ruleset", "Print the nftables script rendered from the configuration");
  auto live = std::make_shared<bool>(false);
  ruleset_cmd->add_flag("--live", *live, "Print the table in the kernel instead");
  ruleset_cmd->callback([&ctx, live] { run_show_ruleset(ctx, *live); });
}

}  // namespace pbxwall::cli
