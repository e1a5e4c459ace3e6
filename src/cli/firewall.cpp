#include "cli/firewall.h"

#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <sstream>

#include "kernel/kernel.h"
#include "ruleset/ruleset.h"

namespace pbxwall::cli {
namespace {

const char* env(const Context& ctx, const char* name) {
  return ctx.getenv ? ctx.getenv(name) : std::getenv(name);
}

std::int64_t epoch_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string new_token() {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return std::to_string(getpid()) + "-" + std::to_string(ns);
}

// Is `pid` a rollback guard? A pid in the pending file may be stale and reused by now.
bool is_rollback_guard(int pid) {
  if (pid <= 0) return false;
  auto cmdline = read_text_file("/proc/" + std::to_string(pid) + "/cmdline");
  return cmdline && cmdline->find("__rollback-guard") != std::string::npos;
}

std::string zone_summary(const model::Policy& policy) {
  std::ostringstream s;
  s << policy.networks.size() << " network" << (policy.networks.size() == 1 ? "" : "s");
  bool first = true;
  for (model::Zone z : model::kAllZones) {
    const auto n = std::count_if(policy.networks.begin(), policy.networks.end(),
                                 [z](const model::NetworkEntry& e) { return e.zone == z; });
    if (n == 0) continue;
    s << (first ? " (" : ", ") << model::zone_name(z) << " " << n;
    first = false;
  }
  if (!first) s << ")";
  s << ", " << policy.interfaces.size() << " interface" << (policy.interfaces.size() == 1 ? "" : "s");
  return s.str();
}

}  // namespace

void print_diagnostics(Context& ctx, const Diagnostics& ds) {
  for (const auto& d : ds) ctx.e() << d.str() << "\n";
}

std::optional<model::LoadedConfig> load_config(Context& ctx) {
  auto loaded = model::load_file(ctx.config_path);
  if (!loaded) {
    print_diagnostics(ctx, loaded.error());
    ctx.exit_status = kExitInvalid;
    return std::nullopt;
  }
  print_diagnostics(ctx, loaded->warnings);
  return std::move(loaded).value();
}

std::optional<model::LoadedConfig> validate_text(Context& ctx, const std::string& text) {
  auto loaded = model::load_string(text, ctx.config_path);
  if (!loaded) {
    print_diagnostics(ctx, loaded.error());
    ctx.e() << "pbxwall: the change would make the configuration invalid; " << ctx.config_path
            << " is unchanged\n";
    ctx.exit_status = kExitInvalid;
    return std::nullopt;
  }
  print_diagnostics(ctx, loaded->warnings);
  return std::move(loaded).value();
}

model::ResolvedHosts resolve_hostnames(Context& ctx, const model::Policy& policy) {
  model::ResolvedHosts resolved;
  for (const auto& entry : policy.networks) {
    if (entry.hostname.empty() || resolved.count(entry.hostname) != 0) continue;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    const int rc = getaddrinfo(entry.hostname.c_str(), nullptr, &hints, &list);
    if (rc != 0) {
      ctx.e() << ctx.config_path << ":" << entry.line << ": warning: networks." << entry.text
              << ": cannot resolve " << entry.hostname << " (" << gai_strerror(rc)
              << "); it matches nothing until it resolves\n";
      continue;
    }
    std::vector<IpAddress> addrs;
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET) {
        sockaddr_in sin{};
        std::memcpy(&sin, ai->ai_addr, sizeof sin);
        addrs.push_back(IpAddress::v4_bytes(reinterpret_cast<const std::uint8_t*>(&sin.sin_addr)));
      } else if (ai->ai_family == AF_INET6) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, ai->ai_addr, sizeof sin6);
        addrs.push_back(IpAddress::v6_bytes(sin6.sin6_addr.s6_addr));
      }
    }
    freeaddrinfo(list);
    // Sorted and unique: the rendered ruleset must not depend on the resolver's order.
    std::sort(addrs.begin(), addrs.end());
    addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
    resolved[entry.hostname] = std::move(addrs);
  }
  return resolved;
}

std::optional<IpAddress> ssh_client_address(const Context& ctx) {
  for (const char* name : {"SSH_CONNECTION", "SSH_CLIENT"}) {
    const char* value = env(ctx, name);
    if (value == nullptr) continue;
    std::istringstream in(value);
    std::string first;
    in >> first;
    if (auto a = IpAddress::parse(first)) return a;
  }
  return std::nullopt;
}

model::Policy with_trusted_hosts(const model::Policy& policy, const std::vector<IpAddress>& addresses) {
  model::Policy out = policy;
  for (const auto& a : addresses) {
    model::NetworkEntry e;
    e.text = a.str();
    e.cidr = Cidr(a, a.bit_width());
    e.zone = model::Zone::trusted;
    out.networks.push_back(std::move(e));
  }
  return out;
}

std::optional<std::string> live_table(Context& ctx) {
  auto table = ctx.kernel().list_table();
  if (!table) {
    ctx.fail("cannot read the kernel's ruleset: ", table.error());
    return std::nullopt;
  }
  return std::move(*table);
}

std::optional<bool> firewall_running(Context& ctx) {
  auto table = live_table(ctx);
  if (!table) return std::nullopt;
  return !table->empty();
}

void cancel_pending(const RunDir& run_dir, const PendingChange& pending) {
  if (is_rollback_guard(pending.guard_pid)) ::kill(pending.guard_pid, SIGTERM);
  run_dir.clear_pending();
}

