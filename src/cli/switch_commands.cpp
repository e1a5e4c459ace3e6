// `pbxwall on | off`: set [firewall] enabled in the configuration and apply it, like the web
// UI's switch. Off keeps the table (everything accepted, blocks and validations kept); `stop`
// removes it.
#include <CLI/CLI.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/firewall.h"
#include "cli/run_dir.h"
#include "daemon/config_edit.h"
#include "model/model.h"

namespace pbxwall::cli {
namespace {

void run_switch(Context& ctx, bool on) {
  auto config = load_config(ctx);
  if (!config) return;
  const char* word = on ? "on" : "off";
  if (config->policy.enabled == on) {
    ctx.o() << "the firewall is already " << word << " in " << ctx.config_path << " ([firewall] enabled = "
            << (on ? "true" : "false") << "); nothing to do\n";
    return;
  }
  auto text = read_text_file(ctx.config_path);
  if (!text) {
    ctx.fail("cannot read ", ctx.config_path);
    return;
  }
  auto edited = daemon::set_toml_value(*text, {"firewall"}, "enabled", on ? "true" : "false");
  if (!edited) {
    ctx.e() << "pbxwall: " << ctx.config_path << ": [firewall] enabled: " << edited.error() << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  commit_edit(ctx, *edited, std::string("firewall switched ") + word + " ([firewall] enabled = " +
                                (on ? "true" : "false") + ")",
              word);
}

}  // namespace

void add_switch_commands(CLI::App& app, Context& ctx) {
  app.add_subcommand("on", "Switch the firewall on: [firewall] enabled = true, applied")
      ->callback([&ctx] { run_switch(ctx, true); });
  app.add_subcommand("off",
                     "Switch the firewall off: [firewall] enabled = false, applied (everything accepted; "
                     "blocks and validations kept)")
      ->callback([&ctx] { run_switch(ctx, false); });
}

}  // namespace pbxwall::cli
