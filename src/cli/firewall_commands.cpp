// `pbxwall start | stop | reload | status | confirm`.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>

#include "base/plural.h"
#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/daemon_link.h"
#include "cli/firewall.h"
#include "cli/run_dir.h"
#include "kernel/kernel.h"
#include "ruleset/ruleset.h"

namespace pbxwall::cli {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void run_start(Context& ctx, ApplyKind kind, bool no_safe_mode) {
  auto config = load_config(ctx);
  if (!config || !validate_daemon_sections(ctx, *config)) {
    ctx.e() << "pbxwall: " << ctx.config_path << " is invalid; the ruleset in force is unchanged\n";
    return;
  }
  // pbxwalld owns the table while it runs: it applies the file with the hosts it blocked and
  // validated carried over, through the same checks (a file it finds invalid is refused, a
  // change that cuts this SSH session too, and safe mode keeps the previous file to restore).
  if (daemon_running(ctx)) {
    const char* cmd = kind == ApplyKind::start ? "start" : "reload";
    if (auto answer = daemon_change(ctx, {{"cmd", cmd}}, !no_safe_mode)) {
      ctx.o() << "pbxwalld applied " << ctx.config_path << " (blocked and validated hosts kept)\n";
      print_safe_mode(ctx, *answer);
    }
    return;
  }
  // At boot the configuration is the one confirmed before the reboot: no rollback guard.
  if (no_safe_mode) config->policy.safe_mode = false;
  apply_configuration(ctx, *config, kind);
}

void run_stop(Context& ctx) {
  RunDir run_dir(ctx.run_dir);
  auto lock = run_dir.lock();
  if (!lock) {
    ctx.fail(lock.error());
    return;
  }
  // A pending rollback would bring the table back after the stop.
  if (auto pending = run_dir.read_pending()) cancel_pending(run_dir, *pending);
  if (daemon_running(ctx)) {
    // Through the daemon, so it knows the table is gone and stops sending set updates to it.
    if (!daemon_request(ctx, {{"cmd", "stop"}})) return;
    (void)run_dir.write_session_addresses({});
    ctx.o() << "pbxwall stopped: table inet pbxwall removed (other tables untouched); pbxwalld keeps "
               "running, `pbxwall start` puts the table back\n";
    return;
  }
  auto running = firewall_running(ctx);
  if (!running) return;
  if (!*running) {
    ctx.o() << "pbxwall is not running (no table inet pbxwall)\n";
    return;
  }
  auto removed = ctx.kernel().apply(ruleset::render_remove());
  if (!removed) {
    ctx.fail("cannot remove table inet pbxwall: ", removed.error());
    return;
  }
  (void)run_dir.write_session_addresses({});
  ctx.o() << "pbxwall stopped: table inet pbxwall removed (other tables untouched)\n";
}

void run_confirm(Context& ctx) {
  if (daemon_running(ctx)) {
    auto answer = call_daemon(control_socket_path(ctx.run_dir), {{"cmd", "confirm"}, {"who", "pbxwall confirm"}},
                              ctx.control_timeout);
    if (answer && answer->value("ok", false)) {
      ctx.o() << "confirmed: pbxwalld keeps the configuration in force\n";
      return;
    }
    if (answer && answer->value("http_status", 0) != 409) {
      ctx.fail("pbxwalld refused: ", answer->value("error", std::string("(no reason given)")));
      return;
    }
    // Nothing waits in the daemon: a change applied without it may still wait below.
  }
  RunDir run_dir(ctx.run_dir);
  auto lock = run_dir.lock();
  if (!lock) {
    ctx.fail(lock.error());
    return;
  }
  if (settle_overdue_change(ctx, run_dir)) {
    ctx.fail("too late, ", run_dir.read_last_rollback());
    return;
  }
  auto pending = run_dir.read_pending();
  if (!pending) {
    const std::string last = run_dir.read_last_rollback();
    if (!last.empty()) {
      ctx.fail("too late, ", last);
    } else {
      ctx.o() << "nothing to confirm\n";
    }
    return;
  }
  cancel_pending(run_dir, *pending);
  ctx.o() << "confirmed: the ruleset in force stays\n";
}

void run_status(Context& ctx) {
  RunDir run_dir(ctx.run_dir);
  // A change whose guards were both killed would otherwise wait forever: it is rolled back now.
  if (run_dir.read_pending()) {
    if (auto lock = run_dir.lock(); lock && settle_overdue_change(ctx, run_dir))
      ctx.e() << "pbxwall: " << run_dir.read_last_rollback() << "\n";
  }
  auto table = live_counters(ctx);  // counts, not the sets' elements: fast with a million blocks
  if (!table) return;
  const bool on = table->has_value();
  auto pending = run_dir.read_pending();
  const bool guard_gone = pending && !guard_alive(*pending);
  const std::string last_rollback = run_dir.read_last_rollback();
  const auto session = admin_session(ctx);
  const auto counters = on ? **table : std::vector<kernel::NamedCounter>{};
  // The configuration is optional here: status must work even when it is broken.
  auto loaded = model::load_file(ctx.config_path);
  // The daemon's part: a daemon that does not answer is reported, the rest still shown.
  std::optional<nlohmann::json> daemon;
  if (daemon_running(ctx)) daemon = daemon_request(ctx, {{"cmd", "status"}});

  if (ctx.json) {
    nlohmann::json j;
    j["running"] = on;
    j["safe_mode_pending"] = pending.has_value();
    if (pending) {
      j["rollback_in_seconds"] = std::max<std::int64_t>(0, pending->deadline - now_seconds());
      j["rollback_guard_running"] = !guard_gone;
    }
    if (!last_rollback.empty()) j["last_rollback"] = last_rollback;
    j["session_guard"] = nlohmann::json::array();
    if (session) j["session_guard"].push_back(session_json(*session));
    j["counters"] = nlohmann::json::object();
    for (const auto& c : counters) j["counters"][c.name] = {{"packets", c.packets}, {"bytes", c.bytes}};
    if (loaded) {
      nlohmann::json zones = nlohmann::json::object();
      for (model::Zone z : model::kAllZones)
        zones[std::string(model::zone_name(z))] = std::count_if(
            loaded->policy.networks.begin(), loaded->policy.networks.end(),
            [z](const model::NetworkEntry& e) { return e.zone == z; });
      j["networks_per_zone"] = zones;
    } else {
      j["config_error"] = loaded.error().empty() ? "" : loaded.error().front().str();
    }
    if (daemon) {
      daemon->erase("ok");
      j["daemon"] = *daemon;
    }
    ctx.o() << j.dump(2) << "\n";
    return;
  }

  ctx.o() << "pbxwall is " << (on ? "ON (table inet pbxwall loaded)" : "OFF (no table inet pbxwall)") << "\n";
  if (pending) {
    ctx.o() << "safe mode: the last change waits for `pbxwall confirm`; it rolls back in "
            << std::max<std::int64_t>(0, pending->deadline - now_seconds()) << " s"
            << (guard_gone ? " (its rollback guard is gone: the next pbxwall command after the deadline rolls it back)" : "")
            << "\n";
  }
  if (!last_rollback.empty()) ctx.o() << "last rollback: " << last_rollback << "\n";
  if (session)
    ctx.o() << "session guard: changes that would cut your " << session->describe() << " are refused (--force overrides)\n";
  if (loaded) {
    ctx.o() << "networks per zone (" << ctx.config_path << "):";
    for (model::Zone z : model::kAllZones) {
      ctx.o() << " " << model::zone_name(z) << " "
              << std::count_if(loaded->policy.networks.begin(), loaded->policy.networks.end(),
                               [z](const model::NetworkEntry& e) { return e.zone == z; });
    }
    ctx.o() << "\n";
  } else {
    ctx.o() << "configuration: invalid (`pbxwall check` shows why)\n";
  }
  if (!counters.empty()) {
    ctx.o() << "counters:";
    for (const auto& c : counters)
      ctx.o() << " " << c.name << " " << counted(static_cast<std::int64_t>(c.packets), "packet") << " ("
              << counted(static_cast<std::int64_t>(c.bytes), "byte") << ")"
              << (&c == &counters.back() ? "\n" : ",");
  }
  if (daemon) {
    print_daemon_status(ctx, *daemon);
    if (const auto p = daemon->find("pending_change"); p != daemon->end() && p->is_object())
      ctx.o() << "  safe mode: the change by " << p->value("who", "?") << " (" << p->value("what", "?")
              << ") waits for `pbxwall confirm`; pbxwalld rolls it back in " << p->value("rolls_back_in_seconds", 0)
              << " s\n";
  }
  else if (ctx.exit_status == kExitOk) ctx.o() << "pbxwalld: not running (commands apply the table themselves)\n";
}

}  // namespace

