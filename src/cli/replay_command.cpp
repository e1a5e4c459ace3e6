// `pbxwall replay CAPTURE`: the responsive engine over a pcap/pcapng file, printing the
// decisions it would take and, per source, what it got done before being blocked.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <ostream>
#include <set>

#include "capture/replay.h"
#include "capture/replay_format.h"
#include "cli/commands.h"
#include "cli/firewall.h"
#include "daemon/daemon_config.h"
#include "model/model.h"
#include "pbx/pbx.h"

namespace pbxwall::cli {
namespace {

struct ReplayArgs {
  std::string capture;
  std::vector<std::string> pbx;
  std::vector<std::uint16_t> sip_ports;
  std::vector<std::uint16_t> iax_ports;
  std::string asterisk_root;  // --asterisk-root: accounts discovered there
};

// The account names an Asterisk configuration defines, as pbxwalld discovers them; problems
// in it are printed as warnings (pbxwalld logs them and goes on).
void add_discovered_accounts(Context& ctx, const std::string& root, std::set<std::string, std::less<>>& accounts) {
  pbx::DiskFileSystem fs;
  const auto found = pbx::discover(fs, root);
  for (const auto& d : found.diagnostics) ctx.e() << "pbxwall replay: " << d.str() << "\n";
  for (auto& name : pbx::account_names(found)) accounts.insert(std::move(name));
}

// Reads [responsive], the signalling ports, the trusted networks (never blocked) and where each
// extension may register from ([users] allow_from) from the configuration. A missing file at
// the default path means built-in settings; a file named with --config must exist.
bool load_settings(Context& ctx, bool config_given, capture::ReplayOptions& options,
                   std::set<std::string, std::less<>>& accounts) {
  if (!config_given && !std::filesystem::exists(ctx.config_path)) return true;
  auto loaded = model::load_file(ctx.config_path);
  if (!loaded.ok()) {
    for (const auto& d : loaded.error()) ctx.e() << d.str() << "\n";
    return false;
  }
  auto settings = daemon::engine_settings_from(*loaded);
  if (!settings.ok()) {
    print_diagnostics(ctx, settings.error());
    return false;
  }
  options.settings = std::move(*settings);
  // Signalling ports as the configuration's sip and iax services open them (unless given).
  const auto ports_of = [&](std::string_view service) {
    std::vector<std::uint16_t> ports;
    if (const auto* svc = loaded->policy.find_service(service))
      for (const auto& range : svc->ports)
        for (std::uint32_t p = range.first; p <= range.last && ports.size() < 64; ++p)
          if (std::find(ports.begin(), ports.end(), p) == ports.end())
            ports.push_back(static_cast<std::uint16_t>(p));
    return ports;
  };
  if (auto sip = ports_of("sip"); !sip.empty()) options.sip_ports = std::move(sip);
  if (auto iax = ports_of("iax"); !iax.empty()) options.iax_ports = std::move(iax);
  auto policy = std::make_shared<const model::Policy>(loaded->policy);
  options.never_block = [policy](const IpAddress& a) {
    return model::zone_of(*policy, a, "") == model::Zone::trusted;
  };
  // Where each extension may register from, as pbxwalld enforces it.
  if (loaded->table) {
    auto integration = daemon::integration_from_toml(*loaded->table, loaded->source_name, loaded->policy);
    if (!integration.ok()) {
      print_diagnostics(ctx, integration.error());
      return false;
    }
    auto users = std::make_shared<const daemon::UserServices>(std::move(integration->users));
    options.allow_from = [users](std::string_view user) { return users->allow_from(user); };
    // The PBX's accounts, as pbxwalld knows them: [pbx] accounts, and those discovered under
    // [pbx] asterisk_root when the configuration names it and does not turn [pbx] off.
    accounts.insert(integration->pbx.accounts.begin(), integration->pbx.accounts.end());
    if ((*loaded->table)["pbx"]["asterisk_root"] && integration->pbx.enabled.value_or(true) &&
        std::filesystem::is_directory(integration->pbx.asterisk_root))
      add_discovered_accounts(ctx, integration->pbx.asterisk_root, accounts);
  }
  return true;
}

void run_replay(Context& ctx, const ReplayArgs& args, bool config_given) {
  capture::ReplayOptions options;
  for (const auto& text : args.pbx) {
    auto a = IpAddress::parse(text);
    if (!a) {
      ctx.e() << "pbxwall replay: --pbx " << text << ": not an IPv4 or IPv6 address\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    options.pbx.push_back(*a);
  }
  std::set<std::string, std::less<>> accounts;
  if (!load_settings(ctx, config_given, options, accounts)) {
    ctx.exit_status = kExitInvalid;
    return;
  }
  if (!args.asterisk_root.empty()) add_discovered_accounts(ctx, args.asterisk_root, accounts);
  if (!accounts.empty()) {
    auto known = std::make_shared<const std::set<std::string, std::less<>>>(std::move(accounts));
    options.known_user = [known](std::string_view user) -> std::optional<bool> { return known->count(user) > 0; };
  }
  if (!args.sip_ports.empty()) options.sip_ports = args.sip_ports;
  if (!args.iax_ports.empty()) options.iax_ports = args.iax_ports;

  const bool json = ctx.json;
  auto print = [&](const responsive::Decision& d, TimePoint t) {
    ctx.o() << (json ? capture::decision_json(d, t) : capture::decision_text(d, t)) << "\n";
  };
  auto report = capture::replay_file(args.capture, options, print);
  if (!report.ok()) {
    ctx.e() << "pbxwall replay: " << report.error() << "\n";
    ctx.exit_status = kExitFailure;
    return;
  }
  if (json) {
    ctx.o() << capture::summary_json(*report) << "\n";
  } else {
    ctx.o() << capture::summary_text(*report);
  }
  if (!report->read_error.empty()) ctx.e() << "pbxwall replay: warning: " << report->read_error << "\n";
  ctx.o().flush();
}

}  // namespace

void add_replay_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ReplayArgs>();
  auto* cmd = app.add_subcommand(
      "replay",
      "Run the responsive engine over a capture (pcap or pcapng) with its timestamps and print the "
      "decisions it would take, then a summary per source (--json: one JSON object per line)");
  cmd->add_option("capture", args->capture, "Capture file: Ethernet, Linux cooked, raw IP or NFLOG")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--pbx", args->pbx,
                  "Address of the PBX (repeatable); default: the addresses that receive the "
                  "capture's SIP/IAX2 requests");
  cmd->add_option("--sip-port", args->sip_ports,
                  "SIP port (repeatable; default: the sip service's ports in the configuration, else 5060 and 5061)");
  cmd->add_option("--iax-port", args->iax_ports,
                  "IAX2 port (repeatable; default: the iax service's ports in the configuration, else 4569)");
  cmd->add_option("--asterisk-root", args->asterisk_root,
                  "Asterisk configuration directory whose extensions and peers the engine knows, as pbxwalld "
                  "discovers them (added to [pbx] accounts and [pbx] asterisk_root of the configuration)")
      ->check(CLI::ExistingDirectory);
  cmd->callback([&ctx, &app, args] {
    run_replay(ctx, *args, app.get_option("--config")->count() > 0);
  });
}

}  // namespace pbxwall::cli
