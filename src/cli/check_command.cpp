// `pbxwall check` and `pbxwall show ruleset`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ostream>

#include "base/plural.h"
#include "cli/commands.h"
#include "cli/firewall.h"
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

// require_enabled: a valid configuration that says `[firewall] enabled = false` exits with
// kExitFailure (the systemd units' ExecCondition: an unconfigured machine is never firewalled).
void run_check(Context& ctx, bool require_enabled) {
  auto config = load_config(ctx);
  if (!config) {
    ctx.e() << "pbxwall: " << ctx.config_path << " is invalid\n";
    return;
  }
  // The sections only pbxwalld reads, checked by the function its reloads use: a mistake
  // there would otherwise show only when the daemon refuses the next reload.
  if (!validate_daemon_sections(ctx, *config)) {
    ctx.e() << "pbxwall: " << ctx.config_path << " is invalid\n";
    return;
  }
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
          << (config->warnings.empty() ? "" : ", " + count(config->warnings.size(), "warning")) << ")\n";
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
