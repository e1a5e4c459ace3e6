// The `pbxwall` application: global options, the command families, and the mapping of
// CLI11's parse errors to exit statuses.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "kernel/kernel.h"

namespace pbxwall::cli {

kernel::RulesetApplier& Context::kernel() {
  if (applier == nullptr) {
    owned_applier = std::make_shared<kernel::NftApplier>();
    applier = owned_applier.get();
  }
  return *applier;
}

int run_cli(const std::vector<std::string>& args, Context& ctx) {
  if (ctx.out == nullptr) ctx.out = &std::cout;
  if (ctx.err == nullptr) ctx.err = &std::cerr;
  ctx.exit_status = kExitOk;
  const char* env_run_dir = ctx.getenv ? ctx.getenv("PBXWALL_RUN_DIR") : std::getenv("PBXWALL_RUN_DIR");
  if (env_run_dir != nullptr && *env_run_dir != '\0') ctx.run_dir = env_run_dir;

  CLI::App app("pbxwall: the firewall for PBX servers (nftables table inet pbxwall)", "pbxwall");
  app.require_subcommand(1);
  // Global options are accepted after the command too (`pbxwall list --json`).
  app.fallthrough();
  app.add_option("--config", ctx.config_path, "Configuration file")->capture_default_str();
  app.add_option("--run-dir", ctx.run_dir, "State directory (also env PBXWALL_RUN_DIR)")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Print listings as JSON");
  bool no_session_guard = false;
  app.add_flag("--no-session-guard", no_session_guard,
               "Do not keep the SSH session this command runs in open");
  app.parse_complete_callback([&] { ctx.session_guard = !no_session_guard; });

  add_check_command(app, ctx);
  add_firewall_commands(app, ctx);
  add_network_commands(app, ctx);
  add_listing_commands(app, ctx);
  add_guard_command(app, ctx);
  add_daemon_commands(app, ctx);
#ifdef PBXWALL_HAVE_REPLAY
  add_replay_command(app, ctx);
#endif
#ifdef PBXWALL_HAVE_DISCOVER
  add_discover_command(app, ctx);
#endif
#ifdef PBXWALL_HAVE_PASSWD
  add_passwd_command(app, ctx);
#endif

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  if (!reversed.empty()) reversed.pop_back();  // program name
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, ctx.o(), ctx.e());
    // --help is a success; every other parse error is a usage error.
    return code == 0 ? kExitOk : kExitInvalid;
  }
  return ctx.exit_status;
}

}  // namespace pbxwall::cli
