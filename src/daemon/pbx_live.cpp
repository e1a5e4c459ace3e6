#include "daemon/pbx_live.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/plural.h"
#include "daemon/vpn_clients.h"
#include "pbx/discovery.h"

namespace pbxwall::daemon {

namespace {

constexpr std::uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                                     IN_DELETE_SELF | IN_MOVE_SELF;

std::string read_small_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str().substr(0, 4u << 20);
}

// Output of `wg show all dump`, empty when wg is missing or fails. Run from the poll timer
// only; the command answers from the kernel without network traffic.
std::string wireguard_dump() {
  std::string out;
  FILE* p = ::popen("wg show all dump 2>/dev/null", "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0 && out.size() < (4u << 20)) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

}  // namespace

PbxLive::PbxLive(asio::io_context& io, Firewall& firewall, std::unique_ptr<dns::Resolver> resolver,
                 const pbx::FileSystem& files, const Clock& clock, Log log)
    : io_(io),
      firewall_(firewall),
      resolver_(std::move(resolver)),
      files_(files),
      clock_(clock),
      log_(std::move(log)),
      lookup_timer_(io),
      debounce_(io),
      vpn_timer_(io) {}

PbxLive::~PbxLive() { stop(); }

void PbxLive::stop() {
  stopped_ = true;
  lookup_timer_.cancel();
  debounce_.cancel();
  vpn_timer_.cancel();
  if (inotify_) {
    inotify_->close();  // closes the inotify descriptor
    inotify_.reset();
    inotify_fd_ = -1;
  }
  lookup_thread_.join();
}

void PbxLive::refresh() {
  const auto& settings = firewall_.integration();
  trunks_.set_bounds({settings.pbx.dns_min_refresh, settings.pbx.dns_max_refresh, settings.pbx.dns_min_refresh});
  enabled_ = reads_pbx(settings.pbx);
  if (enabled_) {
    discover();
  } else {
    view_ = {};
    (void)firewall_.set_discovered_ports(std::nullopt);
    firewall_.set_discovered_accounts({});
    (void)firewall_.set_trunks({});
    watch({});
  }
  vpn_timer_.cancel();
  if (settings.vpn.any()) poll_vpn();
}

void PbxLive::discover() {
  const auto& settings = firewall_.integration();
  const auto d = pbx::discover(files_, settings.pbx.asterisk_root);
  ++counters_.discoveries;
  for (const auto& diag : d.diagnostics) log_(4, "PBX configuration: " + diag.str());
  view_ = view_of(d);
  if (auto s = firewall_.set_discovered_ports(view_.ports); !s.ok()) log_(3, s.error());
  if (view_.accounts != firewall_.discovered_accounts())
    log_(6, "PBX configuration: " + counted(static_cast<std::int64_t>(view_.accounts.size()), "account name") +
                " (extensions, auth usernames, IAX2 peers)");
  firewall_.set_discovered_accounts(view_.accounts);
  trunks_.set_names(view_.trunk_names, clock_.now());
  trunks_.refresh_all(clock_.now());  // the configuration changed: ask again now
  push_trunks();
  watch(view_.watch_directories);
  schedule_lookups();
}

void PbxLive::watch(const std::vector<std::string>& directories) {
  if (directories == watched_ && inotify_) return;
  if (inotify_) {
    inotify_->close();
    inotify_.reset();
  }
  watched_ = directories;
  if (directories.empty()) return;
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    log_(4, "cannot watch the PBX configuration (inotify): changes are picked up on reload only");
    return;
  }
  for (const auto& dir : directories)
    if (::inotify_add_watch(inotify_fd_, dir.c_str(), kWatchMask) < 0 && dir == directories.front())
      log_(6, "not watching " + dir + " (missing?)");
  inotify_ = std::make_unique<asio::posix::stream_descriptor>(io_, inotify_fd_);
  wait_file_events();
}

void PbxLive::wait_file_events() {
  inotify_->async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec || stopped_ || !inotify_) return;
    alignas(inotify_event) std::array<char, 8192> buf{};
    while (::read(inotify_fd_, buf.data(), buf.size()) > 0) ++counters_.file_events;
    // A save is often several events (write, rename, backup file): wait for quiet.
    debounce_.expires_after(firewall_.integration().pbx.debounce);
    debounce_.async_wait([this](std::error_code dec) {
      if (dec || stopped_) return;
      log_(6, "PBX configuration changed; reading it again");
      discover();
    });
    wait_file_events();
  });
}

