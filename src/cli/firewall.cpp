#include "cli/firewall.h"

#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
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
#include <ctime>
#include <ostream>
#include <sstream>

#include "daemon/daemon_config.h"
#include "kernel/kernel.h"
#include "model/model.h"
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

std::string local_time_text() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
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

namespace {

// SSH_CONNECTION "client cport server sport" or SSH_CLIENT "client cport sport".
std::optional<model::Session> parse_ssh_variable(std::string_view name, const std::string& value) {
  std::istringstream in(value);
  std::string client, cport, server, sport;
  in >> client >> cport >> server >> sport;
  auto addr = IpAddress::parse(client);
  if (!addr) return std::nullopt;
  model::Session s{.client = *addr, .proto = model::Proto::tcp, .port = 22, .ifname = "", .kind = "SSH session"};
  const std::string& port_text = name == "SSH_CONNECTION" ? sport : server;
  if (!port_text.empty() && std::all_of(port_text.begin(), port_text.end(), ::isdigit) && port_text.size() <= 5) {
    const int port = std::stoi(port_text);
    if (port > 0 && port <= 65535) s.port = static_cast<std::uint16_t>(port);
  }
  if (name == "SSH_CONNECTION") {
    if (auto local = IpAddress::parse(server)) s.ifname = interface_holding(*local);
  }
  return s;
}

// SSH_CONNECTION or SSH_CLIENT from the environment block of /proc/PID/environ.
std::optional<model::Session> session_of_process(int pid) {
  auto environ = read_text_file("/proc/" + std::to_string(pid) + "/environ");
  if (!environ) return std::nullopt;
  std::optional<model::Session> client;
  std::size_t start = 0;
  while (start < environ->size()) {
    std::size_t end = environ->find('\0', start);
    if (end == std::string::npos) end = environ->size();
    const std::string_view entry(environ->data() + start, end - start);
    for (std::string_view name : {"SSH_CONNECTION", "SSH_CLIENT"}) {
      if (entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=') {
        auto s = parse_ssh_variable(name, std::string(entry.substr(name.size() + 1)));
        if (s && name == "SSH_CONNECTION") return s;
        if (s) client = s;
      }
    }
    start = end + 1;
  }
  return client;
}

int parent_of(int pid) {
  auto stat = read_text_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return 0;
  const auto close = stat->rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return 0;
  std::istringstream in(stat->substr(close + 1));
  std::string state;
  int ppid = 0;
  in >> state >> ppid;
  return ppid;
}

}  // namespace

std::string interface_holding(const IpAddress& address) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string name;
  for (ifaddrs* i = list; i != nullptr && name.empty(); i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    std::optional<IpAddress> a;
    if (i->ifa_addr->sa_family == AF_INET) {
      sockaddr_in sin{};
      std::memcpy(&sin, i->ifa_addr, sizeof sin);
      a = IpAddress::v4_bytes(reinterpret_cast<const std::uint8_t*>(&sin.sin_addr));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 sin6{};
      std::memcpy(&sin6, i->ifa_addr, sizeof sin6);
      a = IpAddress::v6_bytes(sin6.sin6_addr.s6_addr);
    }
    if (a && *a == address) name = i->ifa_name;
  }
  ::freeifaddrs(list);
  return name;
}

std::optional<model::Session> admin_session(const Context& ctx) {
  if (!ctx.session_guard) return std::nullopt;
  std::optional<model::Session> client;
  for (const char* name : {"SSH_CONNECTION", "SSH_CLIENT"}) {
    const char* value = env(ctx, name);
    if (value == nullptr) continue;
    auto s = parse_ssh_variable(name, value);
    if (s && std::string_view(name) == "SSH_CONNECTION") return s;
    if (s && !client) client = s;
  }
  if (client || ctx.getenv) return client;  // tests give the environment; no process walk
  // sudo and su reset the environment: the session is the nearest parent's.
  int pid = parent_of(::getpid());
  for (int depth = 0; depth < 32 && pid > 1; ++depth, pid = parent_of(pid))
    if (auto s = session_of_process(pid)) return s;
  return std::nullopt;
}

