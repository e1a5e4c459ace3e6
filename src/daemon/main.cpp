// pbxwalld: the live responsive firewall. One Asio event loop owns all state: it reads the
// packets that nftables `log group` rules copy (or that a queue holds for its verdict), feeds
// them to the responsive engine, and sends the decisions of each loop tick to the kernel sets
// in one transaction.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <systemd/sd-daemon.h>

#include "base/version.h"
#include "daemon/ami_bridge.h"
#include "base/plural.h"
#include "daemon/control_server.h"
#include "daemon/blocklist_feeds.h"
#include "daemon/crowdsec_bridge.h"
#include "daemon/firewall.h"
#include "daemon/pbx_live.h"
#include "daemon/pbx_view.h"
#include "daemon/table_healer.h"
#include "dns/cares_resolver.h"
#include "http/server.h"
#include "model/model.h"
#include "packets/background_conntrack_flusher.h"
#include "packets/kernel_probe.h"
#include "packets/nflog_source.h"
#include "packets/netlink_set_reader.h"
#include "packets/netlink_set_writer.h"
#include "packets/queue_source.h"

namespace {

using namespace pbxwall;

// journald reads "<N>" at the start of a stderr line as the syslog priority.
// One write per line (stderr is unbuffered: a line written in pieces costs a system call each).
void log(int priority, const std::string& text) {
  const std::string line = "<" + std::to_string(priority) + ">" + text + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

struct Options {
  std::string config = "/etc/pbxwall/pbxwall.toml";
  std::string state = "/var/lib/pbxwall/state.db";
  std::string run_dir = "/run/pbxwall";
  int housekeeping_seconds = 5;
  int reconcile_seconds = 30;
  std::string web_root;  // overrides [web] root
};

// One pbxwalld per run directory: an exclusive flock on <run-dir>/pbxwalld.pid, held for the
// process's life and taken before anything is opened or applied. Returns the descriptor, or -1
// (and says why) when another daemon holds it.
int lock_run_dir(const std::string& run_dir) {
  const std::string path = run_dir + "/pbxwalld.pid";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    log(3, "cannot open " + path + ": " + std::strerror(errno));
    return -1;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    const ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    log(3, "another pbxwalld is running (pid " + (holder.empty() ? std::string("unknown") : holder) + ", lock " + path +
               "); this one exits and changes nothing");
    ::close(fd);
    return -1;
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    log(4, "cannot write the pid to " + path + ": " + std::strerror(errno));
  return fd;
}

int run(const Options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.run_dir, ec);
  if (lock_run_dir(o.run_dir) < 0) return 1;
  SystemClock clock;
  // A damaged database is moved aside (and named in the log, the status and the web UI);
  // start() then reads the blocks still in the kernel sets back into the new one.
  auto state_file = store::open_state_file(o.state, clock.now());
  if (!state_file.ok()) {
    log(3, "cannot open the state database " + o.state + ": " + state_file.error());
    return 1;
  }
  if (state_file->set_aside)
    log(3, "the state database " + o.state + " was damaged (" + state_file->set_aside->why + "); moved it to " +
               state_file->set_aside->path + " and started a new one");
  auto store = std::move(state_file->store);
  const int schema_at_open = store->schema_version_at_open();
  const int schema = store->schema_version();
  if (schema_at_open > 0 && schema_at_open < schema)
    log(5, "the state database " + o.state + " was migrated from schema version " + std::to_string(schema_at_open) +
               " to " + std::to_string(schema));
  kernel::NftApplier applier;
  // Set updates go straight to netlink: libnftables would read every zone network of the
  // table before each one (see packets/netlink_set_writer.h).
  auto sets = packets::NetlinkSetWriter::open(applier);
  if (!sets.ok()) {
    log(3, "cannot open the kernel's nftables interface: " + sets.error());
    return 1;
  }
  auto conntrack = packets::NetlinkConntrackFlusher::open();
  if (!conntrack.ok()) {
    log(3, "cannot open conntrack: " + conntrack.error());
    return 1;
  }
  // The table walk runs beside the event loop, so a tick's block does not delay the next packet.
  packets::BackgroundConntrackFlusher conntrack_worker(std::move(*conntrack));
  // The inline path (nftables `queue`, verdicts before the PBX sees a packet) needs kernel
  // support that many kernels lack; the log-group path works on every nf_tables kernel.
  daemon::FirewallOptions firewall_options;
  firewall_options.config_path = o.config;
  firewall_options.state_set_aside = state_file->set_aside;
  firewall_options.state_schema = schema;
  firewall_options.state_schema_at_open = schema_at_open;
  firewall_options.pending_change_path =
      (std::filesystem::path(o.state).parent_path() / "pending-change.json").string();
  // Asked with the configured queue number when the configuration is loaded.
  firewall_options.probe_queue = [&applier](std::uint16_t queue_num) {
    auto answer = packets::probe_queue_support(applier, queue_num);
    if (answer.ok()) return *answer;
    return packets::ProbeAnswer{false, "the probe failed: " + answer.error()};
  };
  // What other programs do to the table (`nft flush ruleset`, a deleted set) is put back; the
  // watch is opened before the first apply, so no change after it goes unseen. The daemon's
  // own applies run outside its group (see TableWatch::unheard).
  auto table_watch = packets::TableWatch::open();
  if (!table_watch.ok()) log(4, "changes to table inet pbxwall by other programs will be found by periodic checks only: " + table_watch.error());
  packets::UnheardApplier unheard_applier(applier, table_watch.ok() ? table_watch->get() : nullptr);
  packets::UnheardSetUpdater unheard_sets(**sets, table_watch.ok() ? table_watch->get() : nullptr);
  daemon::Firewall firewall({unheard_applier, unheard_sets, conntrack_worker, *store, clock}, firewall_options);
  auto kernel_reader = packets::NetlinkSetReader::open();
  if (kernel_reader.ok()) firewall.set_kernel_reader(kernel_reader->get());
  else log(4, "cannot read the kernel's sets: " + kernel_reader.error());

  pbx::DiskFileSystem pbx_files;
  // The PBX's ports as PbxLive::refresh() reads them below, so that it finds nothing new.
  firewall.set_port_discovery(
      [&pbx_files](const daemon::IntegrationSettings& settings) -> std::optional<ruleset::DiscoveredPorts> {
        if (!daemon::reads_pbx(settings.pbx)) return std::nullopt;
        return daemon::view_of(pbx::discover(pbx_files, settings.pbx.asterisk_root)).ports;
      });
  if (auto started = firewall.start(); !started.ok()) {
    log(3, "not starting: " + started.error());
    return 1;
  }
  if (const auto& r = firewall.kernel_recovery(); r.blocks > 0 || r.validated > 0)
    log(4, "state database " + o.state + ": " + counted(r.blocks, "block") + " and " + counted(r.validated, "validation") +
               " it lacked were read back from the kernel sets of table inet pbxwall");
  const bool inline_path = firewall.packet_path() != ruleset::PacketPath::log_group;
  const auto groups = firewall.log_groups();  // input, output
  auto nflog = packets::NflogSource::open(inline_path ? std::vector<std::uint16_t>{groups.back()} : groups);
  if (!nflog.ok()) {
    log(3, "cannot read the packets copied by nftables: " + nflog.error());
    return 1;
  }
  std::unique_ptr<packets::QueueSource> queue;
  if (inline_path) {
    auto opened = packets::QueueSource::open(firewall.queue_num());
    if (!opened.ok()) {
      log(3, "cannot read the packets queued for verdicts: " + opened.error());
      return 1;
    }
    queue = std::move(*opened);
  }
  std::string mode;
  switch (firewall.packet_path()) {
    case ruleset::PacketPath::log_group: mode = "nftables log groups (observe mode)"; break;
    case ruleset::PacketPath::queue: mode = "nftables queue " + std::to_string(firewall.queue_num()) + " (inline verdicts)"; break;
    case ruleset::PacketPath::external:
      mode = "queue " + std::to_string(firewall.queue_num()) + " fed by a rule outside table inet pbxwall (inline verdicts)";
      break;
  }
  const auto& why = firewall.packet_path_explanation();
  mode += ": " + why.why;
  if (!why.inline_drops.empty()) mode += "; for inline drops " + why.inline_drops;
  log(6, "protecting with " + o.config + "; responsive packet path: " + mode);

  asio::io_context io;
  auto control = daemon::ControlServer::open(io, o.run_dir + "/control.sock", firewall);
  if (!control.ok()) {
    log(3, control.error());
    return 1;
  }
  (*control)->start();

  // The PBX's ports, trunks (kept fresh through DNS), VPN clients. The daemon starts without
  // DNS: lookups that fail keep being retried, and trunk addresses written literally apply.
  std::unique_ptr<dns::Resolver> resolver;
  if (auto r = dns::CaresResolver::open({.servers = firewall.integration().pbx.dns_servers}); r.ok())
    resolver = std::move(*r);
  else
    log(4, "trunk names will not be resolved: " + r.error());
  daemon::PbxLive pbx_live(io, firewall, std::move(resolver), pbx_files, clock, log);
  pbx_live.refresh();

  // The web UI's handlers run on the HTTP server's threads; each request is posted to this loop
  // and its thread waits for the answer (bounded, so a stuck loop gives 503, not a hung page).
  std::unique_ptr<http::Server> web;
  {
    auto config = model::load_file(o.config);
    const toml::table* section = config.ok() && config->table ? (*config->table)["web"].as_table() : nullptr;
    auto settings = http::web_settings_from_toml(section, o.config);
    if (!settings.ok()) {
      for (const auto& d : settings.error()) log(3, d.str());
      return 1;
    }
    if (!o.web_root.empty()) settings->root = o.web_root;
    if (settings->enabled) {
      auto call = [&io, &firewall, &pbx_live](const nlohmann::json& request) -> nlohmann::json {
        auto answer = std::make_shared<std::promise<nlohmann::json>>();
        auto future = answer->get_future();
        asio::post(io, [answer, request, &firewall, &pbx_live] {
          nlohmann::json a = firewall.handle(request);
          if (request.value("cmd", "") == "metrics") {  // the trunk names' DNS lookups
            const auto& dns = pbx_live.trunk_resolver().counters();
            a["dns_refreshes"] = dns.answers + dns.failures;
            a["dns_failures"] = dns.failures;
          }
          answer->set_value(std::move(a));
        });
        if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
          return {{"ok", false}, {"error", "the daemon did not answer in time"}, {"http_status", 503}};
        return future.get();
      };
      web = std::make_unique<http::Server>(*settings, call, clock);
      if (auto started = web->start(); !started.ok()) {
        log(3, started.error());
        return 1;
      }
      log(6, "web UI on " + std::string(settings->tls() ? "https" : "http") + "://" + settings->listen + ":" +
                 std::to_string(web->port()) + "/");
    }
  }
  // The fleet: this server's blocks pushed to CrowdSec's Local API, the others' bans pulled
  // into sets crowdsec4/6 and crowdsec_nets4/6. A changed [crowdsec] (checked by
  // Firewall::reload) restarts the bridge.
  std::unique_ptr<daemon::CrowdsecBridge> crowdsec;
  std::optional<crowdsec::CrowdsecSettings> crowdsec_settings;
  auto configure_crowdsec = [&] {
    auto settings = daemon::load_crowdsec_settings(o.config);
    if (!settings.ok()) {
      log(3, "[crowdsec] not applied: " + settings.error());
      return;
    }
    if (crowdsec_settings && *crowdsec_settings == *settings) return;
    crowdsec.reset();
    crowdsec_settings = *settings;
    if (!settings->enabled) {
      (void)firewall.apply_set_script(crowdsec::flush_script());
      return;
    }
    crowdsec = std::make_unique<daemon::CrowdsecBridge>(io, firewall, *store, clock, *settings,
                                                        [](int priority, const std::string& text) { log(priority, text); });
    crowdsec->start();
  };
  firewall.set_shared_blocks([&](TimePoint now) {
    return crowdsec ? crowdsec->kernel_content(now) : std::vector<ruleset::BlockedNetEntry>{};
  });
  configure_crowdsec();
  // Community blocklists, each in sets of its own; their last good copies are kept beside the
  // state database. The same lists on a reload are read or fetched again at once.
  std::unique_ptr<daemon::BlocklistFeeds> blocklists;
  const std::string blocklist_cache = (std::filesystem::path(o.state).parent_path() / "blocklists").string();
  auto configure_blocklists = [&] {
    auto sources = daemon::load_blocklist_sources(o.config);
    if (!sources.ok()) {
      log(3, "[[blocklists]] not applied: " + sources.error());
      return;
    }
    if (blocklists && blocklists->reads(*sources)) {
      blocklists->fetch_all();
      return;
    }
    if (!blocklists && sources->empty()) return;
    blocklists.reset();
    if (!sources->empty()) {
      blocklists = std::make_unique<daemon::BlocklistFeeds>(
          io, firewall, clock, blocklist_cache, *sources, [](int priority, const std::string& text) { log(priority, text); });
      blocklists->load_cache();
    }
    auto applied = firewall.set_blocklists([&] {
      return blocklists ? blocklists->kernel_content() : std::vector<ruleset::ListContent>{};
    });
    if (!applied.ok()) log(3, "blocklists: the table with their sets was refused: " + applied.error());
    else if (blocklists) blocklists->fetch_all();
  };
  configure_blocklists();
  firewall.set_block_sections([&] {
    std::vector<daemon::BlockSection> sections;
    if (crowdsec) sections.push_back(crowdsec->block_section());
    if (blocklists)
      for (auto& s : blocklists->block_sections()) sections.push_back(std::move(s));
    return sections;
  });
  firewall.set_request_extension([&](const std::string& cmd, const nlohmann::json& request, nlohmann::json& answer) {
    if (crowdsec) crowdsec->extend(cmd, request, answer);
    if (blocklists) blocklists->extend(cmd, request, answer);
    pbx_live.extend(cmd, answer);
  });

  firewall.set_event_sink([&](const store::EventRecord& e) {
    if (crowdsec) crowdsec->on_event(e);
    log(e.kind == "block" || e.kind == "restore" || e.kind == "refused" ? 4 : 6, e.kind + (e.address.empty() ? "" : " " + e.address) +
                                                          (e.user.empty() ? "" : " user " + e.user) + " (" + e.rule + "): " + e.reason);
    (*control)->publish(e);
    if (web) web->publish(daemon::event_json(e));
  });

  // The PBX's own word: security and registration events from Asterisk's Manager Interface.
  // Firewall::start()/reload() refused a bad [ami] already; a changed one restarts the client.
  std::unique_ptr<daemon::AmiBridge> ami;
  std::optional<daemon::AmiSettings> ami_settings;
  auto configure_ami = [&] {
    auto settings = daemon::load_ami_settings(o.config);
    if (!settings.ok()) {
      log(3, "[ami] not applied: " + settings.error());
      return;
    }
    if (ami_settings && *ami_settings == *settings) return;
    ami.reset();
    ami_settings = *settings;
    if (!settings->enabled) return;
    ami = std::make_unique<daemon::AmiBridge>(io, firewall, settings->client,
                                              [](int priority, const std::string& text) { log(priority, text); });
    ami->start();
    log(6, "AMI: connecting to " + settings->client.host + ":" + std::to_string(settings->client.port));
  };
  configure_ami();
  firewall.set_status_listener([&ami, &ami_settings](nlohmann::json& status) {
    if (ami) status["ami"] = ami->status_json();
    else if (ami_settings) status["ami"] = {{"state", "disabled"}};
  });
  // Every successful reload (SIGHUP, `pbxwall reload`, the web UI's edits) also reads the PBX
  // configuration again with the new [pbx]/[vpn] settings and applies a changed [ami].
  firewall.set_reload_listener([&] {
    pbx_live.refresh();
    configure_ami();
    configure_crowdsec();
    configure_blocklists();
  });

  asio::posix::stream_descriptor packets_fd(io, ::dup((*nflog)->fd()));
  std::function<void()> wait_packets = [&] {
    packets_fd.async_wait(asio::posix::stream_descriptor::wait_read, [&](std::error_code wec) {
      if (wec) return;
      auto drained = (*nflog)->drain([&](const packets::PacketView& p) { firewall.on_packet(p.group, p.payload, p.timestamp); });
      if (!drained.ok()) log(4, "reading packets: " + drained.error());
      firewall.flush();
      wait_packets();
    });
  };
  wait_packets();

  // Inline verdicts are given inside drain(), before the tick's decisions reach the kernel.
  std::unique_ptr<asio::posix::stream_descriptor> queue_fd;
  std::function<void()> wait_queue = [&] {
    queue_fd->async_wait(asio::posix::stream_descriptor::wait_read, [&](std::error_code qec) {
      if (qec) return;
      auto decided = queue->drain([&](const packets::QueuedPacket& p) {
        return firewall.on_queued_packet(p.payload, p.timestamp) ? packets::Verdict::drop : packets::Verdict::accept;
      });
      if (!decided.ok()) log(4, "reading queued packets: " + decided.error());
      firewall.flush();
      wait_queue();
    });
  };
  if (queue) {
    queue_fd = std::make_unique<asio::posix::stream_descriptor>(io, ::dup(queue->fd()));
    wait_queue();
  }

  // Failed database writes are kept and retried by the firewall; the log says when saving
  // stops and when it works again.
  bool state_failing = false;
  auto report_state_health = [&] {
    const auto& h = firewall.state_health();
    const bool failing = !h.ok;
    if (failing && !state_failing)
      log(3, "state database " + o.state + ": writes fail (" + h.error + "); " + counted(h.unsaved, "change") +
                 " kept in memory and retried");
    if (!failing && state_failing) log(5, "state database " + o.state + ": writing again, the waiting changes are saved");
    state_failing = failing;
  };

  asio::steady_timer housekeeping(io);
  std::function<void()> schedule_housekeeping = [&] {
    housekeeping.expires_after(std::chrono::seconds(o.housekeeping_seconds));
    housekeeping.async_wait([&](std::error_code hec) {
      if (hec) return;
      firewall.housekeeping();
      report_state_health();
      schedule_housekeeping();
    });
  };
  schedule_housekeeping();

  daemon::HealerOptions heal_options;
  heal_options.reconcile_ticks = static_cast<std::uint32_t>(o.reconcile_seconds);
  heal_options.own.portids.insert((*sets)->portid());
  heal_options.own.process_ids.insert(static_cast<std::uint32_t>(::getpid()));
  daemon::TableHealer healer(io, firewall, table_watch.ok() ? table_watch->get() : nullptr,
                             [](int priority, const std::string& text) { log(priority, text); }, heal_options);
  healer.start();

  std::uint64_t watchdog_usec = 0;
  asio::steady_timer watchdog(io);
  std::function<void()> schedule_watchdog = [&] {
    watchdog.expires_after(std::chrono::microseconds(watchdog_usec / 2));
    watchdog.async_wait([&](std::error_code wec) {
      if (wec) return;
      sd_notify(0, "WATCHDOG=1");
      schedule_watchdog();
    });
  };
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0) schedule_watchdog();

  asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](std::error_code sec, int signo) {
      if (sec) return;
      if (signo == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        // The same path as `pbxwall reload`: validated, and in safe mode when it is on.
        // Its listener refreshes the PBX side and AMI.
        daemon::ChangeRequest change;
        change.who = "SIGHUP";
        const auto answer = firewall.change(change);
        if (answer.value("ok", false)) {
          log(6, answer.contains("safe_mode")
                     ? "configuration reloaded in safe mode: `pbxwall confirm` within " +
                           std::to_string(answer["safe_mode"].value("confirm_within_seconds", 0)) +
                           " s keeps it, otherwise it is rolled back"
                     : "configuration reloaded");
        } else {
          log(3, answer.value("error", "reload refused"));
        }
        sd_notify(0, "READY=1");
        wait_signal();
        return;
      }
      // The table stays: its sets and the kernel safety net keep protecting while we are away.
      log(6, "stopping; the firewall table stays in place");
      sd_notify(0, "STOPPING=1");
      if (ami) ami->stop();
      healer.stop();
      crowdsec.reset();
      blocklists.reset();
      firewall.flush();
      if (web) web->stop();
      pbx_live.stop();
      io.stop();
    });
  };
  wait_signal();

  sd_notify(0, "READY=1");
  io.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"pbxwalld: the pbxwall firewall daemon"};
  app.set_version_flag("--version", std::string("pbxwalld ") + pbxwall::kVersion, "Print the version and exit");
  app.add_option("-c,--config", o.config, "configuration file")->capture_default_str();
  app.add_option("--state", o.state, "state database (SQLite)")->capture_default_str();
  app.add_option("--run-dir", o.run_dir, "directory of the control socket")->capture_default_str();
  app.add_option("--housekeeping", o.housekeeping_seconds, "seconds between expiry checks")->capture_default_str()->check(CLI::Range(1, 3600));
  app.add_option("--reconcile", o.reconcile_seconds, "seconds between checks of the kernel sets against the daemon's state")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400));
  app.add_option("--web-root", o.web_root, "directory of the web UI's files (overrides [web] root)");
  CLI11_PARSE(app, argc, argv);
  return run(o);
}
