// pbxwalld's link to CrowdSec's Local API (LAPI), for a fleet of servers that share their
// blocks. As a watcher it pushes every block this server takes (alerts with a ban decision)
// and an operator's unblocks (deletes of those decisions), through a bounded queue kept in the
// state database while the LAPI cannot be reached. As a bouncer it pulls the decision stream
// every pull_interval and applies each pull to the kernel sets crowdsec4/6 (addresses) and
// crowdsec_nets4/6 (networks) in one transaction, leaving trusted networks, trunks and
// validated sources open. HTTP runs on a thread of its own; everything else on the daemon's
// loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/time.h"
#include "crowdsec/crowdsec.h"
#include "daemon/block_listing.h"
#include "ruleset/ruleset.h"
#include "store/store.h"

namespace asio {
class io_context;
}

namespace pbxwall::daemon {

class Firewall;

struct CrowdsecCounters {
  std::uint64_t pulls = 0;
  std::uint64_t pull_failures = 0;
  std::uint64_t decisions_added = 0;
  std::uint64_t decisions_deleted = 0;
  std::uint64_t own = 0;       // this server's own decisions, already enforced
  std::uint64_t filtered = 0;
  std::uint64_t skipped = 0;
  std::uint64_t spared = 0;
  std::map<std::string, std::uint64_t> spared_by_reason;  // by Firewall::spare_kind
  std::uint64_t kernel_failures = 0;
  std::uint64_t pushed = 0;     // items the LAPI accepted
  std::uint64_t push_failures = 0;
  std::map<std::string, std::uint64_t> applied_by_origin;
};

// Loads the configuration file at `path` and reads its [crowdsec] section; errors as text.
Result<crowdsec::CrowdsecSettings, std::string> load_crowdsec_settings(const std::string& path);

class CrowdsecBridge {
 public:
  using Log = std::function<void(int priority, const std::string& text)>;

  // `firewall`, `store` and `clock` must outlive the bridge.
  CrowdsecBridge(asio::io_context& io, Firewall& firewall, store::StateStore& store, const Clock& clock,
                 crowdsec::CrowdsecSettings settings, Log log = {});
  ~CrowdsecBridge();
  CrowdsecBridge(const CrowdsecBridge&) = delete;
  CrowdsecBridge& operator=(const CrowdsecBridge&) = delete;

  // Puts back the pushes a previous run left, pulls the whole stream, then ticks.
  void start();

  // Every decision the Firewall recorded: blocks go to the push queue, an operator's unblocks too.
  void on_event(const store::EventRecord& e);

  // What the kernel sets crowdsec4/6 and crowdsec_nets4/6 hold, for rendering the table anew.
  std::vector<ruleset::BlockedNetEntry> kernel_content(TimePoint now) const;
  // Adds "crowdsec" to status, overview and metrics answers.
  void extend(const std::string& cmd, const nlohmann::json& request, nlohmann::json& answer) const;
  // The pulled bans, for `list blocked`.
  BlockSection block_section() const;
  nlohmann::json status_json() const;
  const CrowdsecCounters& counters() const { return counters_; }

 private:
  struct Worker;
  void tick();
  void schedule_tick();
  void pull();
  void on_pulled(Result<crowdsec::HttpAnswer> answer, bool startup, TimePoint asked);
  void pull_failed(const std::string& why, TimePoint now);
  void push();
  void on_pushed(std::size_t done, std::string error);
  void queue(crowdsec::PushItem item);

  asio::io_context& io_;
  Firewall& firewall_;
  store::StateStore& store_;
  const Clock& clock_;
  crowdsec::CrowdsecSettings settings_;
  Log log_;
  std::unique_ptr<Worker> worker_;
  struct Timer;
  std::unique_ptr<Timer> timer_;
  std::shared_ptr<bool> alive_;

  crowdsec::SharedBlocks shared_;
  crowdsec::PushQueue queue_;
  crowdsec::Backoff pull_backoff_;
  bool pull_in_flight_ = false;
  bool need_startup_ = true;
  bool kernel_dirty_ = true;     // the next kernel write replaces the sets' whole content
  bool push_posted_ = false;
  std::optional<TimePoint> last_pull_;
  std::optional<TimePoint> last_pull_started_;
  std::string pull_error_;       // empty while the LAPI answers
  std::string push_error_;
  bool pull_up_ = false;
  CrowdsecCounters counters_;
};

}  // namespace pbxwall::daemon
