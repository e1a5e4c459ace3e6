// What start, reload and the editing commands share: load and validate the configuration,
// resolve hostnames, keep the admin's SSH session open, render, and apply in safe mode.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/address.h"
#include "kernel/kernel.h"
#include "cli/commands.h"
#include "cli/run_dir.h"
#include "model/model.h"
#include "ruleset/ruleset.h"

namespace pbxwall::cli {

// Loads ctx.config_path and prints its warnings (and errors) to ctx.e(). On errors sets
// ctx.exit_status = kExitInvalid and returns nullopt.
// Each diagnostic on its own line of ctx.e().
void print_diagnostics(Context& ctx, const Diagnostics& ds);

std::optional<model::LoadedConfig> load_config(Context& ctx);

// The same for configuration text about to be written (an edit); `source_name` names it.
std::optional<model::LoadedConfig> validate_text(Context& ctx, const std::string& text);

// getaddrinfo for every hostname entry of [networks]; a name that does not resolve is reported
// on ctx.e() and left out (its zone then applies to nothing until it resolves).
model::ResolvedHosts resolve_hostnames(Context& ctx, const model::Policy& policy);

// The SSH session this command runs in: SSH_CONNECTION (client, its port, the server address
// and port), else SSH_CLIENT (port 22 assumed); under sudo or su, whose environment lacks them,
// the nearest parent process that has them. The interface is the one holding the server
// address. nullopt outside SSH, or with --no-session-guard.
std::optional<model::Session> admin_session(const Context& ctx);
nlohmann::json session_json(const model::Session& session);
// The interface that holds `address` on this machine ("" when none does).
std::string interface_holding(const IpAddress& address);

// The sections pbxwalld reads ([responsive], [pbx], [users], [vpn], [ami], [web]), checked as
// the daemon checks them, so `check`, `start` without the daemon and the daemon's reloads
// accept the same files. Prints errors and warnings; false (exit status 2) on errors.
bool validate_daemon_sections(Context& ctx, const model::LoadedConfig& config);

// What pbxwalld adds to the configuration's ruleset from the PBX on this machine, found the way
// it finds them: the ports of pbx::discover (daemon::view_of) and the trunks. `show ruleset`,
// `check` and `start` without pbxwalld render with it, so what they print or apply is what
// pbxwalld applies. Empty when pbxwalld would not read the PBX (daemon::reads_pbx), or when
// this build has no PBX reader.
struct PbxInput {
  std::optional<ruleset::DiscoveredPorts> ports;
  std::map<std::string, std::string> port_origins;  // "udp/5160" -> "sip_general_additional.conf:12"
  std::vector<Cidr> trunk_networks;                 // trunks written as addresses and networks
  std::vector<std::string> trunk_names;             // trunks named by DNS names
  std::string dns_servers;                          // [pbx] dns_servers
};
PbxInput pbx_input(const model::LoadedConfig& config);
// The trunks as pbxwalld lets them in now: those written as addresses, and the names looked up
// once here (a lookup that fails is said on stderr and leaves its names out).
std::vector<Cidr> trunks_now(Context& ctx, const PbxInput& pbx);

// Refuses (false, exit status 1, and how to force it) a policy that would cut `session`,
// unless --force.
bool keeps_session(Context& ctx, const model::Policy& policy, const model::ResolvedHosts& resolved,
                   const std::optional<model::Session>& session);

// Our table as the kernel lists it ("" when it is not loaded); nullopt, with the message
// given to ctx.fail(), when the kernel cannot be asked.
std::optional<std::string> live_table(Context& ctx);

// Is our table in the kernel? nullopt (and a message on ctx.e()) if the kernel cannot say.
std::optional<bool> firewall_running(Context& ctx);
// The table's named counters, without its sets' elements: nullopt inside when the table is
// absent; nullopt outside, with the message given to ctx.fail(), when the kernel cannot be asked.
std::optional<std::optional<std::vector<kernel::NamedCounter>>> live_counters(Context& ctx);

enum class ApplyKind { start, reload };

// Renders the configuration and applies it. With safe mode on, saves the table in force,
// starts the rollback guard, then applies; on failure nothing changes. Sets ctx.exit_status.
void apply_configuration(Context& ctx, const model::LoadedConfig& config, ApplyKind kind);

// Validates the edited configuration text, writes it (keeping .bak) and applies it: through
// pbxwalld when it runs, else directly when the table is loaded. `what` is the sentence said;
// `command` ("trust", "off", ...) names the change's author in pbxwalld's event ("pbxwall trust").
void commit_edit(Context& ctx, const std::string& edited, const std::string& what, const std::string& command);

// Stops a pending rollback guard and forgets the pending change (confirm, stop).
void cancel_pending(const RunDir& run_dir, const PendingChange& pending);

// Starts `self_exe __rollback-guard` detached from this process (its own session, reparented
// to init), so killing the CLI does not stop it. Returns the guard's pid once it is waiting.
// Its twin's pid goes to `twin_pid`.
Result<int> spawn_rollback_guard(const Context& ctx, const std::string& token, int seconds,
                                 int* twin_pid = nullptr);

// Restores what previous.nft holds (the table, or no table). Used by the guard.
Status<std::string> restore_previous(kernel::RulesetApplier& applier, const RunDir& run_dir);

// Rolls the pending change back, as the guard does at its deadline: the previous table, and the
// configuration file confirmed before (the unconfirmed one kept as <config>.unconfirmed).
// Records the outcome for `status` and clears the pending change. The caller holds the lock.
Status<std::string> roll_back_pending(Context& ctx, const RunDir& run_dir, const std::string& why);

// A pending change whose deadline passed while no guard is left to roll it back (both killed):
// rolled back now. Returns true when it did. The caller holds the lock.
bool settle_overdue_change(Context& ctx, const RunDir& run_dir);

// Is any guard of `pending` still alive?
bool guard_alive(const PendingChange& pending);

}  // namespace pbxwall::cli