nlohmann::json session_json(const model::Session& s) {
  return {{"client", s.client.str()}, {"port", s.port}, {"proto", std::string(model::proto_name(s.proto))},
          {"interface", s.ifname}, {"kind", s.kind}};
}

#ifndef PBXWALL_HAVE_DISCOVER
PbxInput pbx_input(const model::LoadedConfig&) { return {}; }
std::vector<Cidr> trunks_now(Context&, const PbxInput&) { return {}; }
#endif

bool validate_daemon_sections(Context& ctx, const model::LoadedConfig& config) {
  auto sections = daemon::daemon_sections_from(config);
  if (!sections.ok()) {
    print_diagnostics(ctx, sections.error());
    ctx.exit_status = kExitInvalid;
    return false;
  }
  print_diagnostics(ctx, sections->warnings);
  return true;
}

bool keeps_session(Context& ctx, const model::Policy& policy, const model::ResolvedHosts& resolved,
                   const std::optional<model::Session>& session) {
  if (!session) return true;
  const auto why = model::session_refused(policy, *session, resolved);
  if (!why) return true;
  if (ctx.force) {
    ctx.e() << "pbxwall: warning: --force: this change cuts your " << session->describe() << " (" << *why << ")\n";
    return true;
  }
  ctx.e() << "pbxwall: refused: this change would cut your " << session->describe() << " (" << *why
          << "); nothing was changed\n"
          << "pbxwall: to apply it anyway, add --force" << (policy.safe_mode ? " (safe mode rolls it back unless you confirm)" : "")
          << "\n";
  ctx.exit_status = kExitFailure;
  return false;
}

std::optional<std::string> live_table(Context& ctx) {
  auto table = ctx.kernel().list_table();
  if (!table) {
    ctx.fail("cannot read the kernel's ruleset: ", table.error());
    return std::nullopt;
  }
  return std::move(*table);
}

std::optional<std::optional<std::vector<kernel::NamedCounter>>> live_counters(Context& ctx) {
  auto counters = ctx.kernel().named_counters();
  if (!counters) {
    ctx.fail("cannot read the kernel's ruleset: ", counters.error());
    return std::nullopt;
  }
  return std::move(*counters);
}

std::optional<bool> firewall_running(Context& ctx) {
  auto counters = live_counters(ctx);
  if (!counters) return std::nullopt;
  return counters->has_value();
}

void cancel_pending(const RunDir& run_dir, const PendingChange& pending) {
  for (int pid : {pending.guard_pid, pending.twin_pid})
    if (is_rollback_guard(pid)) ::kill(pid, SIGTERM);
  run_dir.clear_pending();
}

bool guard_alive(const PendingChange& pending) {
  return is_rollback_guard(pending.guard_pid) || is_rollback_guard(pending.twin_pid);
}

Status<std::string> roll_back_pending(Context& ctx, const RunDir& run_dir, const std::string& why) {
  auto previous = run_dir.read_previous();
  const bool had_table = previous && *previous;
  auto restored = restore_previous(ctx.kernel(), run_dir);
  std::string line = why + "; ";
  if (restored) {
    line += had_table ? "the previous ruleset was restored at " + local_time_text()
                      : "table inet pbxwall was removed (there was none before) at " + local_time_text();
    // The file goes back too, or the next start would apply the unconfirmed change again.
    if (auto confirmed = run_dir.read_previous_config()) {
      if (auto current = read_text_file(ctx.config_path); current && *current != *confirmed) {
        (void)write_text_file(ctx.config_path + ".unconfirmed", *current);
        if (model::write_atomically(ctx.config_path, *confirmed))
          line += "; " + ctx.config_path + " is back as confirmed (the unconfirmed file is " + ctx.config_path + ".unconfirmed)";
      }
      (void)run_dir.write_applied_config(*confirmed);
    }
  } else {
    line += "restoring the previous ruleset FAILED at " + local_time_text() + ": " + restored.error();
  }
  (void)run_dir.write_last_rollback(line);
  run_dir.clear_pending();
  if (!restored) return fail(restored.error());
  return {};
}

