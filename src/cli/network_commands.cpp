// `pbxwall trust | untrust | list`: edit and show the [networks] section.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <cctype>
#include <ostream>

#include "cli/commands.h"
#include "cli/daemon_link.h"
#include "cli/firewall.h"
#include "cli/run_dir.h"
#include "model/model.h"

namespace pbxwall::cli {

// Validates the edited text as pbxwalld would, refuses it when it cuts this SSH session,
// writes it (keeping .bak), and re-applies if running. With pbxwalld running, the daemon does
// all of it through its one change path (and keeps safe mode's pending change).
void commit_edit(Context& ctx, const std::string& edited, const std::string& what, const std::string& command) {
  auto config = validate_text(ctx, edited);
  if (!config) return;
  if (!validate_daemon_sections(ctx, *config)) {
    ctx.e() << "pbxwall: the change would make the configuration invalid; " << ctx.config_path << " is unchanged\n";
    return;
  }
  if (daemon_running(ctx)) {
    if (auto answer = daemon_change(ctx, {{"cmd", "apply"}, {"text", edited}, {"what", what}, {"who", "pbxwall " + command}})) {
      ctx.o() << what << " (" << ctx.config_path << " written by pbxwalld, which applied it)\n";
      print_safe_mode(ctx, *answer);
    }
    return;
  }
  auto running = firewall_running(ctx);
  if (!running) return;
  if (*running && !keeps_session(ctx, config->policy, resolve_hostnames(ctx, config->policy), admin_session(ctx))) {
    ctx.e() << "pbxwall: " << ctx.config_path << " is unchanged\n";
    return;
  }
  if (auto written = model::write_atomically(ctx.config_path, edited); !written) {
    ctx.fail("cannot write ", ctx.config_path, ": ", written.error());
    return;
  }
  ctx.o() << what << " (" << ctx.config_path << " written, previous version in "
          << ctx.config_path << ".bak)\n";
  if (*running) apply_configuration(ctx, *config, ApplyKind::reload);
  else ctx.o() << "the firewall is not running; `pbxwall start` applies the configuration\n";
}

namespace {

std::optional<std::string> read_config_text(Context& ctx) {
  auto text = read_text_file(ctx.config_path);
  if (!text) {
    ctx.fail("cannot read ", ctx.config_path);
  }
  return text;
}

// The [networks] entry denoting the same network as `target` (canonical CIDR, or the same
// hostname whatever its case and final dot); null when there is none.
const model::NetworkEntry* entry_for(const model::Policy& policy, const std::string& target) {
  const auto cidr = Cidr::parse(target);
  std::string host;
  if (!cidr) {
    for (char c : target) host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!host.empty() && host.back() == '.') host.pop_back();
  }
  for (const auto& n : policy.networks) {
    if (cidr ? (n.cidr && *n.cidr == *cidr) : (!n.cidr && !host.empty() && n.hostname == host)) return &n;
  }
  return nullptr;
}

void run_trust(Context& ctx, const std::string& target, const std::string& zone_text) {
  auto zone = model::parse_zone(zone_text);
  if (!zone) {
    ctx.e() << "pbxwall: --zone: unknown zone \"" << zone_text
            << "\" (zones: trusted, local, other, internet, reject)\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  auto text = read_config_text(ctx);
  if (!text) return;
  // The same entry again: the file (and its .bak) stay as they are.
  if (auto current = model::load_string(*text, ctx.config_path); current.ok()) {
    const auto* entry = entry_for(current->policy, target);
    if (entry != nullptr && entry->zone == *zone) {
      ctx.o() << target << " is already in zone " << model::zone_name(*zone) << "; nothing to do\n";
      return;
    }
  }
  auto edited = model::set_network(*text, target, *zone);
  if (!edited) {
    ctx.e() << "pbxwall: " << target << ": " << edited.error() << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  commit_edit(ctx, *edited, target + " is now in zone " + std::string(model::zone_name(*zone)), "trust");
}

void run_untrust(Context& ctx, const std::string& target) {
  auto text = read_config_text(ctx);
  if (!text) return;
  auto edited = model::remove_network(*text, target);
  if (!edited) {
    ctx.e() << "pbxwall: " << target << ": " << edited.error() << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  commit_edit(ctx, *edited, target + " removed from [networks]", "untrust");
}

void run_list(Context& ctx, const std::string& zone_text, const BlockedFilter& filter) {
  // Zone names and the daemon's listings do not overlap.
  if (is_daemon_listing(zone_text)) {
    run_daemon_list(ctx, zone_text, filter);
    return;
  }
  if (filter.any()) {
    ctx.e() << "pbxwall: --limit, --after, --addr, --rule and --origin are for `list blocked`\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  std::optional<model::Zone> only;
  if (!zone_text.empty()) {
    only = model::parse_zone(zone_text);
    if (!only) {
      ctx.e() << "pbxwall: unknown zone \"" << zone_text
              << "\" (zones: trusted, local, other, internet, reject; or blocked, validated, flagged)\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
  }
  auto config = load_config(ctx);
  if (!config) return;
  std::vector<const model::NetworkEntry*> rows;
  for (const auto& n : config->policy.networks)
    if (!only || n.zone == *only) rows.push_back(&n);

  if (ctx.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto* n : rows)
      j.push_back({{"network", n->text}, {"zone", model::zone_name(n->zone)}, {"line", n->line},
                   {"hostname", !n->hostname.empty()}});
    ctx.o() << j.dump(2) << "\n";
    return;
  }
  if (rows.empty()) {
    ctx.o() << "no networks" << (only ? " in zone " + std::string(model::zone_name(*only)) : "") << "\n";
    return;
  }
  std::size_t width = 7;
  for (const auto* n : rows) width = std::max(width, n->text.size());
  ctx.o() << "NETWORK" << std::string(width - 7 + 2, ' ') << "ZONE\n";
  for (const auto* n : rows)
    ctx.o() << n->text << std::string(width - n->text.size() + 2, ' ') << model::zone_name(n->zone) << "\n";
}

}  // namespace

void add_network_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string target;
    std::string zone = "trusted";
    std::string untrust_target;
    std::string list_zone;
    BlockedFilter blocked;
    std::int64_t limit = 0;
  };
  auto args = std::make_shared<Args>();

  auto* trust = app.add_subcommand("trust", "Put an address, network or hostname in a zone");
  trust->add_option("target", args->target, "ADDR, CIDR or HOST")->required();
  trust->add_option("--zone", args->zone, "Zone (trusted, local, other, internet, reject)")
      ->capture_default_str();
  trust->callback([&ctx, args] { run_trust(ctx, args->target, args->zone); });

  auto* untrust = app.add_subcommand("untrust", "Remove an address, network or hostname from [networks]");
  untrust->add_option("target", args->untrust_target, "ADDR, CIDR or HOST as listed")->required();
  untrust->callback([&ctx, args] { run_untrust(ctx, args->untrust_target); });

  auto* list = app.add_subcommand(
      "list", "List the configured networks (of one zone), or pbxwalld's blocked, validated or flagged hosts");
  list->add_option("zone", args->list_zone, "Only this zone; or blocked, validated, flagged");
  list->add_option("--limit", args->limit, "list blocked: at most this many (pages of 1000 from pbxwalld)");
  list->add_option("--after", args->blocked.after, "list blocked: the addresses after this one (where a --limit stopped)");
  list->add_option("--addr", args->blocked.addr, "list blocked: only this address, or the blocks inside this network");
  list->add_option("--rule", args->blocked.rule, "list blocked: only blocks by this rule (fingerprint, manual, ...)");
  list->add_option("--origin", args->blocked.origin, "list blocked: only blocks from local (manual, kernel, engine), crowdsec[:<origin>/<scenario>] or blocklist[:<name>]");
  list->callback([&ctx, args, list] {
    BlockedFilter filter = args->blocked;
    if (list->count("--limit") > 0) filter.limit = args->limit;
    run_list(ctx, args->list_zone, filter);
  });
}

}  // namespace pbxwall::cli