void PbxLive::push_trunks() {
  std::vector<Cidr> all = view_.trunk_networks;
  for (const auto& a : trunks_.addresses()) all.emplace_back(a, a.is_v4() ? 32 : 128);
  const auto before = firewall_.trunks();
  if (auto s = firewall_.set_trunks(all); !s.ok()) {
    log_(3, s.error());
  } else if (firewall_.trunks() != before) {
    ++counters_.trunk_updates;
    log_(6, "trunks: " + counted(static_cast<std::int64_t>(firewall_.trunks().size()), "network"));
  }
}

void PbxLive::schedule_lookups() {
  if (!resolver_ || lookups_running_ || stopped_) return;
  const auto next = trunks_.next_due();
  if (!next) return;
  const Duration wait = *next > clock_.now() ? *next - clock_.now() : Duration(0);
  lookup_timer_.expires_after(wait);
  lookup_timer_.async_wait([this](std::error_code ec) {
    if (!ec && !stopped_) run_lookups();
  });
}

void PbxLive::run_lookups() {
  auto questions = trunks_.due(clock_.now());
  if (questions.empty()) {
    schedule_lookups();
    return;
  }
  lookups_running_ = true;
  counters_.lookups += questions.size();
  asio::post(lookup_thread_, [this, questions = std::move(questions)] {
    std::vector<std::pair<dns::Question, dns::Answer>> answers;
    for (const auto& q : questions) answers.emplace_back(q, resolver_->lookup(q));
    asio::post(io_, [this, answers = std::move(answers)] {
      lookups_running_ = false;
      if (stopped_) return;
      bool changed = false;
      for (const auto& [q, a] : answers) {
        if (a.status == dns::AnswerStatus::failure && !a.error.empty())
          log_(7, std::string("DNS ") + dns::to_string(q.type) + " " + q.name + ": " + a.error + " (last answer kept)");
        changed |= trunks_.on_answer(q, a, clock_.now());
      }
      if (changed) push_trunks();
      log_trunk_changes();
      run_lookups();  // SRV answers may have made target questions due
    });
  });
}

void PbxLive::extend(const std::string& cmd, nlohmann::json& answer) const {
  add_trunk_status(cmd, view_.trunk_hosts, trunks_.states(), resolver_ ? "" : "pbxwalld has no DNS resolver (see its start log)",
                   answer);
}

// A trunk that stops or starts resolving is said once, at warning level when it stops: until
// it resolves, its packets are not trusted.
void PbxLive::log_trunk_changes() {
  const auto items = trunk_status_json(view_.trunk_hosts, trunks_.states());
  for (const auto& st : trunks_.states()) {
    if (st.health == dns::TrunkHealth::pending) continue;
    const bool bad = st.health != dns::TrunkHealth::resolved;
    auto it = logged_health_.find(st.name);
    if (it != logged_health_.end() && it->second == st.health) continue;
    const bool first = it == logged_health_.end();
    logged_health_[st.name] = st.health;
    if (first && !bad) continue;
    for (const auto& item : items)
      if (item.value("state", "") != "literal" && item.value("host", "") == st.name) log_(bad ? 4 : 6, trunk_status_line(item));
  }
}

void PbxLive::poll_vpn() {
  const auto& vpn = firewall_.integration().vpn;
  std::vector<IpAddress> present;
  if (!vpn.openvpn_status.empty()) {
    auto found = openvpn_clients(read_small_file(vpn.openvpn_status));
    present.insert(present.end(), found.begin(), found.end());
  }
  if (vpn.wireguard) {
    // A peer that stopped talking to us stops refreshing its handshake after ~2 minutes.
    auto found = wireguard_clients(wireguard_dump(), clock_.now(), std::chrono::minutes(3));
    present.insert(present.end(), found.begin(), found.end());
  }
  ++counters_.vpn_polls;
  firewall_.set_vpn_clients(present);
  vpn_timer_.expires_after(vpn.poll);
  vpn_timer_.async_wait([this](std::error_code ec) {
    if (!ec && !stopped_) poll_vpn();
  });
}

}  // namespace pbxwall::daemon
