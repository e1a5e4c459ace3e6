// `pbxwall doctor`: gathers the facts of this machine (the side effects live here) and prints
// the findings of cli/doctor.h. Exit status 0: nothing wrong; 1: warnings; 2: errors.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <nftables/libnftables.h>

#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/doctor.h"
#include "cli/firewall.h"
#include "daemon/daemon_config.h"
#include "http/settings.h"
#include "packets/kernel_probe.h"

namespace pbxwall::cli {
namespace {

struct DoctorOptions {
  std::string asterisk_root;  // empty: [pbx] asterisk_root
  std::string state_dir = "/var/lib/pbxwall";
};

// `list ruleset` through libnftables, as JSON.
Result<nlohmann::json> nft_ruleset_json() {
  std::unique_ptr<nft_ctx, decltype(&nft_ctx_free)> nft(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!nft) return fail(std::string("cannot create a libnftables context"));
  nft_ctx_output_set_flags(nft.get(), NFT_CTX_OUTPUT_JSON);
  nft_ctx_buffer_output(nft.get());
  nft_ctx_buffer_error(nft.get());
  if (nft_run_cmd_from_buffer(nft.get(), "list ruleset") != 0) {
    std::string why = nft_ctx_get_error_buffer(nft.get());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return fail(std::string(why.empty() ? "list ruleset failed" : why));
  }
  auto parsed = nlohmann::json::parse(nft_ctx_get_output_buffer(nft.get()), nullptr, false);
  if (parsed.is_discarded()) return fail(std::string("libnftables printed JSON that does not parse"));
  return parsed;
}

// The output of a command (stderr discarded), or "" when it cannot run.
std::string command_output(const std::string& command) {
  std::string out;
  std::unique_ptr<FILE, decltype(&pclose)> p(popen((command + " 2>/dev/null").c_str(), "r"), pclose);
  if (!p) return out;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p.get())) > 0) out.append(buf.data(), n);
  return out;
}

bool file_nonempty(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  return in && std::getline(in, line) && !line.empty();
}

bool kernel_module_available(const std::string& name) {
  std::error_code ec;
  // Loaded or built in: its /proc/net/netfilter entry or /sys/module entry is there.
  if (std::filesystem::exists("/proc/net/netfilter/" + name, ec) || std::filesystem::exists("/sys/module/" + name, ec))
    return true;
  utsname u{};
  if (uname(&u) != 0) return false;
  std::ifstream deps(std::string("/lib/modules/") + u.release + "/modules.builtin");
  std::ifstream loadable(std::string("/lib/modules/") + u.release + "/modules.dep");
  for (auto* in : {&deps, &loadable}) {
    std::string line;
    while (in->good() && std::getline(*in, line))
      if (line.find("/" + name + ".ko") != std::string::npos) return true;
  }
  return false;
}

// A TCP connection with a deadline; -1 and `why` on failure.
int connect_tcp(const std::string& host, std::uint16_t port, int timeout_ms, std::string& why) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    why = gai_strerror(rc);
    return -1;
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
  for (auto* a = found; a != nullptr; a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (poll(&p, 1, timeout_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) return fd;
      why = err != 0 ? std::strerror(err) : "no answer within " + std::to_string(timeout_ms) + " ms";
    } else {
      why = std::strerror(errno);
    }
    close(fd);
  }
  return -1;
}

// Reads from fd until `done` says the text is complete, within the deadline.
bool read_until(int fd, std::string& text, int timeout_ms, const std::function<bool(const std::string&)>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done(text)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
    std::array<char, 1024> buf{};
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n <= 0) return false;
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  return true;
}

