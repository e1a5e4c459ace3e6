// The `pbxwall` command line: one add_<family>_command per command family, each in its own
// file, all sharing one Context. Commands report their outcome through Context::exit_status
// (constants below) and write to Context::out / Context::err, so tests can drive them with
// run_cli() and string streams instead of a process.
#pragma once

#include <chrono>
#include <functional>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/result.h"

namespace CLI {
class App;
}

namespace pbxwall::kernel {
class RulesetApplier;
}

namespace pbxwall::cli {

// Exit statuses of `pbxwall`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the system refused (nftables error, I/O error)
inline constexpr int kExitInvalid = 2;  // invalid configuration or command-line usage

inline constexpr const char* kDefaultConfigPath = "/etc/pbxwall/pbxwall.toml";
inline constexpr const char* kDefaultRunDir = "/run/pbxwall";
inline constexpr const char* kDefaultStatePath = "/var/lib/pbxwall/state.db";  // pbxwalld's --state

struct Context {
  // Global options (set by the parser before any command callback runs).
  std::string config_path = kDefaultConfigPath;  // --config
  std::string run_dir = kDefaultRunDir;          // --run-dir, env PBXWALL_RUN_DIR
  std::string state_path = kDefaultStatePath;    // --state: read while pbxwalld is down
  bool json = false;                             // --json: machine-readable listings
  bool session_guard = true;                     // cleared by --no-session-guard
  bool force = false;                            // --force: apply a change that cuts the session

  // How long a request to pbxwalld (control socket under run_dir) may take. A reload
  // resolves hostnames and applies the table, so this is generous.
  std::chrono::milliseconds control_timeout{30'000};

  std::ostream* out = nullptr;  // run_cli() points these at std::cout / std::cerr if unset
  std::ostream* err = nullptr;
  int exit_status = kExitOk;  // a command sets this; run_cli() returns it

  // Path of this executable, used to start the safe-mode rollback guard
  // (`pbxwall __rollback-guard`). Empty: /proc/self/exe.
  std::string self_exe;

  // The kernel boundary. Null: run_cli() creates an NftApplier (libnftables) when a command
  // first needs it. Tests inject a DryRunApplier.
  kernel::RulesetApplier* applier = nullptr;
  std::shared_ptr<kernel::RulesetApplier> owned_applier;

  // Starts the safe-mode rollback guard for the pending change `token` and returns its pid.
  // Empty: a detached `pbxwall __rollback-guard` process. Tests replace it.
  std::function<Result<int>(const std::string& token, int seconds)> start_guard;

  // Environment lookup (SSH_CONNECTION, PBXWALL_RUN_DIR); tests replace it.
  std::function<const char*(const char*)> getenv;

  // The addresses of this machine's interfaces (`block` refuses them). Empty: getifaddrs.
  std::function<std::vector<IpAddress>()> local_addresses;

  // The names of this machine's network interfaces (`check` warns about others). Empty: if_nameindex.
  std::function<std::vector<std::string>()> interface_names;

  std::ostream& o() const { return *out; }
  std::ostream& e() const { return *err; }

  // Writes "pbxwall: <parts>" as one line to err and sets exit_status to kExitFailure.
  template <class... Parts>
  void fail(const Parts&... parts) {
    *err << "pbxwall: ";
    (*err << ... << parts);
    *err << "\n";
    exit_status = kExitFailure;
  }
  kernel::RulesetApplier& kernel();  // applier, created on first use
};

// Parses args (args[0] is the program name) and runs the chosen command. Returns the exit
// status. Never throws for bad usage: CLI11's messages go to ctx.err with kExitInvalid.
int run_cli(const std::vector<std::string>& args, Context& ctx);

// Command families (one file each).
void add_check_command(CLI::App& app, Context& ctx);      // check, show ruleset
void add_firewall_commands(CLI::App& app, Context& ctx);  // start, stop, restart, reload, status, confirm
void add_network_commands(CLI::App& app, Context& ctx);   // trust, untrust, list
void add_switch_commands(CLI::App& app, Context& ctx);    // on, off
void add_listing_commands(CLI::App& app, Context& ctx);   // zones, services
void add_guard_command(CLI::App& app, Context& ctx);      // __rollback-guard (internal)
void add_daemon_commands(CLI::App& app, Context& ctx);    // block, unblock, events (pbxwalld)
void add_replay_command(CLI::App& app, Context& ctx);     // replay (src/cli/replay_command.cpp)
void add_discover_command(CLI::App& app, Context& ctx);   // discover (src/cli/discover_command.cpp)
void add_passwd_command(CLI::App& app, Context& ctx);     // passwd (src/cli/passwd_command.cpp)
void add_doctor_command(CLI::App& app, Context& ctx);     // doctor (src/cli/doctor_command.cpp)

}  // namespace pbxwall::cli
