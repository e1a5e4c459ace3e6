// `pbxwall discover`: what the PBX's own configuration says about its ports and trunks, each
// item with the file and line it came from.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <system_error>

#include "cli/commands.h"
#include "pbx/pbx.h"

namespace pbxwall::cli {

void add_discover_command(CLI::App& app, Context& ctx) {
  auto root = std::make_shared<std::string>(pbx::kDefaultAsteriskRoot);
  auto* cmd = app.add_subcommand(
      "discover",
      "Read the Asterisk/FreePBX configuration and print the signalling, RTP, web and AMI ports and the "
      "trunk hosts it names, each with its file:line (--json for programs). Exit status 2 if the "
      "configuration has errors");
  cmd->add_option("--asterisk-root", *root, "Asterisk configuration directory")->capture_default_str();
  cmd->callback([&ctx, root] {
    std::error_code ec;
    if (!std::filesystem::is_directory(*root, ec)) {
      ctx.e() << "pbxwall discover: " << *root << ": not a directory\n";
      ctx.exit_status = kExitFailure;
      return;
    }
    pbx::DiskFileSystem fs;
    const auto found = pbx::discover(fs, *root);
    ctx.o() << (ctx.json ? pbx::discovery_to_json(found) : pbx::discovery_to_text(found));
    ctx.o().flush();
    ctx.exit_status = has_errors(found.diagnostics) ? kExitInvalid : kExitOk;
  });
}

}  // namespace pbxwall::cli