bool settle_overdue_change(Context& ctx, const RunDir& run_dir) {
  auto pending = run_dir.read_pending();
  if (!pending || pending->deadline > epoch_seconds() || guard_alive(*pending)) return false;
  (void)roll_back_pending(ctx, run_dir, "the change was not confirmed in time and its rollback guard was gone");
  return true;
}

Result<int> spawn_rollback_guard(const Context& ctx, const std::string& token, int seconds, int* twin_pid) {
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
  std::vector<std::string> args = {exe, "--run-dir", ctx.run_dir, "--config", ctx.config_path,
                                   "__rollback-guard", "--token", token, "--seconds",
                                   std::to_string(seconds), "--ready-fd", std::to_string(fds[1])};
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
  if (twin_pid != nullptr) {
    *twin_pid = 0;
    if (const auto space = reply.find(' '); space != std::string::npos) *twin_pid = std::atoi(reply.c_str() + space + 1);
  }
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
  if (settle_overdue_change(ctx, run_dir))
    ctx.e() << "pbxwall: " << run_dir.read_last_rollback() << "\n";

  auto pending = run_dir.read_pending();
  // The table in force is read back only when safe mode saves it for a rollback; otherwise
  // whether it is there is enough (listing it costs a second per 100,000 set elements).
  const bool saves_previous = policy.safe_mode && !pending;
  std::string current;  // the listing of the table in force, when saved
  bool was_running = false;
  if (saves_previous) {
    auto listed = live_table(ctx);
    if (!listed) return;
    current = std::move(*listed);
    was_running = !current.empty();
  } else {
    auto running = firewall_running(ctx);
    if (!running) return;
    was_running = *running;
  }
  if (kind == ApplyKind::reload && !was_running) {
    ctx.fail("the firewall is not running; `pbxwall start` starts it");
    return;
  }

  const model::ResolvedHosts resolved = resolve_hostnames(ctx, policy);
  if (!keeps_session(ctx, policy, resolved, admin_session(ctx))) return;
  const PbxInput pbx = pbx_input(config);
  ruleset::RenderInput input{policy};
  input.resolved = resolved;
  input.discovered = pbx.ports;
  input.trunks = trunks_now(ctx, pbx);
  const std::string script = ruleset::render(input);
  const std::string text = read_text_file(ctx.config_path).value_or("");

  std::optional<PendingChange> mine;
  if (policy.safe_mode) {
    // With a change already pending, the rollback target stays the last confirmed table.
    if (saves_previous) {
      auto saved = run_dir.write_previous(was_running ? std::optional<std::string>(current) : std::nullopt);
      if (!saved) {
        ctx.fail("cannot save the current ruleset for rollback: ", saved.error());
        return;
      }
      if (auto confirmed = run_dir.read_applied_config(); confirmed && was_running)
        (void)run_dir.write_previous_config(*confirmed);
    }
    PendingChange change{new_token(), epoch_seconds() + policy.safe_mode_seconds, 0, 0};
    if (auto w = run_dir.write_pending(change); !w) {
      ctx.fail(w.error());
      return;
    }
    auto guard = ctx.start_guard ? ctx.start_guard(change.token, policy.safe_mode_seconds)
                                 : spawn_rollback_guard(ctx, change.token, policy.safe_mode_seconds, &change.twin_pid);
    if (!guard) {
      if (pending) (void)run_dir.write_pending(*pending);
      else run_dir.clear_pending();
      ctx.fail("safe mode: ", guard.error(), "; nothing changed");
      return;
    }
    change.guard_pid = *guard;
    (void)run_dir.write_pending(change);
    if (pending) {
      for (int pid : {pending->guard_pid, pending->twin_pid})
        if (is_rollback_guard(pid)) ::kill(pid, SIGTERM);
    }
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
  (void)run_dir.write_applied_config(text);
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
