// `pbxwall zones [ZONE]` and `pbxwall services [SERVICE]`: what each zone may reach, and on
// which ports.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <ostream>

#include "cli/commands.h"
#include "cli/firewall.h"
#include "model/model.h"
#include "ruleset/ruleset.h"

namespace pbxwall::cli {
namespace {

std::string joined_ports(const model::Service& s) {
  std::string out;
  for (const auto& p : s.ports) out += (out.empty() ? "" : " ") + p.str();
  return out;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

void run_zones(Context& ctx, const std::string& only) {
  std::optional<model::Zone> only_zone;
  if (!only.empty() && !(only_zone = model::parse_zone(only))) {
    ctx.e() << "pbxwall: zones: unknown zone \"" << only << "\" (zones: trusted, local, other, internet, reject)\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  auto config = load_config(ctx);
  if (!config) return;
  const auto& policy = config->policy;
  nlohmann::json j = nlohmann::json::array();
  for (model::Zone z : model::kAllZones) {
    if (only_zone && z != *only_zone) continue;
    std::vector<std::string> services, interfaces;
    for (const auto& s : policy.services)
      if (s.zones.count(z) != 0) services.push_back(s.name);
    for (const auto& [ifname, zone] : policy.interfaces)
      if (zone == z) interfaces.push_back(ifname);
    const auto networks = std::count_if(policy.networks.begin(), policy.networks.end(),
                                        [z](const model::NetworkEntry& e) { return e.zone == z; });
    if (ctx.json) {
      j.push_back({{"zone", model::zone_name(z)},
                   {"description", model::zone_description(z)},
                   {"networks", networks},
                   {"interfaces", interfaces},
                   {"services", services}});
      continue;
    }
    ctx.o() << model::zone_name(z) << ": " << model::zone_description(z) << "\n";
    ctx.o() << "  networks: " << networks;
    if (!interfaces.empty()) {
      ctx.o() << "; interfaces:";
      for (const auto& i : interfaces) ctx.o() << " " << i;
    }
    ctx.o() << "\n  services: ";
    if (z == model::Zone::trusted) ctx.o() << "all";
    else if (services.empty()) ctx.o() << "none";
    for (std::size_t i = 0; i < services.size() && z != model::Zone::trusted; ++i)
      ctx.o() << (i ? ", " : "") << services[i];
    if (z == model::Zone::internet && policy.responsive.enabled)
      ctx.o() << (services.empty() ? "" : "; ") << "sip/iax through the responsive path";
    ctx.o() << "\n";
  }
  if (ctx.json) ctx.o() << j.dump(2) << "\n";
}

// Where a service's ports come from: the configuration, the PBX's files (each port's
// file:line), or the built-in default.
std::string ports_origin(const model::Service& enforced, const model::Service& configured, const PbxInput& pbx) {
  if (!enforced.builtin) return "[[custom_services]]";
  if (enforced.ports_configured) return "[services." + enforced.name + "] ports";
  const bool from_pbx_kind = enforced.name == "sip" || enforced.name == "iax" || enforced.name == "rtp" || enforced.name == "webrtc";
  const bool all_found = std::all_of(enforced.ports.begin(), enforced.ports.end(),
                                     [&pbx](const model::PortRange& p) { return pbx.port_origins.count(p.str()) != 0; });
  if (enforced.ports == configured.ports && !(from_pbx_kind && all_found)) return "built-in default";
  std::string out = "PBX:";
  for (const auto& p : enforced.ports) {
    const auto it = pbx.port_origins.find(p.str());
    out += " " + (it == pbx.port_origins.end() ? p.str() : it->second);
  }
  return out;
}

void run_services(Context& ctx, const std::string& only) {
  auto config = load_config(ctx);
  if (!config) return;
  // The ports enforced: pbxwalld replaces the built-in defaults by what the PBX listens on.
  const PbxInput pbx = pbx_input(*config);
  const auto services = ruleset::effective_services(config->policy, pbx.ports);
  const auto& configured = config->policy.services;
  if (!only.empty() && std::none_of(services.begin(), services.end(), [&](const model::Service& s) { return s.name == only; })) {
    std::string names;
    for (const auto& s : services) names += (names.empty() ? "" : ", ") + s.name;
    ctx.e() << "pbxwall: services: no service \"" << only << "\" in " << ctx.config_path << " (services: " << names
            << ")\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  auto shown = [&only](const model::Service& s) { return only.empty() || s.name == only; };
  if (ctx.json) {
    nlohmann::json j = nlohmann::json::array();
    for (std::size_t i = 0; i < services.size(); ++i) {
      const auto& s = services[i];
      if (!shown(s)) continue;
      std::vector<std::string> ports, zones;
      for (const auto& p : s.ports) ports.push_back(p.str());
      for (auto z : s.zones) zones.emplace_back(model::zone_name(z));
      j.push_back({{"name", s.name}, {"description", s.description}, {"ports", ports},
                   {"zones", zones}, {"builtin", s.builtin}, {"ports_from", ports_origin(s, configured[i], pbx)}});
    }
    ctx.o() << j.dump(2) << "\n";
    return;
  }
  // The ports column as wide as its longest entry (a PBX's discovered ports can be many).
  std::size_t ports_width = 34;
  for (const auto& s : services)
    if (shown(s)) ports_width = std::max(ports_width, joined_ports(s).size() + 2);
  ctx.o() << pad("SERVICE", 14) << pad("PORTS", ports_width) << pad("ZONES", 22) << "PORTS FROM\n";
  for (std::size_t i = 0; i < services.size(); ++i) {
    const auto& s = services[i];
    if (!shown(s)) continue;
    std::string zones;
    for (auto z : s.zones) zones += (zones.empty() ? "" : ",") + std::string(model::zone_name(z));
    ctx.o() << pad(s.name + (s.builtin ? "" : "*"), 14) << pad(joined_ports(s), ports_width)
            << pad(zones.empty() ? "-" : zones, 22) << ports_origin(s, configured[i], pbx) << "\n";
  }
  ctx.o() << "(* custom service; trusted reaches every service, reject none)\n";
}

}  // namespace

void add_listing_commands(CLI::App& app, Context& ctx) {
  auto zone = std::make_shared<std::string>();
  auto* zones = app.add_subcommand("zones", "The zones, what each may reach, and their networks");
  zones->add_option("zone", *zone, "Only this zone (trusted, local, other, internet, reject)");
  zones->callback([&ctx, zone] { run_zones(ctx, *zone); });
  auto service = std::make_shared<std::string>();
  auto* services = app.add_subcommand("services", "Services, their ports and the zones they are open to");
  services->add_option("service", *service, "Only this service (a built-in or a [[custom_services]] name)");
  services->callback([&ctx, service] { run_services(ctx, *service); });
}

}  // namespace pbxwall::cli
