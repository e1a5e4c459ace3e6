// Keeps the Firewall in step with the PBX while the daemon runs, inside the daemon's Asio loop:
// - discovery of the Asterisk configuration at start, on reload and when a file under the
//   watched directories changes (inotify, debounced);
// - trunk names resolved through DNS: the pure TrunkResolver decides what to ask when, the
//   lookups run one at a time on a worker thread (a c-ares lookup blocks for at most its
//   timeout) and the answers are posted back to the loop, which owns all state;
// - VPN clients polled on a timer.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include "daemon/firewall.h"
#include "daemon/pbx_view.h"
#include "dns/resolver.h"
#include "dns/trunk_resolver.h"
#include "pbx/filesystem.h"

namespace pbxwall::daemon {

struct PbxLiveCounters {
  std::uint64_t discoveries = 0;
  std::uint64_t file_events = 0;
  std::uint64_t lookups = 0;
  std::uint64_t trunk_updates = 0;
  std::uint64_t vpn_polls = 0;
};

class PbxLive {
 public:
  using Log = std::function<void(int priority, const std::string& text)>;
  // `resolver` may be null: trunk names are then not resolved (addresses still apply).
  PbxLive(asio::io_context& io, Firewall& firewall, std::unique_ptr<dns::Resolver> resolver,
          const pbx::FileSystem& files, const Clock& clock, Log log);
  ~PbxLive();
  PbxLive(const PbxLive&) = delete;
  PbxLive& operator=(const PbxLive&) = delete;

  // Reads the PBX configuration now and starts watching, resolving and polling according to
  // the Firewall's loaded settings. Called at start and after every reload.
  void refresh();
  // Stops timers and watches and waits for the lookup in progress.
  void stop();

  const PbxLiveCounters& counters() const { return counters_; }
  const PbxView& view() const { return view_; }
  const dns::TrunkResolver& trunk_resolver() const { return trunks_; }
  // Adds the trunks' state ("trunks", see trunk_status.h) to the answers of status, overview
  // and discover.
  void extend(const std::string& cmd, nlohmann::json& answer) const;

 private:
  void discover();
  void watch(const std::vector<std::string>& directories);
  void wait_file_events();
  void schedule_lookups();
  void run_lookups();
  void push_trunks();
  void poll_vpn();
  void log_trunk_changes();

  asio::io_context& io_;
  Firewall& firewall_;
  std::unique_ptr<dns::Resolver> resolver_;
  const pbx::FileSystem& files_;
  const Clock& clock_;
  Log log_;

  PbxView view_;
  dns::TrunkResolver trunks_;
  bool enabled_ = false;
  bool lookups_running_ = false;
  bool stopped_ = false;
  asio::thread_pool lookup_thread_{1};
  asio::steady_timer lookup_timer_;
  asio::steady_timer debounce_;
  asio::steady_timer vpn_timer_;
  int inotify_fd_ = -1;
  std::unique_ptr<asio::posix::stream_descriptor> inotify_;
  std::vector<std::string> watched_;
  PbxLiveCounters counters_;
  std::map<std::string, dns::TrunkHealth> logged_health_;  // what the log said last, per name
};

}  // namespace pbxwall::daemon
