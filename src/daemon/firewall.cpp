#include "daemon/firewall.h"

#include <netinet/in.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/ami_bridge.h"
#include "daemon/daemon_config.h"
#include "daemon/firewall_loaded.h"
#include "daemon/time_json.h"
#include "responsive/settings_toml.h"

namespace pbxwall::daemon {

using nlohmann::json;
using responsive::Action;
using responsive::Decision;

namespace {

std::string diagnostics_text(const Diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += d.str() + "\n";
  if (!s.empty()) s.pop_back();
  return s;
}

// Ports of one service after discovery, expanded (signalling services have a handful).
std::vector<std::uint16_t> service_ports(const std::vector<model::Service>& services, std::string_view name) {
  std::set<std::uint16_t> ports;
  for (const auto& s : services) {
    if (s.name != name) continue;
    for (const auto& r : s.ports)
      for (std::uint32_t p = r.first; p <= r.last && ports.size() < 64; ++p) ports.insert(static_cast<std::uint16_t>(p));
  }
  return {ports.begin(), ports.end()};
}

Duration remaining(TimePoint until, TimePoint now) { return until > now ? until - now : Duration(0); }

}  // namespace

Firewall::Firewall(Edges edges, FirewallOptions options)
    : sets_(std::make_unique<packets::RetryingSetUpdater>(edges.sets)),
      edges_{edges.applier, *sets_, edges.conntrack, edges.store, edges.clock},
      options_(std::move(options)),
      writes_(edges.store) {}
Firewall::~Firewall() = default;

const model::Policy* Firewall::policy() const { return loaded_ ? &loaded_->config.policy : nullptr; }
const model::LoadedConfig* Firewall::loaded_config() const { return loaded_ ? &loaded_->config : nullptr; }
const model::ResolvedHosts& Firewall::resolved_hosts() const {
  static const model::ResolvedHosts none;
  return loaded_ ? loaded_->resolved : none;
}

Result<std::unique_ptr<Firewall::Loaded>, Diagnostics> Firewall::load(const std::optional<std::string>& text) const {
  auto loaded = std::make_unique<Loaded>();
  if (text) {
    loaded->text = *text;
  } else {
    std::ifstream in(options_.config_path, std::ios::binary);
    std::ostringstream buf;
    if (in) buf << in.rdbuf();
    if (!in || in.bad() || std::filesystem::is_directory(options_.config_path)) {
      auto refused = model::load_file(options_.config_path);  // says why it cannot be read
      if (!refused.ok()) return fail(refused.error());
      return fail(Diagnostics{Diagnostic{Severity::error, options_.config_path, 0, 0, "", "read error"}});
    }
    loaded->text = buf.str();
  }
  auto config = model::load_string(loaded->text, options_.config_path);
  if (!config.ok()) return fail(config.error());
  loaded->config = std::move(*config);
  loaded->zones = ruleset::ZoneIndex::of_networks(model::zone_networks(loaded->config.policy, loaded->resolved));
  auto sections = daemon_sections_from(loaded->config);
  if (!sections.ok()) return fail(sections.error());
  const auto& path_setting = sections->packet_path;
  packets::ProbeAnswer kernel_queue;
  if (options_.probe_queue && (path_setting.choice == ruleset::PacketPathChoice::automatic ||
                               path_setting.choice == ruleset::PacketPathChoice::queue)) {
    if (!queue_probe_ || queue_probe_->first != path_setting.queue_num)
      queue_probe_.emplace(path_setting.queue_num, options_.probe_queue(path_setting.queue_num));
    kernel_queue = queue_probe_->second;
  }
  auto resolved_path = ruleset::resolve_packet_path(path_setting, kernel_queue.supported, kernel_queue.detail);
  if (!resolved_path.ok())
    return fail(Diagnostics{Diagnostic{Severity::error, options_.config_path, 0, 0, "responsive.packet_path",
                                       resolved_path.error()}});
  loaded->packet_path = *resolved_path;
  loaded->packet_path_explanation =
      ruleset::explain_packet_path(path_setting, *resolved_path, kernel_queue.supported, kernel_queue.detail);
  loaded->queue_num = sections->packet_path.queue_num;
  loaded->settings = std::move(sections->settings);
  loaded->integration = std::move(sections->integration);
  return loaded;
}

bool Firewall::never_block(const IpAddress& addr) const {
  if (!loaded_) return false;
  if (is_trunk(addr)) return true;  // the PBX's providers and branch offices
  // Trusted networks are accepted before the responsive path; a block would never apply and
  // would only confuse the admin reading the list.
  // The index holds the same networks zone_of walks, flattened (model::zone_of's answer).
  return loaded_->zones.zone_of(addr) == model::Zone::trusted;
}

ruleset::LiveState Firewall::live_state(TimePoint now, const std::vector<store::BlockRecord>* blocks) const {
  ruleset::LiveState live;
  std::vector<store::BlockRecord> read;
  if (blocks == nullptr) {
    read = writes_.active_blocks(now);
    blocks = &read;
  }
  live.blocked.reserve(blocks->size());
  for (const auto& b : *blocks)
    if (auto a = IpAddress::parse(b.address)) live.blocked.push_back({*a, remaining(b.until, now), b.reason});
    else if (auto net = Cidr::parse(b.address)) live.blocked_nets.push_back({*net, remaining(b.until, now), b.reason});
  for (const auto& v : writes_.active_validated(now))
    if (auto a = IpAddress::parse(v.address)) live.validated.push_back({*a, remaining(v.until, now)});
  return live;
}

Status<std::string> Firewall::apply(const Loaded& loaded, const std::vector<store::BlockRecord>* blocks) {
  const TimePoint now = edges_.clock.now();
  ruleset::RenderInput input{.policy = loaded.config.policy};
  input.resolved = loaded.resolved;
  input.live = live_state(now, blocks);
  input.discovered = discovered_;
  input.trunks = trunks_;
  input.live.grants = grants_.live(now);
  if (shared_blocks_) input.live.shared = shared_blocks_(now);
  if (lists_) input.live.lists = lists_();
  input.options.log_group_input = options_.log_group_input;
  input.options.log_group_output = options_.log_group_output;
  input.options.packet_path = packet_path_;
  input.options.queue_num = queue_num_;
  input.options.max_blocked = loaded.settings.max_blocked;
  blocks_held_ = input.live.blocked.size() + input.live.blocked_nets.size();
  auto applied = edges_.applier.apply(ruleset::render(input));
  if (applied.ok()) sets_->forgive();  // the new table holds the live state
  return applied;
}

std::unique_ptr<responsive::Engine> Firewall::make_engine() {
  // Both callbacks read the loaded configuration as it is at the time of the call, so a
  // reload's trunks, zones and [users] apply without a new engine.
  return std::make_unique<responsive::Engine>(
      loaded_->settings, [this](const IpAddress& a) { return never_block(a); },
      [this](std::string_view user) { return integration().users.allow_from(user); },
      [this](std::string_view user) { return known_account(user); });
}

std::optional<bool> Firewall::known_account(std::string_view user) const {
  const auto& configured = integration().pbx.accounts;
  if (configured.empty() && discovered_accounts_.empty()) return std::nullopt;
  return std::binary_search(configured.begin(), configured.end(), user, std::less<>{}) ||
         std::binary_search(discovered_accounts_.begin(), discovered_accounts_.end(), user, std::less<>{});
}

void Firewall::enforce_allow_from(TimePoint now) {
  // A validation from before the extension's allow_from was set or narrowed: the registration
  // it came from would be refused now, so it is treated the same way.
  // A name the engine kept only in part is left alone: its prefix may be another extension.
  // VPN clients (user "vpn", put back from the database after a restart) never registered.
  const auto& users = integration().users;
  if (users.default_allow_from.empty() && users.allow_from_by_user.empty()) return;  // anywhere
  decisions_.clear();
  for (const auto& source : engine_->snapshot())
    if (source.state == responsive::SourceState::validated && !source.user.empty() && source.user != "vpn" &&
        source.user.size() < responsive::kSourceUserBytes)
      engine_->registration_allowed(source.addr, now, source.user, decisions_);
  for (const auto& d : decisions_) take(d, now);
  if (!decisions_.empty()) flush();
}

std::vector<store::BlockRecord> Firewall::restore_from_store(TimePoint now) {
  // No decisions: the kernel sets are rendered from the same records (live_state).
  auto blocks = writes_.active_blocks(now);
  for (const auto& b : blocks) {
    const auto rule = responsive::rule_from_name(b.rule).value_or(responsive::Rule::manual);
    const auto times = static_cast<std::uint32_t>(std::clamp<std::int64_t>(b.times_blocked, 1, 255));
    if (auto addr = IpAddress::parse(b.address)) engine_->restore_block(*addr, now, b.until, rule, times);
    else if (auto net = Cidr::parse(b.address)) engine_->restore_network_block(*net, now, b.until);
  }
  for (const auto& v : writes_.active_validated(now))
    if (auto addr = IpAddress::parse(v.address)) engine_->restore_validation(*addr, now, v.user, v.until);
  // Addresses validated recently, for the spoofing guard (responsive rule 13).
  if (const Duration memory = loaded_->settings.validated_memory; memory > Duration(0))
    if (auto remembered = edges_.store.remembered_since(now - memory); remembered.ok())
      for (const auto& r : *remembered)
        if (auto addr = IpAddress::parse(r.address)) engine_->remember_validation(*addr, r.validated);
  return blocks;
}

Status<std::string> Firewall::start() {
  recover_pending_change(edges_.clock.now());
  auto loaded = load();
  if (!loaded.ok()) return fail(diagnostics_text(loaded.error()));
  loaded_ = std::move(*loaded);
  packet_path_ = loaded_->packet_path;
  queue_num_ = loaded_->queue_num;
  packet_path_explanation_ = loaded_->packet_path_explanation;
  if (port_discovery_) discovered_ = port_discovery_(loaded_->integration);
  engine_ = make_engine();
  rebuild_tap();
  const TimePoint now = edges_.clock.now();
  recover_from_kernel(now);
  // One read of the blocks for the engine and the table (1,000,000 rows: seconds each).
  const auto blocks = restore_from_store(now);
  auto applied = apply(*loaded_, &blocks);
  if (!applied.ok()) return applied;
  enforce_allow_from(now);
  ++counters_.reloads;
  return {};
}

Status<std::string> Firewall::reload() {
  auto loaded = load();
  if (!loaded.ok()) {
    ++counters_.refused_reloads;
    return fail("configuration refused, the running policy is kept:\n" + diagnostics_text(loaded.error()));
  }
  return replace_loaded(std::move(*loaded));
}

Status<std::string> Firewall::replace_loaded(std::unique_ptr<Loaded> loaded) {
  flush();  // the table about to be rendered must hold this tick's decisions
  auto applied = apply(*loaded);
  if (!applied.ok()) {
    ++counters_.refused_reloads;
    return fail("the kernel refused the new ruleset, the running policy is kept:\n" + applied.error());
  }
  const bool settings_changed = responsive::validate(loaded->settings).empty() &&
                                loaded->config.table && loaded_->config.table &&
                                !((*loaded->config.table)["responsive"] == (*loaded_->config.table)["responsive"]);
  loaded_ = std::move(loaded);
  grants_.recompute([this](const std::string& user) { return grant_ports_of(user); }, edges_.clock.now());
  if (settings_changed) {
    engine_ = make_engine();
    restore_from_store(edges_.clock.now());
  }
  enforce_allow_from(edges_.clock.now());
  rebuild_tap();
  ++counters_.reloads;
  table_removed_ = false;
  if (reload_listener_) reload_listener_();
  return {};
}

const IntegrationSettings& Firewall::integration() const {
  static const IntegrationSettings defaults;
  return loaded_ ? loaded_->integration : defaults;
}

void Firewall::rebuild_tap() {
  const auto services = ruleset::effective_services(loaded_->config.policy, discovered_);
  tap_ = std::make_unique<capture::SignallingTap>(
      capture::SignallingPorts{service_ports(services, "sip"), service_ports(services, "iax")});
}

Status<std::string> Firewall::remove_table() { return edges_.applier.apply(ruleset::render_remove()); }

void Firewall::on_packet(std::uint16_t group, std::span<const std::uint8_t> ip, std::optional<TimePoint> stamp) {
  (void)inspect(group == options_.log_group_input, ip, stamp);
}

bool Firewall::on_queued_packet(std::span<const std::uint8_t> ip, std::optional<TimePoint> stamp) {
  const std::uint64_t guarded = engine_ ? engine_->counters().spoof_guarded : 0;
  const auto source = inspect(true, ip, stamp);
  if (!source) return false;
  if (engine_->counters().spoof_guarded != guarded) {
    ++counters_.spoof_guard_drops;
    return true;
  }
  const auto view = engine_->source(*source);
  return view && view->state == responsive::SourceState::blocked;
}

std::optional<IpAddress> Firewall::inspect(bool inbound, std::span<const std::uint8_t> ip,
                                           std::optional<TimePoint> stamp) {
  if (!engine_) return std::nullopt;
  const TimePoint now = stamp.value_or(edges_.clock.now());
  if (inbound) {
    ++counters_.packets_in;
  } else {
    ++counters_.packets_out;
  }
  auto packet = decoder_.feed_ip(now, ip);
  if (!packet.ok()) {
    ++counters_.decode_errors;
    return std::nullopt;
  }
  if (!*packet) return std::nullopt;
  tap_->feed(**packet, inbound ? responsive::Direction::to_pbx : responsive::Direction::from_pbx,
             [&](const responsive::Observation& obs) {
               trail_.record(obs);
               decisions_.clear();
               engine_->observe(obs, now, decisions_);
               for (const auto& d : decisions_) take(d, now);
             });
  return (*packet)->src;
}

void Firewall::take(const Decision& d, TimePoint now) {
  using packets::SetElement;
  using packets::SetKey;
  // One more failure of a flagged device: its flag's count, no event (one per retry would bury the rest).
  if (d.action == Action::failed_again) {
    writes_.queue(store::FlagRecord{d.addr.str(), d.user, d.reason, now, now, d.failures});
    return;
  }
  trail_.record(d, now);
  if (d.action == Action::forget && pbx_word_.forgotten.erase(d.addr) > 0) return;  // forgotten on the PBX's word
  if (d.action == Action::validate) pbx_word_.forgotten.erase(d.addr);
  const std::string addr = d.addr.str();
  switch (d.action) {
    case Action::block: {
      if (refuse_at_ceiling(d, now)) return;
      if (!oldest_pending_block_ || now < *oldest_pending_block_) oldest_pending_block_ = now;
      const TimePoint until = d.until.value_or(now + std::chrono::hours(24));
      // A network block (rule address-rotation) goes to blocked_nets6 and is kept in the
      // store under the network's text; its members' own blocks were flushed already.
      if (d.network) {
        edges_.sets.add(SetElement{SetKey::blocked_net(*d.network), remaining(until, now), d.reason});
      } else {
        edges_.sets.add(SetElement{SetKey::blocked(d.addr), remaining(until, now), d.reason});
        to_flush_.push_back(d.addr);
      }
      writes_.queue(store::BlockRecord{d.network ? d.network->str() : addr, responsive::rule_name(d.rule), d.reason, now, until, 1});
      break;
    }
    case Action::unblock:
      if (d.network) {
        edges_.sets.remove(SetKey::blocked_net(*d.network));
        writes_.queue(RemoveBlock{d.network->str()});
      } else {
        edges_.sets.remove(SetKey::blocked(d.addr));
        writes_.queue(RemoveBlock{addr});
      }
      break;
    case Action::validate: {
      const TimePoint until = d.until.value_or(now + std::chrono::hours(1));
      edges_.sets.add(SetElement{SetKey::validated(d.addr), remaining(until, now), "user " + d.user});
      writes_.queue(store::ValidatedRecord{addr, d.user, until});
      writes_.queue(store::RememberedRecord{addr, d.user, now});  // the spoofing guard's memory
      break;
    }
    case Action::forget:
      edges_.sets.remove(SetKey::validated(d.addr));
      writes_.queue(RemoveValidation{addr});
      break;
    case Action::flag:
      writes_.queue(store::FlagRecord{addr, d.user, d.reason, now, now, d.failures});
      break;
    case Action::failed_again:
      break;
  }
  grant_for(d, now);
  record_event(d, now);
}

std::uint32_t Firewall::max_blocked() const {
  return loaded_ ? loaded_->settings.max_blocked : responsive::kDefaultMaxBlocked;
}

bool Firewall::refuse_at_ceiling(const Decision& d, TimePoint now) {
  const std::string key = d.network ? d.network->str() : d.addr.str();
  // A block in force already is only renewed: its element is in the set.
  if (writes_.is_active_block(key, now)) return false;
  if (blocks_held_ < max_blocked()) {
    ++blocks_held_;
    return false;
  }
  ++counters_.blocks_refused;
  if (!d.network && engine_) (void)engine_->unblock(d.addr, now);  // the engine must not count it blocked
  store::EventRecord e;
  e.time = now;
  e.kind = "refused";
  e.address = key;
  e.user = d.user;
  e.rule = responsive::rule_name(d.rule);
  e.reason = "not blocked: the sets hold " + std::to_string(max_blocked()) +
             " blocks, the ceiling ([responsive] max_blocked); the block was for: " + d.reason;
  pending_events_.push_back(std::move(e));
  return true;
}

void Firewall::record_event(const Decision& d, TimePoint now) {
  store::EventRecord e;
  e.time = now;
  e.kind = responsive::action_name(d.action);
  e.address = d.network ? d.network->str() : d.addr.str();
  e.user = d.user;
  e.rule = responsive::rule_name(d.rule);
  e.reason = d.reason;
  pending_events_.push_back(e);
}

void Firewall::flush() {
  if (edges_.sets.pending() > 0) {
    const TimePoint commit_start = edges_.clock.now();
    auto committed = edges_.sets.commit();
    const TimePoint committed_at = edges_.clock.now();
    set_update_latency_.observe(committed_at - commit_start);
    if (committed.ok()) {
      ++counters_.kernel_commits;
      if (oldest_pending_block_) block_latency_.observe(std::max(committed_at - *oldest_pending_block_, Duration(0)));
    } else {
      ++counters_.kernel_failures;
    }
  }
  oldest_pending_block_.reset();
  if (!to_flush_.empty()) {
    (void)edges_.conntrack.flush_udp(to_flush_);
    to_flush_.clear();
  }
  if (!writes_.has_work() && pending_events_.empty()) return;
  auto events = std::move(pending_events_);
  pending_events_.clear();
  // A failed write stays queued and is retried (state_writer.h); counters_ mirror its failures.
  (void)writes_.write(events, edges_.clock.now());
  counters_.store_failures = writes_.health().failures;
  if (event_sink_)
    for (const auto& e : events) event_sink_(e);
}

void Firewall::housekeeping() {
  if (!engine_) return;
  const TimePoint now = edges_.clock.now();
  decisions_.clear();
  engine_->expire(now, decisions_);
  for (const auto& d : decisions_) take(d, now);
  roll_back_if_due(now);
  flush();
  blocks_held_ = writes_.count_active_blocks(now);  // blocks that ended left the kernel sets
  (void)edges_.store.prune(now);
}

// ---- control requests ------------------------------------------------------------------

json Firewall::handle(const json& request) {
  json answer = handle_request(request);
  if (request_extension_ && answer.is_object() && answer.value("ok", false) && request.is_object())
    request_extension_(request.value("cmd", ""), request, answer);
  return answer;
}

json Firewall::handle_request(const json& request) {
  if (!request.is_object() || !request.contains("cmd") || !request["cmd"].is_string())
    return {{"ok", false}, {"error", "request must be a JSON object with a string field \"cmd\""}};
  const std::string cmd = request["cmd"];
  try {
    if (cmd == "status") return status_json();
    if (cmd == "list") return list_json(request);
    if (cmd == "block") return block_request(request);
    if (cmd == "block_list") return block_list_request(request);
    if (cmd == "unblock") return unblock_request(request);
    if (cmd == "events") return events_json(request);
    if (cmd == "reload" || cmd == "start" || cmd == "apply") {
      ChangeRequest change;
      if (cmd == "apply") {
        if (!request.contains("text") || !request["text"].is_string())
          return {{"ok", false}, {"error", "text: expected the configuration file's new text"}};
        change.text = request["text"].get<std::string>();
      }
      if (request.contains("session") && !request["session"].is_null()) {
        change.session = session_from_json(request["session"]);
        if (!change.session)
          return {{"ok", false}, {"error", "session: expected {\"client\": address, \"port\": 1..65535, \"proto\": tcp|udp}"}};
      }
      change.force = request.value("force", false);
      change.safe_mode = request.value("safe_mode", true);
      change.who = request.value("who", "pbxwall " + cmd);
      change.what = request.value("what", "");
      return this->change(change);
    }
    if (cmd == "stop") {
      auto s = remove_table();
      if (!s.ok()) return {{"ok", false}, {"error", "cannot remove table inet pbxwall: " + s.error()}};
      table_removed_ = true;
      return {{"ok", true}};
    }
    if (auto answer = handle_web(cmd, request)) return *answer;
  } catch (const json::exception& e) {
    return {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
  }
  return {{"ok", false}, {"error", "unknown command \"" + cmd + "\" (known: status, list, block, unblock, events, reload, start, apply, confirm, stop)"}};
}

json Firewall::status_json() {
  const auto c = engine_ ? engine_->counters() : responsive::Counters{};
  const auto counts = engine_ ? engine_->state_counts() : responsive::Engine::StateCounts{};
  const std::size_t blocked = counts.blocked, validated = counts.validated, flagged = counts.flagged;
  json decisions = json::object();
  for (std::size_t r = 0; r < static_cast<std::size_t>(responsive::Rule::count_); ++r)
    decisions[responsive::rule_name(static_cast<responsive::Rule>(r))] = c.decisions[r];
  // What the engine saw that no phone does, counted whether or not it led to a block.
  const json evidence = {{"unknown_users", c.unknown_users},         {"ignored_challenges", c.ignored_challenges},
                         {"fast_failures", c.fast_failures},         {"device_retries", c.device_retries},
                         {"extension_alarms", c.extension_alarms},   {"evasive_requests", c.evasive_requests},
                         {"spoof_guarded", c.spoof_guarded},         {"never_block_spared", c.never_block_spared}};
  json answer = {{"ok", true},
          {"enabled", loaded_ ? loaded_->config.policy.enabled : false},
          {"safe_mode", loaded_ ? loaded_->config.policy.safe_mode : true},
          {"pending_change", pending_change_json(edges_.clock.now())},
          {"table", table_present()},
          {"table_stopped", table_removed_},
          {"packet_path", std::string(ruleset::packet_path_name(packet_path_))},
          {"packet_path_why", packet_path_explanation_.why},
          {"packet_path_inline_drops", packet_path_explanation_.inline_drops.empty()
                                           ? json(nullptr) : json(packet_path_explanation_.inline_drops)},
          {"config", options_.config_path},
          {"blocked", blocked},
          {"validated", validated},
          {"flagged", flagged},
          {"packets_in", counters_.packets_in},
          {"packets_out", counters_.packets_out},
          {"decode_errors", counters_.decode_errors},
          {"kernel_commits", counters_.kernel_commits},
          {"kernel_failures", counters_.kernel_failures},
          {"reloads", counters_.reloads},
          {"refused_reloads", counters_.refused_reloads},
          {"blocks_held", blocks_held_},
          {"max_blocked", max_blocked()},
          {"blocks_refused", counters_.blocks_refused},
          {"spoof_guarded", c.spoof_guarded},
          {"spoof_guard_drops", counters_.spoof_guard_drops},
          {"sources_tracked", c.table_size},
          {"sources_ceiling", c.table_ceiling},
          {"evictions", c.evictions},
          {"tcp_segments", decoder_.stats().tcp_segments},
          {"stream_buffered_bytes", decoder_.stats().tcp_buffered_bytes + (tap_ ? tap_->stats().buffered_bytes : 0)},
          {"stream_buffer_evictions", decoder_.stats().tcp_buffer_evictions + (tap_ ? tap_->stats().buffer_evictions : 0)},
          {"decisions", decisions},
          {"evidence", evidence},
          {"block_latency_seconds", block_latency_.json()}};
  answer.update(heal_json());
  add_state_status(answer);
  if (status_listener_) status_listener_(answer);
  return answer;
}

json Firewall::list_json(const json& request) {
  const std::string what = request.value("what", "blocked");
  const TimePoint now = edges_.clock.now();
  json items = json::array();
  if (what == "blocked") {
    return list_blocked_json(request);
  } else if (what == "validated") {
    for (const auto& v : writes_.active_validated(now)) items.push_back({{"addr", v.address}, {"user", v.user}, {"until", time_json(v.until)}});
  } else if (what == "flagged") {
    auto flags = edges_.store.flags();
    if (!flags.ok()) return {{"ok", false}, {"error", flags.error()}};
    for (const auto& f : *flags)
      items.push_back({{"addr", f.address}, {"user", f.user}, {"reason", f.reason}, {"first_seen", time_json(f.first_seen)},
                       {"last_seen", time_json(f.last_seen)}, {"count", f.count}});
  } else {
    return {{"ok", false}, {"error", "what: expected blocked, validated or flagged, got \"" + what + "\""}};
  }
  return {{"ok", true}, {"items", items}};
}

namespace {

// The "seconds" of a block request; nullopt inside when absent (the escalation ladder decides).
Result<std::optional<Duration>, std::string> block_seconds(const json& request) {
  if (!request.contains("seconds")) return std::optional<Duration>();
  const auto& s = request["seconds"];
  // At most ten years: longer has no use and would overflow the microsecond clock.
  constexpr std::int64_t kMaxSeconds = 10LL * 365 * 24 * 3600;
  if (!s.is_number_integer() || s.get<std::int64_t>() <= 0 || s.get<std::int64_t>() > kMaxSeconds)
    return fail("seconds: expected a whole number from 1 to " + std::to_string(kMaxSeconds));
  return std::optional<Duration>(std::chrono::seconds(s.get<std::int64_t>()));
}

}  // namespace

json Firewall::block_list_request(const json& request) {
  constexpr std::size_t kMaxItems = 100'000;
  if (!request.contains("items") || !request["items"].is_array() || request["items"].size() > kMaxItems)
    return {{"ok", false}, {"error", "items: expected a list of at most " + std::to_string(kMaxItems) + " addresses or networks"}};
  auto seconds = block_seconds(request);
  if (!seconds.ok()) return {{"ok", false}, {"error", seconds.error()}};
  const std::optional<Duration> duration = *seconds;
  const std::string reason = request.value("reason", "blocked by the administrator");
  // Every item is checked before anything is blocked: a bad one refuses the batch.
  std::vector<Cidr> targets;
  targets.reserve(request["items"].size());
  for (std::size_t i = 0; i < request["items"].size(); ++i) {
    const auto& item = request["items"][i];
    std::optional<Cidr> target;
    if (item.is_string()) {
      if (auto ip = IpAddress::parse(item.get<std::string>())) target = Cidr(*ip, ip->bit_width());
      else target = Cidr::parse(item.get<std::string>());
    }
    if (!target)
      return {{"ok", false}, {"error", "items[" + std::to_string(i) + "]: " + item.dump() + " is not an address or network"}};
    targets.push_back(*target);
  }
  const TimePoint now = edges_.clock.now();
  const auto refused_before = counters_.blocks_refused;
  std::size_t blocked = 0, trusted = 0;
  for (const auto& target : targets) {
    if (target.is_host()) {
      bool took = false;
      for (const auto& d : engine_->block(target.address(), now, duration, reason)) {
        take(d, now);
        took = took || d.action == Action::block;
      }
      (took ? blocked : trusted) += 1;
      continue;
    }
    // A network: trusted sources inside it are still accepted (before the blocked sets) and
    // trunks are spared by the drop rule.
    const TimePoint until = now + duration.value_or(std::chrono::hours(24));
    Decision d{Action::block, target.address(), "", until, responsive::Rule::manual, reason};
    d.network = target;
    if (target.family() == Family::v6) (void)engine_->restore_network_block(target, now, until);
    take(d, now);
    ++blocked;
  }
  const std::size_t refused = counters_.blocks_refused - refused_before;
  blocked -= std::min(blocked, refused);
  const auto failures = counters_.kernel_failures;
  flush();
  if (counters_.kernel_failures != failures)
    return {{"ok", false},
            {"error", "the kernel did not take the blocks: " + sets_->last_error().value_or("") +
                          " (pbxwalld keeps them and retries)"}};
  json answer = {{"ok", true}, {"blocked", blocked}, {"trusted", trusted}, {"refused", refused}, {"saved", !writes_.has_work()}};
  if (refused > 0)
    answer["warning"] = std::to_string(refused) + " not blocked: the sets hold " + std::to_string(max_blocked()) +
                        " blocks, the ceiling ([responsive] max_blocked in " + options_.config_path + ")";
  return answer;
}

json Firewall::block_request(const json& request) {
  const std::string text = request.value("addr", "");
  std::optional<IpAddress> addr = IpAddress::parse(text);
  if (!addr) {
    auto net = Cidr::parse(text);
    if (!net) return {{"ok", false}, {"error", "addr: " + address_error(text)}};
    if (!net->is_host()) return block_network_request(*net, request);
    addr = net->address();
  }
  auto seconds = block_seconds(request);
  if (!seconds.ok()) return {{"ok", false}, {"error", seconds.error()}};
  const std::optional<Duration> duration = *seconds;
  const std::string reason = request.value("reason", "blocked by the administrator");
  const TimePoint now = edges_.clock.now();
  auto decisions = engine_->block(*addr, now, duration, reason);
  std::optional<TimePoint> until;
  const auto refused = counters_.blocks_refused;
  for (const auto& d : decisions) {
    take(d, now);
    if (d.action == Action::block) until = d.until;
  }
  if (counters_.blocks_refused != refused) {
    flush();  // the refusal's event
    return {{"ok", false},
            {"refused", true},
            {"error", addr->str() + " is not blocked: the sets hold " + std::to_string(max_blocked()) +
                          " blocks, the ceiling ([responsive] max_blocked in " + options_.config_path + ")"}};
  }
  if (!until) {
    if (is_trunk(*addr))
      return {{"ok", false}, {"error", addr->str() + " is a trunk of the PBX (discovered in its configuration) and is never blocked"}};
    return {{"ok", false}, {"error", addr->str() + " is trusted and is never blocked"}};
  }
  const auto failures = counters_.kernel_failures;
  flush();
  if (counters_.kernel_failures != failures)
    return {{"ok", false},
            {"error", "the kernel did not take the block of " + addr->str() + ": " + sets_->last_error().value_or("") +
                          " (pbxwalld keeps the block and retries)"}};
  json answer = {{"ok", true}, {"addr", addr->str()}, {"until", time_json(until)}, {"saved", !writes_.has_work()}};
  if (writes_.has_work())
    answer["warning"] = "not saved in the state database (" + writes_.health().error +
                        "); the block is in the kernel and the write is retried";
  return answer;
}

// A whole network (set blocked_nets4/6): trusted sources inside it are still accepted (before
// the blocked sets) and trunks are spared by the drop rule.
json Firewall::block_network_request(const Cidr& net, const json& request) {
  auto seconds = block_seconds(request);
  if (!seconds.ok()) return {{"ok", false}, {"error", seconds.error()}};
  const int shortest = net.family() == Family::v4 ? 8 : 16;
  if (net.prefix() < shortest)
    return {{"ok", false},
            {"error", net.str() + " cannot be blocked: a network shorter than /" + std::to_string(shortest) +
                          " is a large part of the Internet"}};
  const TimePoint now = edges_.clock.now();
  const TimePoint until = now + seconds->value_or(std::chrono::hours(24));
  Decision d{Action::block, net.address(), "", until, responsive::Rule::manual,
             request.value("reason", "blocked by the administrator")};
  d.network = net;
  const auto refused = counters_.blocks_refused;
  if (net.family() == Family::v6) (void)engine_->restore_network_block(net, now, until);
  take(d, now);
  if (counters_.blocks_refused != refused) {
    flush();
    return {{"ok", false},
            {"refused", true},
            {"error", net.str() + " is not blocked: the sets hold " + std::to_string(max_blocked()) +
                          " blocks, the ceiling ([responsive] max_blocked in " + options_.config_path + ")"}};
  }
  const auto failures = counters_.kernel_failures;
  flush();
  if (counters_.kernel_failures != failures)
    return {{"ok", false},
            {"error", "the kernel did not take the block of " + net.str() + ": " + sets_->last_error().value_or("") +
                          " (pbxwalld keeps the block and retries)"}};
  json answer = {{"ok", true}, {"addr", net.str()}, {"network", true}, {"until", time_json(until)}, {"saved", !writes_.has_work()}};
  if (writes_.has_work())
    answer["warning"] = "not saved in the state database (" + writes_.health().error +
                        "); the block is in the kernel and the write is retried";
  return answer;
}

// Lifts one block (an address or a network as listed); false when `key` was not blocked, so
// nothing is written and no event is recorded.
bool Firewall::lift_block(const std::string& key, TimePoint now) {
  if (auto addr = IpAddress::parse(key)) {
    auto d = engine_->unblock(*addr, now);
    if (!d && !writes_.is_active_block(key, now)) return false;
    take(d.value_or(Decision{Action::unblock, *addr, "", std::nullopt, responsive::Rule::manual, "unblocked by an operator"}), now);
    return true;
  }
  auto net = Cidr::parse(key);
  if (!net || !writes_.is_active_block(net->str(), now)) return false;
  Decision d{Action::unblock, net->address(), "", std::nullopt, responsive::Rule::manual, "unblocked by an operator"};
  d.network = *net;
  take(d, now);
  return true;
}

json Firewall::unblock_request(const json& request) {
  const TimePoint now = edges_.clock.now();
  if (request.value("all", false)) {
    // Every block in force (of one rule with "rule"): one kernel transaction.
    const std::string rule = request.value("rule", "");
    std::vector<std::string> keys;
    writes_.each_active_block(now, "", [&](const store::BlockRecord& b) {
      if (rule.empty() || b.rule == rule) keys.push_back(b.address);
      return true;
    });
    std::size_t lifted = 0;
    for (const auto& key : keys) lifted += lift_block(key, now) ? 1 : 0;
    const auto failures = counters_.kernel_failures;
    flush();
    if (counters_.kernel_failures != failures)
      return {{"ok", false},
              {"error", "the kernel did not take the unblocks: " + sets_->last_error().value_or("") + " (pbxwalld retries)"}};
    return {{"ok", true}, {"unblocked", lifted}};
  }
  const std::string text = request.value("addr", "");
  std::string key;
  if (auto addr = IpAddress::parse(text)) key = addr->str();
  else if (auto net = Cidr::parse(text)) key = net->is_host() ? net->address().str() : net->str();
  else return {{"ok", false}, {"error", "addr: " + address_error(text)}};
  const bool was_blocked = lift_block(key, now);
  const auto failures = counters_.kernel_failures;
  flush();
  if (counters_.kernel_failures != failures)
    return {{"ok", false},
            {"error", "the kernel did not take the unblock of " + key + ": " + sets_->last_error().value_or("") +
                          " (pbxwalld retries)"}};
  return {{"ok", true}, {"addr", key}, {"was_blocked", was_blocked}};
}

json Firewall::events_json(const json& request) {
  for (const char* field : {"after_id", "limit"})
    if (request.contains(field) && !request[field].is_number_integer())
      return {{"ok", false}, {"error", std::string(field) + ": expected a whole number"}};
  std::optional<Cidr> within;
  if (request.contains("addr") && !request["addr"].is_null()) {
    auto filter = events_filter(request["addr"]);
    if (!filter.ok()) return {{"ok", false}, {"error", filter.error()}};
    within = *filter;
  }
  std::int64_t after = request.value("after_id", std::int64_t{0});
  const std::int64_t limit = std::clamp<std::int64_t>(request.value("limit", std::int64_t{100}), 1, 10000);
  json items = json::array();
  // With a filter the store is read a page at a time until `limit` events match or this many
  // were read; "last_id" says where the next request goes on, "more" whether there is more.
  constexpr std::int64_t kScanned = 100'000;
  std::int64_t scanned = 0;
  bool more = false;
  while (true) {
    auto events = edges_.store.events_after(after, limit);
    if (!events.ok()) return {{"ok", false}, {"error", events.error()}};
    for (const auto& e : *events) {
      after = e.id;
      ++scanned;
      if (within && !event_within(e.address, *within)) continue;
      items.push_back(event_json(e));
      if (static_cast<std::int64_t>(items.size()) == limit) break;
    }
    more = static_cast<std::int64_t>(events->size()) == limit || static_cast<std::int64_t>(items.size()) == limit;
    if (!within || static_cast<std::int64_t>(items.size()) == limit || !more || scanned >= kScanned) break;
  }
  return {{"ok", true}, {"items", items}, {"last_id", after}, {"more", more}};
}

Result<Cidr> events_filter(const json& addr) {
  if (!addr.is_string()) return fail(std::string("addr: expected an address or network"));
  const std::string text = addr.get<std::string>();
  if (auto ip = IpAddress::parse(text)) return Cidr(*ip, ip->bit_width());
  if (auto net = Cidr::parse(text)) return *net;
  return fail("addr: " + address_error(text));
}

bool event_within(const std::string& address, const Cidr& within) {
  if (auto ip = IpAddress::parse(address)) return within.contains(*ip);
  auto net = Cidr::parse(address);
  return net && net->family() == within.family() && net->prefix() >= within.prefix() && within.contains(net->address());
}

json event_json(const store::EventRecord& e) {
  return {{"id", e.id},          {"t", time_json(e.time)}, {"action", e.kind}, {"addr", e.address},
          {"user", e.user},      {"rule", e.rule},         {"reason", e.reason}};
}

}  // namespace pbxwall::daemon
