// What the commands share when pbxwalld runs: finding it, asking it, and printing its answers.
// Commands that work without it (status, reload, start, stop, trust, untrust) go through it
// when it runs, so the blocked and validated hosts it holds are carried over.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace pbxwall::cli {

// Does pbxwalld accept connections on <run-dir>/control.sock?
bool daemon_running(const Context& ctx);

// Sends `request` to pbxwalld and returns its answer, whatever its "ok"; when it cannot be
// reached, prints why (not running: how to start it) and sets ctx.exit_status.
std::optional<nlohmann::json> daemon_answer(Context& ctx, const nlohmann::json& request);

// Sends `request` to pbxwalld. Returns its answer when it says {"ok": true}; otherwise prints
// why on ctx.e() (not running: how to start it) and sets ctx.exit_status = kExitFailure.
std::optional<nlohmann::json> daemon_request(Context& ctx, const nlohmann::json& request);

// A configuration change through pbxwalld (`request` has "cmd": reload, start or apply): adds
// the SSH session it must not cut, --force and safe mode. Returns the answer when applied;
// otherwise prints why (and how to force a refused lockout) and sets the exit status.
std::optional<nlohmann::json> daemon_change(Context& ctx, nlohmann::json request, bool safe_mode = true);
// "safe mode: run `pbxwall confirm` within N s ..." when the answer says the change waits.
void print_safe_mode(Context& ctx, const nlohmann::json& answer);

// "pbxwalld is not running (no /run/pbxwall/control.sock): start it with ...".
std::string not_running_message(const Context& ctx, const std::string& detail);

// `list blocked|validated|flagged`: the words that name the daemon's listings.
bool is_daemon_listing(std::string_view word);
// `list blocked`'s paging and filters (sent to pbxwalld, which answers page by page).
struct BlockedFilter {
  std::optional<std::int64_t> limit;  // at most this many in all
  std::string after;                  // addresses after this one (the "next" a page gave)
  std::string addr;                   // an address or network: the blocks inside it
  std::string rule;                   // the rule that blocked
  std::string origin;                 // manual, kernel, crowdsec, engine
  bool any() const { return limit || !after.empty() || !addr.empty() || !rule.empty() || !origin.empty(); }
};
void run_daemon_list(Context& ctx, const std::string& what, const BlockedFilter& filter = {});

// Prints the daemon's part of `pbxwall status` (its answer to {"cmd": "status"}).
void print_daemon_status(Context& ctx, const nlohmann::json& status);

// "30m", "2h", "7d", "1h30m", "90s", "2w": nullopt when not a positive duration.
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// Epoch seconds as "YYYY-MM-DD HH:MM:SS" (UTC); "-" for null or not a number.
std::string utc_time_text(const nlohmann::json& epoch_seconds);

}  // namespace pbxwall::cli