Result<int> spawn_rollback_guard(const Context& ctx, const std::string& token, int seconds) {
  std::string exe = ctx.self_exe;
  if (exe.empty()) {
    char buf[PATH_MAX];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return fail(std::string("cannot find the pbxwall executable: ") + std::strerror(errno));
    exe.assign(buf, static_cast<std::size_t>(n));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return fail(std::string("pipe: ") + std::strerror(errno));

  // Everything the child needs is built before fork: after it only async-signal-safe calls.
  std::vector<std::string> args = {exe, "--run-dir", ctx.run_dir, "__rollback-guard", "--token",
                                   token, "--seconds", std::to_string(seconds), "--ready-fd",
                                   std::to_string(fds[1])};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return fail(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // A new session, then a second fork: the guard is reparented to init and no signal
    // aimed at the CLI's terminal or process group reaches it.
    ::setsid();
    const pid_t guard = ::fork();
    if (guard != 0) ::_exit(guard < 0 ? 1 : 0);
    ::fcntl(fds[1], F_SETFD, 0);
    const int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  // The guard writes its pid once it is waiting; EOF without it means it never started.
  std::string reply;
  char buf[64];
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  const int pid = std::atoi(reply.c_str());
  if (pid <= 0) return fail("the rollback guard did not start (" + exe + ")");
  return pid;
}

Status<std::string> restore_previous(kernel::RulesetApplier& applier, const RunDir& run_dir) {
  auto previous = run_dir.read_previous();
  if (!previous) return fail("no saved ruleset in " + run_dir.path());
  if (!*previous) return applier.apply(ruleset::render_remove());
  return applier.apply(ruleset::render_remove() + **previous);
}

void apply_configuration(Context& ctx, const model::LoadedConfig& config, ApplyKind kind) {
  const model::Policy& policy = config.policy;
  RunDir run_dir(ctx.run_dir);
  auto lock = run_dir.lock();
  if (!lock) {
    ctx.fail(lock.error());
    return;
  }

  auto current = live_table(ctx);
  if (!current) return;
  const bool was_running = !current->empty();
  if (kind == ApplyKind::reload && !was_running) {
    ctx.fail("the firewall is not running; `pbxwall start` starts it");
    return;
  }

  // Session guard: the SSH client running this command, plus those kept since start.
  std::vector<IpAddress> session;
  if (ctx.session_guard) {
    if (kind == ApplyKind::reload) session = run_dir.read_session_addresses();
    if (auto client = ssh_client_address(ctx);
        client && std::find(session.begin(), session.end(), *client) == session.end())
      session.push_back(*client);
  }
  for (const auto& a : session)
    ctx.o() << "keeping your SSH session from " << a.str() << " open (trusted)\n";

  const model::Policy applied_policy = with_trusted_hosts(policy, session);
  ruleset::RenderInput input{applied_policy};
  input.resolved = resolve_hostnames(ctx, policy);
  const std::string script = ruleset::render(input);

  auto pending = run_dir.read_pending();
  std::optional<PendingChange> mine;
  if (policy.safe_mode) {
    // With a change already pending, the rollback target stays the last confirmed table.
    if (!pending) {
      auto saved = run_dir.write_previous(was_running ? std::optional<std::string>(*current)
                                                      : std::nullopt);
      if (!saved) {
        ctx.fail("cannot save the current ruleset for rollback: ", saved.error());
        return;
      }
    }
    PendingChange change{new_token(), epoch_seconds() + policy.safe_mode_seconds, 0};
    if (auto w = run_dir.write_pending(change); !w) {
      ctx.fail(w.error());
      return;
    }
    auto guard = ctx.start_guard ? ctx.start_guard(change.token, policy.safe_mode_seconds)
                                 : spawn_rollback_guard(ctx, change.token, policy.safe_mode_seconds);
    if (!guard) {
      if (pending) (void)run_dir.write_pending(*pending);
      else run_dir.clear_pending();
      ctx.fail("safe mode: ", guard.error(), "; nothing changed");
      return;
    }
    change.guard_pid = *guard;
    (void)run_dir.write_pending(change);
    if (pending && is_rollback_guard(pending->guard_pid)) ::kill(pending->guard_pid, SIGTERM);
    mine = change;
  } else if (pending) {
    cancel_pending(run_dir, *pending);  // applying without safe mode confirms implicitly
  }

  auto applied = ctx.kernel().apply(script);
  if (!applied) {
    ctx.e() << "pbxwall: the kernel refused the ruleset; nothing changed:\n" << applied.error() << "\n";
    // Without an earlier pending change there is nothing to roll back to: stop the guard.
    // With one, the new guard keeps its promise to restore the last confirmed table.
    if (mine && !pending) cancel_pending(run_dir, *mine);
    ctx.exit_status = kExitFailure;
    return;
  }
  (void)run_dir.write_session_addresses(session);
  run_dir.clear_last_rollback();

  ctx.o() << "pbxwall " << (kind == ApplyKind::start && !was_running ? "started" : "reloaded")
          << ": " << zone_summary(policy) << "\n";
  if (!policy.enabled)
    ctx.o() << "note: [firewall] enabled = false, so the table accepts all traffic\n";
  if (mine) {
    ctx.o() << "safe mode: run `pbxwall confirm` within " << policy.safe_mode_seconds
            << " s to keep this ruleset; otherwise "
            << (pending ? "the last confirmed ruleset comes back"
                        : (was_running ? "the previous ruleset comes back"
                                       : "the firewall is removed again (there was none before)"))
            << "\n";
  }
}

}  // namespace pbxwall::cli
