// The configuration model: what the administrator wrote in pbxwall.toml, validated, as plain
// values. Loading reports every problem as a Diagnostic with file:line:column and the key.
//
// Pure: the only I/O is reading (load_file) or writing (write_atomically) the file whose path
// the caller passes.
#pragma once

#include <toml++/toml.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/diagnostic.h"
#include "base/result.h"

namespace pbxwall::model {

// ---- zones ---------------------------------------------------------------------------------

// Where a source stands. `trusted` reaches everything, `reject` nothing; `local`, `other` and
// `internet` reach the services opened to them.
enum class Zone : std::uint8_t { trusted, local, other, internet, reject };

inline constexpr std::array<Zone, 5> kAllZones = {Zone::trusted, Zone::local, Zone::other,
                                                   Zone::internet, Zone::reject};

std::string_view zone_name(Zone z);                      // "trusted", ...
std::string_view zone_description(Zone z);               // one line for `pbxwall zones`
std::optional<Zone> parse_zone(std::string_view name);   // exact, lower case

// Higher is more restrictive: reject > internet > other > local > trusted. Used to break ties
// between equally specific networks (see zone_of).
int restrictiveness(Zone z);

// ---- services ------------------------------------------------------------------------------

enum class Proto : std::uint8_t { tcp, udp };
std::string_view proto_name(Proto p);  // "tcp" / "udp"

// "tcp/22", "udp/10000-20000". Ports 1..65535, first <= last.
struct PortRange {
  Proto proto = Proto::tcp;
  std::uint16_t first = 0;
  std::uint16_t last = 0;

  static std::optional<PortRange> parse(std::string_view text, std::string* why = nullptr);
  std::string str() const;
  auto operator<=>(const PortRange&) const = default;
  bool operator==(const PortRange&) const = default;
};

struct Service {
  std::string name;
  std::string description;
  std::vector<PortRange> ports;  // sorted, as configured (overlaps allowed)
  std::set<Zone> zones;          // zones the service is opened to
  bool builtin = false;
  bool ports_configured = false;  // `ports` set in the file: discovered ports do not apply
};

// The built-in services with their FreePBX-like defaults, sorted by name.
const std::vector<Service>& builtin_services();

// ---- networks ------------------------------------------------------------------------------

// One `[networks]` entry: a CIDR / single address, or a DNS hostname resolved elsewhere.
struct NetworkEntry {
  std::string text;          // the key as written
  std::optional<Cidr> cidr;  // set for addresses and CIDRs
  std::string hostname;      // set (lower case) for hostnames
  Zone zone = Zone::internet;
  int line = 0;  // position of the key in the file (0 when unknown)
  int column = 0;
};

// Syntactic check of a DNS name: labels 1..63 of [A-Za-z0-9-] not starting/ending with '-',
// total <= 253, at least one dot or a single label that is not all digits.
bool is_valid_hostname(std::string_view name);

// Addresses found for the hostnames of [networks]; the resolver lives outside the core.
using ResolvedHosts = std::map<std::string, std::vector<IpAddress>, std::less<>>;

// ---- policy --------------------------------------------------------------------------------

struct ResponsiveSwitch {
  bool enabled = true;
  bool sip = true;  // protocols = ["sip", "iax"]
  bool iax = true;
};

struct Policy {
  bool enabled = true;   // [firewall] enabled
  bool reject = false;   // answer refused packets with reject instead of drop
  bool safe_mode = true;
  int safe_mode_seconds = 60;
  std::map<std::string, Zone, std::less<>> interfaces;  // ifname -> zone
  std::vector<NetworkEntry> networks;                   // in file order
  std::vector<Service> services;  // built-in (possibly overridden) + custom, sorted by name
  ResponsiveSwitch responsive;