void add_firewall_commands(CLI::App& app, Context& ctx) {
  auto no_safe_mode = std::make_shared<bool>(false);
  auto* start = app.add_subcommand("start", "Apply the configuration (safe mode: roll back unless confirmed)");
  start->add_flag("--no-safe-mode", *no_safe_mode,
                  "Apply without the rollback guard (boot: the configuration was confirmed before)");
  start->callback([&ctx, no_safe_mode] { run_start(ctx, ApplyKind::start, *no_safe_mode); });
  auto* reload = app.add_subcommand("reload", "Apply the changed configuration to the running firewall");
  reload->add_flag("--no-safe-mode", *no_safe_mode, "Apply without the rollback guard");
  reload->callback([&ctx, no_safe_mode] { run_start(ctx, ApplyKind::reload, *no_safe_mode); });
  app.add_subcommand("stop", "Remove table inet pbxwall (other tables are left alone)")
      ->callback([&ctx] { run_stop(ctx); });
  auto* restart = app.add_subcommand("restart", "Stop, then start (through pbxwalld when it runs)");
  restart->add_flag("--no-safe-mode", *no_safe_mode, "Apply without the rollback guard");
  restart->callback([&ctx, no_safe_mode] {
    run_stop(ctx);
    if (ctx.exit_status == kExitOk) run_start(ctx, ApplyKind::start, *no_safe_mode);
  });
  app.add_subcommand("status", "On/off, pending safe-mode change, networks per zone, counters")
      ->callback([&ctx] { run_status(ctx); });
  app.add_subcommand("confirm", "Keep the ruleset applied in safe mode (cancels the rollback)")
      ->callback([&ctx] { run_confirm(ctx); });
}

}  // namespace pbxwall::cli
