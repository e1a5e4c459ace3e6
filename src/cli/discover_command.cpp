// `pbxwall discover`: what the PBX's own configuration says about its ports and trunks, each
// item with the file and line it came from. The Asterisk directory is --asterisk-root, else the
// configuration's [pbx] asterisk_root (as pbxwalld reads it), else /etc/asterisk.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <memory>
#include <system_error>

#include "base/plural.h"
#include "cli/commands.h"
#include "cli/firewall.h"
#include "cli/control_client.h"
#include "daemon/pbx_settings.h"
#include "daemon/trunk_status.h"
#include "daemon/pbx_view.h"
#include "dns/cares_resolver.h"
#include "dns/trunk_resolver.h"
#include "pbx/pbx.h"

namespace pbxwall::cli {
namespace {

// Where discover looks, and why there ("--asterisk-root", "[pbx] asterisk_root in F", "the
// default"); nullopt (the configuration's errors printed, exit 2) when the file cannot be read.
struct Where {
  std::string root;
  std::string why;
  std::string dns_servers;  // [pbx] dns_servers: where trunk names are looked up
};

std::optional<Where> asterisk_root(Context& ctx, const std::string& option_root, bool option_given,
                                   bool config_given) {
  if (option_given) return Where{option_root, "--asterisk-root", ""};
  const Where fallback{pbx::kDefaultAsteriskRoot, "the default", ""};
  std::error_code ec;
  if (!config_given && !std::filesystem::exists(ctx.config_path, ec)) return fallback;
  auto loaded = model::load_file(ctx.config_path);
  if (!loaded.ok()) {
    print_diagnostics(ctx, loaded.error());
    ctx.e() << "pbxwall discover: " << ctx.config_path << " is invalid; `pbxwall check` shows why\n";
    ctx.exit_status = kExitInvalid;
    return std::nullopt;
  }
  if (!loaded->table) return fallback;
  auto integration = daemon::integration_from_toml(*loaded->table, loaded->source_name, loaded->policy);
  if (!integration.ok()) {
    print_diagnostics(ctx, integration.error());
    ctx.exit_status = kExitInvalid;
    return std::nullopt;
  }
  if (!(*loaded->table)["pbx"]["asterisk_root"]) return Where{fallback.root, fallback.why, integration->pbx.dns_servers};
  return Where{integration->pbx.asterisk_root, "[pbx] asterisk_root in " + ctx.config_path, integration->pbx.dns_servers};
}

// Asks for `names` (A, AAAA, SRV and the SRV targets) once, as pbxwalld's resolver would.
Status<> look_up_now(dns::TrunkResolver& trunks, const std::vector<std::string>& names, const std::string& dns_servers) {
  if (names.empty()) return {};
  auto resolver = dns::CaresResolver::open({.servers = dns_servers, .timeout = std::chrono::seconds(1), .tries = 1});
  if (!resolver.ok()) return fail("cannot look names up: " + resolver.error());
  const TimePoint now = SystemClock().now();
  trunks.set_names(names, now);
  for (int round = 0; round < 4; ++round) {  // SRV answers add their targets' questions
    const auto due = trunks.due(now);
    if (due.empty()) break;
    for (const auto& q : due) trunks.on_answer(q, (*resolver)->lookup(q), now);
  }
  return {};
}

// Each trunk host's state now (see daemon/trunk_status.h): pbxwalld's own when it runs and
// knows every host (what it enforces), else looked up here through the same resolver.
nlohmann::json trunk_states(Context& ctx, const pbx::Discovery& found, const std::string& dns_servers, std::string& whose) {
  const auto hosts = daemon::trunk_hosts_of(found);
  if (hosts.empty()) return nlohmann::json::array();
  auto answer = call_daemon(control_socket_path(ctx.run_dir), {{"cmd", "status"}}, ctx.control_timeout);
  if (answer && answer->value("ok", false) && answer->contains("trunks") && (*answer)["trunks"].is_array()) {
    const auto& held = (*answer)["trunks"];
    const bool knows_all = std::all_of(hosts.begin(), hosts.end(), [&](const daemon::TrunkHostView& h) {
      return std::any_of(held.begin(), held.end(), [&](const nlohmann::json& t) { return t.value("host", "") == h.host; });
    });
    if (knows_all) {
      whose = "as pbxwalld resolves them";
      return held;
    }
  }
  whose = "looked up now by this command";
  std::vector<std::string> names;
  for (const auto& h : hosts)
    if (h.kind == pbx::HostKind::name) names.push_back(h.host);
  dns::TrunkResolver trunks;
  if (auto looked = look_up_now(trunks, names, dns_servers); !looked.ok())
    return daemon::trunk_status_json(hosts, {}, looked.error());
  return daemon::trunk_status_json(hosts, trunks.states());
}

bool found_nothing(const pbx::Discovery& d) {
  return d.signalling.empty() && d.web.empty() && d.ami.empty() && d.trunks.empty();
}

}  // namespace

PbxInput pbx_input(const model::LoadedConfig& config) {
  PbxInput in;
  if (!config.table) return in;
  auto integration = daemon::integration_from_toml(*config.table, config.source_name, config.policy);
  if (!integration.ok()) return in;  // `check` reports these errors
  const auto& pbx = integration->pbx;
  if (!daemon::reads_pbx(pbx)) return in;
  pbx::DiskFileSystem fs;
  const auto found = pbx::discover(fs, pbx.asterisk_root);
  const auto view = daemon::view_of(found);
  in.ports = view.ports;
  in.port_origins = view.ports.origins;
  in.trunk_networks = view.trunk_networks;
  in.trunk_names = view.trunk_names;
  in.dns_servers = pbx.dns_servers;
  return in;
}

std::vector<Cidr> trunks_now(Context& ctx, const PbxInput& pbx) {
  std::vector<Cidr> all = pbx.trunk_networks;
  dns::TrunkResolver trunks;
  if (auto looked = look_up_now(trunks, pbx.trunk_names, pbx.dns_servers); !looked.ok())
    ctx.e() << "pbxwall: the PBX's trunk names are left out: " << looked.error() << "\n";
  for (const auto& a : trunks.addresses()) all.emplace_back(a, a.is_v4() ? 32 : 128);
  return all;
}

void add_discover_command(CLI::App& app, Context& ctx) {
  auto root = std::make_shared<std::string>(pbx::kDefaultAsteriskRoot);
  auto* cmd = app.add_subcommand(
      "discover",
      "Read the Asterisk/FreePBX configuration and print the signalling, RTP, web and AMI ports and the "
      "trunk hosts it names, each with its file:line (--json for programs). Exit status 1 if nothing is "
      "found, 2 if the configuration has errors");
  auto* root_option =
      cmd->add_option("--asterisk-root", *root,
                      "Asterisk configuration directory (default: [pbx] asterisk_root of the configuration)")
          ->capture_default_str();
  const CLI::Option* config_option = app.get_option("--config");
  cmd->callback([&ctx, root, root_option, config_option] {
    const auto where = asterisk_root(ctx, *root, root_option->count() > 0, config_option->count() > 0);
    if (!where) return;
    std::error_code ec;
    if (!std::filesystem::is_directory(where->root, ec)) {
      ctx.e() << "pbxwall discover: " << where->root << " (" << where->why << "): not a directory\n";
      ctx.exit_status = kExitFailure;
      return;
    }
    pbx::DiskFileSystem fs;
    const auto found = pbx::discover(fs, where->root);
    std::string whose;
    const auto trunks = trunk_states(ctx, found, where->dns_servers, whose);
    if (ctx.json) {
      auto j = nlohmann::json::parse(pbx::discovery_to_json(found));
      j["trunk_status"] = trunks;
      ctx.o() << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      ctx.o() << pbx::discovery_to_text(found);
      if (!trunks.empty()) {
        ctx.o() << "\nTrunk hosts now (" << whose << ")\n";
        for (const auto& t : trunks) ctx.o() << "  " << daemon::trunk_status_line(t) << "\n";
      }
    }
    ctx.o().flush();
    if (has_errors(found.diagnostics)) {
      ctx.exit_status = kExitInvalid;
    } else if (found_nothing(found)) {
      ctx.e() << "pbxwall discover: found no port and no trunk in the Asterisk configuration under " << where->root
              << " (" << where->why << "); "
              << (found.files_read.empty() ? "no configuration file there"
                                           : "read " + counted(static_cast<std::int64_t>(found.files_read.size()), "file"))
              << "; set [pbx] asterisk_root or --asterisk-root to the directory holding pjsip.conf or sip.conf\n";
      ctx.exit_status = kExitFailure;
    } else {
      ctx.exit_status = kExitOk;
    }
  });
}

}  // namespace pbxwall::cli
