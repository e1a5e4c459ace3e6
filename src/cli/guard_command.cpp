// `pbxwall __rollback-guard`: the detached process that restores the previous ruleset when a
// safe-mode change is not confirmed in time. Started by start/reload, never by a person.
#include <signal.h>
#include <sys/prctl.h>
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

// Waits until the deadline or until one of `set` arrives (SIGTERM/SIGINT/SIGHUP: confirm,
// stop, or a newer change). Returns 0 when the time ran out, else the signal.
int wait_for_deadline(std::chrono::steady_clock::time_point deadline, const sigset_t& set) {
  for (;;) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return 0;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    const int signo = sigtimedwait(&set, nullptr, &ts);
    if (signo > 0) return signo;
    // EAGAIN (timeout) or EINTR: the loop re-checks the clock.
  }
}

void roll_back_if_mine(Context& ctx, const GuardOptions& opt) {
  RunDir run_dir(ctx.run_dir);
  auto lock = run_dir.lock();
  if (!lock) {
    ctx.exit_status = kExitFailure;
    return;
  }
  auto pending = run_dir.read_pending();
  if (!pending || pending->token != opt.token) return;  // confirmed, superseded, or done by the other
  auto rolled = roll_back_pending(ctx, run_dir, "the change of " + std::to_string(opt.seconds) + " s ago was not confirmed");
  if (!rolled) ctx.exit_status = kExitFailure;
}

// Two processes keep the promise: the guard and its twin (a child that learns of the guard's
// death through PR_SET_PDEATHSIG). Killing one of them, even with SIGKILL, leaves the other to
// roll back at the deadline; whichever comes first does it, the other finds nothing pending.
void run_guard(Context& ctx, const GuardOptions& opt) {
  // Block the signals first, so a confirm arriving at any moment is seen by sigtimedwait.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(opt.seconds);
  const pid_t guard = ::getpid();
  // Started by spawn_rollback_guard (with --ready-fd) it has a twin; run in-process by a test
  // or by hand it works alone.
  const pid_t twin = opt.ready_fd >= 0 ? ::fork() : -1;
  if (twin == 0) {
    if (opt.ready_fd >= 0) ::close(opt.ready_fd);  // the CLI waits for the guard's end of it
    ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (::getppid() != guard) ::raise(SIGUSR1);  // the guard died before prctl took effect
    for (;;) {
      const int signo = wait_for_deadline(deadline, set);
      if (signo == SIGUSR1) continue;  // the guard is gone: the twin keeps the promise alone
      if (signo == 0) roll_back_if_mine(ctx, opt);
      ::_exit(ctx.exit_status);
    }
  }
  if (opt.ready_fd >= 0) {
    const std::string pids = std::to_string(guard) + " " + std::to_string(twin > 0 ? twin : 0) + "\n";
    (void)!::write(opt.ready_fd, pids.data(), pids.size());
    ::close(opt.ready_fd);
  }
  for (;;) {
    const int signo = wait_for_deadline(deadline, set);
    if (signo == SIGUSR1) continue;
    if (signo != 0) {
      if (twin > 0) ::kill(twin, SIGTERM);  // confirmed or superseded: both stand down
      return;
    }
    roll_back_if_mine(ctx, opt);
    return;
  }
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