  const Service* find_service(std::string_view name) const;
};

// A source's zone. The most specific matching network wins (longest prefix; a resolved
// hostname counts as a host address, /32 or /128); at equal specificity the more restrictive
// zone wins. With no matching network the interface's zone applies; an interface that is not
// listed is `internet`, never trusted. Hostname entries match only through `resolved`.
Zone zone_of(const Policy& policy, const IpAddress& src, std::string_view ifname,
             const ResolvedHosts& resolved = {});

// Every network of the policy as (CIDR, zone): CIDR entries plus host entries for the resolved
// addresses of hostname entries. Order: file order, hostname addresses in the order given.
std::vector<std::pair<Cidr, Zone>> zone_networks(const Policy& policy,
                                                 const ResolvedHosts& resolved = {});

// ---- the administrator's own session ---------------------------------------------------------

// A connection an administrator changes the firewall through: the SSH session a command runs
// in, or the web UI's client. A change whose policy would refuse a new connection of it cuts
// the administrator off, so every path that changes the firewall checks it first.
struct Session {
  IpAddress client;
  Proto proto = Proto::tcp;
  std::uint16_t port = 0;  // the server's port it reaches (22, 8485); 0: any admin service
  std::string ifname;      // interface it arrives on; "" when unknown
  std::string kind = "session";  // "SSH session", "web UI session"

  // "SSH session from 198.51.100.5 to tcp/22"
  std::string describe() const;
};

// Why `policy` would refuse a new connection of `session` (a sentence naming the zone and the
// service), or nullopt when it lets it in: loopback, a switched-off firewall, the trusted zone,
// or a service of the session's zone that opens its port. With port 0, ssh, http or https open
// to its zone is enough.
std::optional<std::string> session_refused(const Policy& policy, const Session& session,
                                           const ResolvedHosts& resolved = {});

// ---- loading -------------------------------------------------------------------------------

// Top-level sections the model accepts. The model validates firewall, interfaces, networks,
// services, custom_services and the `enabled`/`protocols` keys of responsive; the others (and
// the remaining keys of responsive) belong to the modules that read them from `table`.
inline constexpr std::array<std::string_view, 13> kKnownSections = {
    "firewall", "interfaces", "networks", "services", "custom_services", "responsive",
    "users",    "ami",        "web",      "vpn",      "pbx",        "crowdsec", "blocklists"};

struct LoadedConfig {
  Policy policy;
  Diagnostics warnings;                        // risky but valid settings
  std::shared_ptr<const toml::table> table;    // the parsed document, for other sections
  std::string source_name;                     // file name used in diagnostics
};

// Errors: every error found (not only the first), each with file:line:column and key.
Result<LoadedConfig, Diagnostics> load_file(const std::string& path);
Result<LoadedConfig, Diagnostics> load_string(std::string_view text, std::string source_name);

// What `pbxwall check` needs: the file read as far as it goes even when it has errors, so the
// sections other modules read can be checked too. `config.table` is null when the file is not
// TOML (or cannot be read); `config.policy` then holds defaults, else what the valid parts say.
struct LoadReport {
  LoadedConfig config;
  Diagnostics errors;  // in line order
};
LoadReport load_file_report(const std::string& path);
LoadReport load_string_report(std::string_view text, std::string source_name);

// A Diagnostic positioned at `node` (for modules validating their own sections).
Diagnostic diagnostic_at(const toml::node& node, const std::string& source_name,
                         std::string key, std::string message,
                         Severity severity = Severity::error);

// ---- editing (pbxwall trust / untrust) -----------------------------------------------------

// Returns `text` with the [networks] entry for `key` set to `zone`: an existing entry whose key
// denotes the same network (canonical CIDR, or the same hostname) has its value replaced;
// otherwise a line is appended to the [networks] section (created at the end if absent).
// Everything else in the text (comments, order, other sections) is kept. Errors when `key` is
// neither a CIDR/address nor a valid hostname, or [networks] is not a plain table section.
Result<std::string> set_network(std::string_view text, std::string_view key, Zone zone);

// Returns `text` without the [networks] entry denoting the same network as `key` (its line and
// an end-of-line comment go; comment lines above it stay). Error if there is no such entry.
Result<std::string> remove_network(std::string_view text, std::string_view key);

// Writes `text` to `path` safely: a temporary file in the same directory, fsync, the previous
// file (if any) kept as `path + ".bak"`, then rename over `path` and fsync of the directory.
// The caller validates `text` (load_string) before writing.
Status<std::string> write_atomically(const std::string& path, std::string_view text);

}  // namespace pbxwall::model