// "" when Asterisk's manager accepts the login, else why not.
std::string ami_login(const daemon::AmiSettings& ami) {
  std::string why;
  const int fd = connect_tcp(ami.client.host, ami.client.port, 3000, why);
  if (fd < 0) return "cannot connect: " + why;
  std::string text;
  std::string result;
  if (!read_until(fd, text, 3000, [](const std::string& t) { return t.find('\n') != std::string::npos; })) {
    result = "no Asterisk Call Manager greeting";
  } else {
    const std::string login = "Action: Login\r\nActionID: pbxwall-doctor\r\nUsername: " + ami.client.username +
                              "\r\nSecret: " + ami.client.secret + "\r\nEvents: off\r\n\r\n";
    text.clear();
    if (write(fd, login.data(), login.size()) != static_cast<ssize_t>(login.size())) {
      result = "cannot send the login";
    } else if (!read_until(fd, text, 3000, [](const std::string& t) { return t.find("\r\n\r\n") != std::string::npos; })) {
      result = "no answer to the login";
    } else if (text.find("Response: Success") == std::string::npos) {
      const auto m = text.find("Message: ");
      result = m == std::string::npos ? "login refused" : "login refused: " + text.substr(m + 9, text.find('\r', m) - m - 9);
    } else {
      const std::string logoff = "Action: Logoff\r\n\r\n";
      (void)!write(fd, logoff.data(), logoff.size());
    }
  }
  close(fd);
  return result;
}

std::vector<std::string> active_units() {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists("/run/systemd/system", ec)) return out;
  for (const char* unit : {"ufw", "firewalld", "docker", "fail2ban"}) {
    if (command_output(std::string("systemctl is-active ") + unit + ".service") == "active\n") out.push_back(unit);
  }
  return out;
}

