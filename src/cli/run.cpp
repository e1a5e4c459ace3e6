// The `pbxwall` application: global options, the command families, and the mapping of
// CLI11's parse errors to exit statuses.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <vector>

#include "base/suggest.h"
#include "base/version.h"
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

namespace {

// The command word of `args` (args[0] is the program name): the first word that is neither an
// option nor the value of a global option that takes one. Empty when there is none.
std::string command_word(const std::vector<std::string>& args) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--config" || a == "--run-dir" || a == "--state") {
      ++i;
      continue;
    }
    if (!a.empty() && a[0] == '-') continue;
    return a;
  }
  return "";
}

// "unknown command 'restrat'; did you mean 'restart'?" when `word` names no command of `app`.
bool report_unknown_command(const CLI::App& app, const std::string& word, Context& ctx) {
  if (word.empty()) return false;
  std::string best;
  std::size_t best_distance = 0;
  std::string known;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    const std::string& name = sub->get_name();
    if (name == word) return false;
    if (name.starts_with("__")) continue;  // internal commands are neither listed nor suggested
    known += (known.empty() ? "" : ", ") + name;
    const std::size_t d = edit_distance(word, name);
    if (best.empty() || d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  ctx.e() << "pbxwall: unknown command '" << word << "'";
  // A near miss: at most two edits, and fewer than the word has letters.
  if (!best.empty() && best_distance <= 2 && best_distance < word.size())
    ctx.e() << "; did you mean '" << best << "'?\n";
  else
    ctx.e() << " (commands: " << known << ")\n";
  return true;
}

}  // namespace

int run_cli(const std::vector<std::string>& args, Context& ctx) {
  if (ctx.out == nullptr) ctx.out = &std::cout;
  if (ctx.err == nullptr) ctx.err = &std::cerr;
  ctx.exit_status = kExitOk;
  const char* env_run_dir = ctx.getenv ? ctx.getenv("PBXWALL_RUN_DIR") : std::getenv("PBXWALL_RUN_DIR");
  if (env_run_dir != nullptr && *env_run_dir != '\0') ctx.run_dir = env_run_dir;

  CLI::App app("pbxwall: the firewall for PBX servers (nftables table inet pbxwall)", "pbxwall");
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("pbxwall ") + kVersion, "Print the version and exit");
  // Global options are accepted after the command too (`pbxwall list --json`).
  app.fallthrough();
  app.add_option("--config", ctx.config_path, "Configuration file")->capture_default_str();
  app.add_option("--run-dir", ctx.run_dir, "State directory (also env PBXWALL_RUN_DIR)")
      ->capture_default_str();
  app.add_option("--state", ctx.state_path, "pbxwalld's state database, read by `list` while it is down")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Print listings as JSON");
  bool no_session_guard = false;
  app.add_flag("--no-session-guard", no_session_guard,
               "Do not look for the SSH session this command runs in (nothing checks it is kept)");
  app.add_flag("--force", ctx.force,
               "Apply a change even though it cuts the SSH session it comes from (safe mode still rolls it back unless confirmed)");
  app.parse_complete_callback([&] { ctx.session_guard = !no_session_guard; });

  add_check_command(app, ctx);
  add_firewall_commands(app, ctx);
  add_network_commands(app, ctx);
  add_switch_commands(app, ctx);
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
#ifdef PBXWALL_HAVE_DOCTOR
  add_doctor_command(app, ctx);
#endif

  if (report_unknown_command(app, command_word(args), ctx)) return kExitInvalid;

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
