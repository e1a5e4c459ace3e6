// `pbxwall __rollback-guard`: the detached process that restores the previous ruleset when a
// safe-mode change is not confirmed in time. Started by start/reload, never by a person.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>

#include "cli/commands.h"
#include "cli/firewall.h"
#include "cli/run_dir.h"
#include "kernel/kernel.h"

namespace pbxwall::cli {
namespace {

struct GuardOptions {
  std::string token;
  int seconds = 60;
  int ready_fd = -1;
};

std::string local_time_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Waits until the deadline or until SIGTERM/SIGINT/SIGHUP (confirm, stop, or a newer
// change). Returns true when the time ran out.
bool wait_for_deadline(int seconds) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (sigtimedwait(&set, nullptr, &ts) > 0) return false;
    // EAGAIN (timeout) or EINTR: the loop re-checks the clock.
  }
}

void run_guard(Context& ctx, const GuardOptions& opt) {
  // Block the signals first, so a confirm arriving at any moment is seen by sigtimedwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  if (opt.ready_fd >= 0) {
    const std::string pid = std::to_string(getpid()) + "\n";
    (void)!::write(opt.ready_fd, pid.data(), pid.size());
    ::close(opt.ready_fd);
  }
  if (!wait_for_deadline(opt.seconds)) return;

  RunDir run_dir(ctx.run_dir);
  auto lock = run_dir.lock();
  if (!lock) {
    ctx.exit_status = kExitFailure;
    return;
  }
  auto pending = run_dir.read_pending();
  if (!pending || pending->token != opt.token) return;  // confirmed, or superseded
  auto previous = run_dir.read_previous();
  const bool had_table = previous && *previous;
  auto restored = restore_previous(ctx.kernel(), run_dir);
  std::string line = "the change of " + std::to_string(opt.seconds) + " s ago was not confirmed; ";
  if (restored)
    line += had_table ? "the previous ruleset was restored at " + local_time_now()
                      : "table inet pbxwall was removed (there was none before) at " + local_time_now();
  else
    line += "restoring the previous ruleset FAILED at " + local_time_now() + ": " + restored.error();
  (void)run_dir.write_last_rollback(line);
  run_dir.clear_pending();
  if (!restored) ctx.exit_status = kExitFailure;
}

}  // namespace

void add_guard_command(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<GuardOptions>();
  auto* guard = app.add_subcommand("__rollback-guard", "");  // empty description: hidden
  guard->group("");
  guard->add_option("--token", opt->token)->required();
  guard->add_option("--seconds", opt->seconds)->required();
  guard->add_option("--ready-fd", opt->ready_fd);
  guard->callback([&ctx, opt] { run_guard(ctx, *opt); });
}

}  // namespace pbxwall::cli