DoctorFacts gather(Context& ctx, const DoctorOptions& o) {
  DoctorFacts f;
  f.state_dir = o.state_dir;
  auto config = load_config(ctx);  // its errors are printed; the checks go on with defaults
  model::Policy policy;
  std::optional<daemon::DaemonSections> sections;
  if (config) {
    policy = config->policy;
    if (auto s = daemon::daemon_sections_from(*config); s.ok()) sections = *s;
  }
  f.firewall_enabled = policy.enabled;
  f.responsive_enabled = policy.responsive.enabled;

  // Kernel.
  auto ruleset = nft_ruleset_json();
  f.nftables_ok = ruleset.ok();
  if (ruleset.ok()) f.nft_ruleset = *ruleset;
  else f.nftables_error = ruleset.error();
  f.nflog_ok = kernel_module_available("nfnetlink_log");
  if (sections) {
    switch (sections->packet_path.choice) {
      case ruleset::PacketPathChoice::automatic: f.packet_path = "auto"; break;
      case ruleset::PacketPathChoice::log: f.packet_path = "log"; break;
      case ruleset::PacketPathChoice::queue: f.packet_path = "queue"; break;
      case ruleset::PacketPathChoice::external_queue: f.packet_path = "external-queue"; break;
    }
  }
  if (f.nftables_ok && (f.packet_path == "auto" || f.packet_path == "queue")) {
    const std::uint16_t queue_num = sections ? sections->packet_path.queue_num : 1;
    if (auto q = packets::probe_queue_support(ctx.kernel(), queue_num); q.ok()) {
      f.queue_ok = q->supported;
      f.queue_detail = q->detail;
    } else {
      f.queue_detail = "the probe failed: " + q.error().substr(0, q.error().find('\n'));
    }
  }

  // Other firewalls.
  for (const char* family : {"ip", "ip6"}) {
    const std::string names = std::string("/proc/net/") + family + "_tables_names";
    if (file_nonempty(names)) f.iptables_legacy += command_output(std::string(family) + "tables-legacy-save");
  }
  f.active_units = active_units();
  for (const char* name : {"sip", "iax", "rtp"}) {
    if (const auto* s = policy.find_service(name))
      for (const auto& r : s->ports) {
        f.pbx_ports.push_back(r.first);
        if (r.last != r.first) f.pbx_ports.push_back(r.last);
      }
  }

  // The PBX.
  f.asterisk_root = !o.asterisk_root.empty() ? o.asterisk_root
                    : sections ? sections->integration.pbx.asterisk_root
                               : std::string(pbx::kDefaultAsteriskRoot);
  std::error_code ec;
  if (std::filesystem::is_directory(f.asterisk_root, ec)) {
    pbx::DiskFileSystem fs;
    f.pbx = pbx::discover(fs, f.asterisk_root);
    std::set<std::string> asked;  // a host named by several trunks or URIs is reported once
    for (const auto& trunk : f.pbx->trunks) {
      if (trunk.network || !asked.insert(trunk.host).second) continue;
      addrinfo hints{};
      hints.ai_socktype = SOCK_DGRAM;
      addrinfo* found = nullptr;
      if (int rc = getaddrinfo(trunk.host.c_str(), nullptr, &hints, &found); rc != 0) {
        std::string where = trunk.references.empty() ? "" : trunk.references.front().trunk;
        f.unresolved_trunks.push_back({trunk.host, where, gai_strerror(rc)});
      } else {
        freeaddrinfo(found);
      }
    }
  }
  for (const char* name : {"sip", "iax"}) {
    if (const auto* s = policy.find_service(name)) {
      DoctorFacts::ServicePorts sp{name, {}, s->ports_configured};
      for (const auto& r : s->ports) sp.ports.push_back(r.str());
      f.services.push_back(sp);
    }
  }

  // AMI and the web UI.
  if (sections && sections->ami.enabled) {
    f.ami_enabled = true;
    f.ami_target = sections->ami.client.host + ":" + std::to_string(sections->ami.client.port);
    f.ami_login_error = ami_login(sections->ami);
  }
  const toml::table* web = config && config->table ? (*config->table)["web"].as_table() : nullptr;
  if (auto w = http::web_settings_from_toml(web, ctx.config_path); w.ok()) {
    f.web_enabled = w->enabled;
    f.web_listen = w->listen;
    f.web_tls = w->tls();
    f.web_password_set = std::filesystem::exists(w->password_file, ec);
  }

  // State, clock, daemon.
  if (!std::filesystem::is_directory(f.state_dir, ec)) f.state_dir_error = "no such directory";
  else if (access(f.state_dir.c_str(), W_OK) != 0) f.state_dir_error = std::strerror(errno);
  timex tx{};
  const int clock_state = adjtimex(&tx);
  if (clock_state >= 0) f.clock_synchronized = clock_state != TIME_ERROR && (tx.status & STA_UNSYNC) == 0;
  if (f.nftables_ok) {
    auto table = ctx.kernel().list_table();
    f.table_present = table.ok() && !table->empty();
  }
  auto status = call_daemon(control_socket_path(ctx.run_dir), {{"cmd", "status"}}, std::chrono::seconds(5));
  f.daemon_running = status.ok();
  if (!status.ok()) f.daemon_error = status.error().message;
  return f;
}

}  // namespace

void add_doctor_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<DoctorOptions>();
  auto* cmd = app.add_subcommand(
      "doctor",
      "What on this machine keeps pbxwall from working (kernel, other firewalls, the PBX, trunks, AMI, web UI, "
      "state, clock, daemon), each finding with what to do. Exit status 0: all well; 1: warnings; 2: errors");
  cmd->add_option("--asterisk-root", o->asterisk_root, "Asterisk configuration directory (default: [pbx] asterisk_root)");
  cmd->add_option("--state-dir", o->state_dir, "pbxwalld's state directory")->capture_default_str();
  cmd->callback([&ctx, o] {
    const auto findings = diagnose(gather(ctx, *o));
    if (ctx.json) ctx.o() << findings_to_json(findings).dump() << "\n";
    else ctx.o() << findings_to_text(findings);
    ctx.exit_status = doctor_exit_status(findings);
  });
}

}  // namespace pbxwall::cli
