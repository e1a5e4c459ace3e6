// The daemon's state and behaviour, apart from its event loop: configuration, the responsive
// engine, and what its decisions change (kernel sets, conntrack, the state database, events).
// Every side effect goes through an injected boundary, so tests drive a Firewall with a
// dry-run applier, a recording set updater, an in-memory store and a simulated clock.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"
#include "capture/capture.h"
#include "capture/signalling_tap.h"
#include "daemon/block_listing.h"
#include "daemon/grants.h"
#include "daemon/latency_histogram.h"
#include "daemon/pbx_settings.h"
#include "daemon/pbx_word.h"
#include "daemon/source_trail.h"
#include "daemon/state_writer.h"
#include "kernel/kernel.h"
#include "model/model.h"
#include "packets/conntrack_flusher.h"
#include "packets/kernel_probe.h"
#include "packets/retrying_set_updater.h"
#include "packets/set_reader.h"
#include "packets/set_updater.h"
#include "responsive/responsive.h"
#include "ruleset/packet_path.h"
#include "ruleset/ruleset.h"
#include "ruleset/zone_index.h"
#include "store/state_file.h"
#include "store/store.h"

namespace pbxwall::daemon {

struct Edges {
  kernel::RulesetApplier& applier;
  packets::SetUpdater& sets;
  packets::ConntrackFlusher& conntrack;
  store::StateStore& store;
  const Clock& clock;
};

struct FirewallOptions {
  std::string config_path;
  std::uint16_t log_group_input = 1;   // packets to the PBX from unvalidated sources
  std::uint16_t log_group_output = 2;  // the PBX's answers to them
  // Asks the kernel whether the nftables `queue` statement loads for the configured queue
  // number (packets/kernel_probe.h); called when [responsive] packet_path is "auto" or "queue".
  // Unset: the kernel is taken to lack the statement.
  std::function<packets::ProbeAnswer(std::uint16_t queue_num)> probe_queue;
  // Where a change waiting for confirmation (safe mode) is kept, so that a restart of the
  // daemon still rolls it back. Empty: kept in memory only.
  std::string pending_change_path;
  // The state database found damaged at open and moved aside (store::open_state_file).
  std::optional<store::SetAside> state_set_aside;
  // The state database's schema version now and as the daemon found it (older: migrated at start).
  int state_schema = 0;
  int state_schema_at_open = 0;
};

// What start() read back from the kernel sets because the database did not have it.
struct KernelRecovery {
  std::size_t blocks = 0;
  std::size_t validated = 0;
};

// One change of the configuration, from whoever asks: `pbxwall reload|start|trust|untrust`,
// the web UI, SIGHUP. Every one goes through Firewall::change.
struct ChangeRequest {
  std::optional<std::string> text;       // the file's new text; nullopt: the file as it is now
  std::optional<model::Session> session;  // the administrator's connection it must not cut
  bool force = false;                    // apply even though it cuts `session`
  bool safe_mode = true;                 // false: no rollback guard (`--no-safe-mode`)
  std::string who = "admin";             // for events: "pbxwall reload (SSH 198.51.100.5)"
  std::string what;                      // what it does, for events; "" for a reload
};

// The control request's "session" object ({"client", "port", "proto", "interface", "kind"}).
std::optional<model::Session> session_from_json(const nlohmann::json& j);

nlohmann::json event_json(const store::EventRecord& e);
// The "addr" of an events request: an address, or a network (its events are those of the
// addresses and networks inside it); the error names the field.
Result<Cidr> events_filter(const nlohmann::json& addr);
// Whether an event's address (an address, a network, or "" for events of no address) is inside `within`.
bool event_within(const std::string& address, const Cidr& within);

// A decision as kept in the event history and sent to followers.
using EventSink = std::function<void(const store::EventRecord&)>;

struct FirewallCounters {
  std::uint64_t packets_in = 0;        // copied packets to the PBX
  std::uint64_t packets_out = 0;       // copied answers from the PBX
  std::uint64_t decode_errors = 0;
  std::uint64_t kernel_commits = 0;
  std::uint64_t kernel_failures = 0;
  std::uint64_t store_failures = 0;
  std::uint64_t reloads = 0;
  std::uint64_t refused_reloads = 0;
  // Blocks not taken because the sets hold [responsive] max_blocked blocks already.
  std::uint64_t blocks_refused = 0;
  // Queued packets dropped without a block: their source is an address validated within
  // validated_memory and the packet earned a block a forged source could have earned.
  std::uint64_t spoof_guard_drops = 0;
};

// Why the table or its sets are healed, for the event and the log (see table_healer.h).
struct HealCause {
  std::string rule;  // table-deleted, ruleset-flushed, table-changed, elements-deleted, reconcile, ...
  std::string text;  // "table inet pbxwall deleted"
  std::string by;    // "nft (pid 4242)"; empty when unknown
  std::string detail;  // what went wrong on the way ("reading set blocked4: ..."), if anything
};

struct HealCounters {
  std::uint64_t table_restores = 0;
  std::uint64_t table_restore_failures = 0;
  std::uint64_t elements_readded = 0;
  std::uint64_t reconciliations = 0;
  std::string last;  // the last heal's event text
};

class Firewall {
 public:
  Firewall(Edges edges, FirewallOptions options);
  ~Firewall();
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;

  // Loads the configuration, puts the unexpired blocks and validations of the state database
  // back, and applies the ruleset with them in it, before any packet is inspected.
  Status<std::string> start();
  // Re-reads the configuration. A bad one is refused with its diagnostics and the running
  // policy stays as it is; a good one replaces the table with the live sets carried over.
  // The mechanism under change(), which every request goes through.
  Status<std::string> reload();
  // The one safe path of a configuration change (safe_change.cpp): validates the new text as
  // `pbxwall check` does, refuses it when it would cut request.session (unless forced),
  // writes the file, applies it, and with safe mode on (before or after the change) keeps the
  // last confirmed configuration to restore unless confirm() comes before the deadline, also
  // across a restart. Answers as a control request does: {"ok": true, "change": ...,
  // "safe_mode": {...}} or {"ok": false, "error", "http_status", "lockout"?, "diagnostics"?}.
  nlohmann::json change(const ChangeRequest& request);
  // Keeps the change waiting in safe mode.
  nlohmann::json confirm(const std::string& who);
  // Removes our table (the daemon stops protecting; `pbxwall start` or a restart brings it back).
  Status<std::string> remove_table();

  // One packet copied by a `log group` rule: `group` tells its direction.
  void on_packet(std::uint16_t group, std::span<const std::uint8_t> ip_packet, std::optional<TimePoint> stamp);
  // One packet to the PBX held in the queue (packet_path queue or external-queue): the engine
  // sees it like a logged one; returns true when it is to be dropped, because its source is
  // blocked already (by this very packet, e.g. a scanner's fingerprint, or by a decision the
  // kernel set does not hold yet), or because the spoofing guard withheld the block this
  // packet earned (its source was validated recently: the packet may be forged, the phone
  // must not be blocked, but what the packet carries does not reach the PBX either).
  bool on_queued_packet(std::span<const std::uint8_t> ip_packet, std::optional<TimePoint> stamp);
  // Ends a loop tick: sends queued set changes to the kernel in one transaction, flushes the
  // conntrack entries of new blocks and writes the tick's records in one database transaction.
  void flush();
  // Periodic housekeeping: expired validations are forgotten, the database pruned.
  void housekeeping();

  // Control requests (JSON objects with "cmd"); always answers with {"ok": bool, ...}.
  nlohmann::json handle(const nlohmann::json& request);

  void set_event_sink(EventSink sink) { event_sink_ = std::move(sink); }
  // Reads the PBX's ports for start(), so that the table start() applies has them and the
  // first discovery that follows changes nothing: one ruleset apply at start.
  using PortDiscovery = std::function<std::optional<ruleset::DiscoveredPorts>(const IntegrationSettings&)>;
  void set_port_discovery(PortDiscovery discovery) { port_discovery_ = std::move(discovery); }
  // Called after every successful reload, whoever asked for it (SIGHUP, the control socket,
  // the web UI's edits): the daemon re-reads its PBX integration and [ami] there.
  void set_reload_listener(std::function<void()> listener) { reload_listener_ = std::move(listener); }
  // Adds what the daemon's other parts report (the AMI link) to the status reply.
  void set_status_listener(std::function<void(nlohmann::json&)> listener) { status_listener_ = std::move(listener); }
  // ---- Bans shared with other servers (crowdsec_bridge.cpp) ----
  // The bans pulled from other servers, as the kernel holds them: every table rendered anew
  // carries them (sets crowdsec4/6 and crowdsec_nets4/6).
  using SharedBlocksSource = std::function<std::vector<ruleset::BlockedNetEntry>(TimePoint now)>;
  void set_shared_blocks(SharedBlocksSource source) { shared_blocks_ = std::move(source); }
  // ---- Community blocklists (blocklist_feeds.cpp) ----
  // The lists the table carries and what their sets hold. Another set of lists renders the
  // table anew with their sets.
  using ListsSource = std::function<std::vector<ruleset::ListContent>()>;
  Status<std::string> set_blocklists(ListsSource source);
  // ---- `list blocked` beyond the state store (firewall_listing.cpp) ----
  // The bans pulled from CrowdSec and the blocklists' entries, each a section of the listing.
  using BlockSectionsSource = std::function<std::vector<BlockSection>()>;
  void set_block_sections(BlockSectionsSource source) { block_sections_ = std::move(source); }
  // Adds to the answers of control requests (status, list, metrics): called with every
  // successful answer before it is returned.
  using RequestExtension = std::function<void(const std::string& cmd, const nlohmann::json& request, nlohmann::json& answer)>;
  void set_request_extension(RequestExtension extension) { request_extension_ = std::move(extension); }
  // Why `net` must stay open whatever other servers say: "trusted network", "trunk",
  // "validated: user 201"; empty when it may be blocked.
  std::optional<std::string> spare_reason(const Cidr& net) const;
  // The kind of a spare_reason, without its details ("validated: user 201" is "validated"):
  // what /metrics counts spared bans by.
  static std::string spare_kind(const std::string& reason);
  // Whether this server's own engine blocks `addr` now.
  bool blocks_here(const IpAddress& addr) const;
  // One nft script for our table's sets, as one transaction (counted like the tick's commits).
  Status<std::string> apply_set_script(std::string_view script);
  // An event of the bridge to other servers, kept in the history with this tick's.
  void note_event(std::string kind, std::string addr, std::string rule, std::string reason);

  const model::Policy* policy() const;
  const FirewallCounters& counters() const { return counters_; }
  const StateWriterHealth& state_health() const { return writes_.health(); }
  const KernelRecovery& kernel_recovery() const { return kernel_recovery_; }
  const responsive::Engine& engine() const { return *engine_; }
  const LatencyHistogram& set_update_latency() const { return set_update_latency_; }
  // From the packet (its kernel timestamp, else when it was read) or request that caused a
  // block to the end of the commit that put it in the kernel set: one sample per tick that
  // holds blocks, from its oldest. Also in status as "block_latency_seconds".
  const LatencyHistogram& block_latency() const { return block_latency_; }
  std::vector<std::uint16_t> log_groups() const { return {options_.log_group_input, options_.log_group_output}; }
  // The path chosen at start() (kept over reloads: a change takes effect at the next start).
  ruleset::PacketPath packet_path() const { return packet_path_; }
  std::uint16_t queue_num() const { return queue_num_; }
  // Why that path, and in observe mode how to get inline drops (status, the start log).
  const ruleset::PacketPathExplanation& packet_path_explanation() const { return packet_path_explanation_; }

  // ---- Healing what others change in the table (firewall_heal.cpp) ----
  // The kernel's table and sets as they are (null: not read; status then reports the table
  // as the daemon left it).
  void set_kernel_reader(packets::SetReader* reader) { kernel_reader_ = reader; }
  packets::SetReader* kernel_reader() const { return kernel_reader_; }
  // Renders the table again with the live state (blocks, validations, grants, trunks) and
  // applies it; an event says why and what it holds.
  Status<std::string> restore_table(const HealCause& cause);
  // Re-adds the elements of `sets` (empty: every responsive set) that the daemon holds and
  // the kernel lacks; an event says so when some were missing. How many were re-added.
  Result<std::size_t, std::string> reconcile_sets(const HealCause& cause, std::vector<std::string> sets = {});
  // Sends the set changes the kernel refused again.
  Status<std::string> retry_set_updates();
  std::size_t set_updates_owed() const { return sets_->owed(); }
  const std::optional<std::string>& set_update_error() const { return sets_->last_error(); }
  // The "stop" request removed the table: nothing is healed until a start or reload.
  bool table_stopped() const { return table_removed_; }
  const HealCounters& heal_counters() const { return heal_; }

  // ---- PBX integration (firewall_pbx.cpp) ----
  // [pbx], [users] and [vpn] of the loaded configuration (defaults before start()).
  const IntegrationSettings& integration() const;
  // Ports read from the PBX's configuration replace the built-in service defaults; a change
  // re-renders the table with the live sets carried over. Empty: the built-in defaults.
  Status<std::string> set_discovered_ports(std::optional<ruleset::DiscoveredPorts> ports);
  // The account names discovery found in the PBX's configuration (sorted), merged with
  // [pbx] accounts for the engine's unknown-user check. Empty: none discovered.
  void set_discovered_accounts(std::vector<std::string> accounts) { discovered_accounts_ = std::move(accounts); }
  const std::vector<std::string>& discovered_accounts() const { return discovered_accounts_; }
  // Whether the PBX has the account `user` (discovered or [pbx] accounts); nullopt when no
  // list is known.
  std::optional<bool> known_account(std::string_view user) const;
  // Trunk networks may reach signalling and RTP and are never blocked. A change replaces the
  // contents of the trunks sets in one transaction, without a ruleset reload.
  Status<std::string> set_trunks(std::vector<Cidr> trunks);
  // VPN clients connected now are validated with the default services; those gone are forgotten.
  void set_vpn_clients(const std::vector<IpAddress>& present);
  const std::vector<Cidr>& trunks() const { return trunks_; }
  const GrantTable& grants() const { return grants_; }

  // ---- The PBX's own word, from AMI events (firewall_ami.cpp) ----
  // A failed or passed authentication the PBX reports. Fed to the engine unless the packet
  // path sees this remote's requests itself (then it counted the same attempt already);
  // returns whether it was fed.
  bool on_pbx_security_event(const PbxSecurityEvent& event);
  // The PBX registered `user` at `addr` until `ends` (empty or past: for the engine's default
  // registration time): validated until then plus the registration grace, unless the address
  // is already validated for that user about as long (returns false then).
  bool on_pbx_registration(const IpAddress& addr, const std::string& user, std::optional<TimePoint> ends,
                           const std::string& reason);
  // The PBX removed `user`'s registration at `addr`: forgotten once no user the PBX reported
  // remains there. Returns whether a validation was forgotten.
  bool on_pbx_unregistration(const IpAddress& addr, const std::string& user, const std::string& reason);
  // Addresses the PBX reported `user` registered at (for events that name no address).
  std::vector<IpAddress> pbx_registrations_of(const std::string& user) const;

 private:
  struct Loaded;
  // The configuration file (or `text` in its place) validated as `pbxwall check` does.
  Result<std::unique_ptr<Loaded>, Diagnostics> load(const std::optional<std::string>& text = std::nullopt) const;
  Status<std::string> replace_loaded(std::unique_ptr<Loaded> loaded);
  // `blocks`: the active blocks when the caller read them already (start), else read here.
  Status<std::string> apply(const Loaded& loaded, const std::vector<store::BlockRecord>* blocks = nullptr);
  ruleset::LiveState live_state(TimePoint now, const std::vector<store::BlockRecord>* blocks = nullptr) const;
  // Puts the database's blocks and validations into a new engine; returns the active blocks read.
  std::vector<store::BlockRecord> restore_from_store(TimePoint now);
  // ---- The state database's health (firewall_state.cpp) ----
  // Blocks and validations in the kernel's sets that the database lacks (a damaged or lost
  // file, writes the disk refused) are written back to it, so the table rendered next keeps them.
  void recover_from_kernel(TimePoint now);
  // status: "state" {...} and the flat store_* fields of the metrics.
  void add_state_status(nlohmann::json& status) const;
  void add_state_warnings(nlohmann::json& warnings) const;
  std::unique_ptr<responsive::Engine> make_engine();
  // Validated sources whose user may not register from there ([users] allow_from) are blocked.
  void enforce_allow_from(TimePoint now);
  // Decodes one packet and feeds its observations to the engine; the packet's source, if it
  // decoded to one.
  std::optional<IpAddress> inspect(bool to_pbx, std::span<const std::uint8_t> ip, std::optional<TimePoint> stamp);
  void take(const responsive::Decision& d, TimePoint now);
  // A block decision at the ceiling: not sent to the kernel, the engine told it was not taken,
  // an event "refused" says why. False when the block is within the ceiling.
  bool refuse_at_ceiling(const responsive::Decision& d, TimePoint now);
  std::uint32_t max_blocked() const;
  void record_event(const responsive::Decision& d, TimePoint now);
  bool never_block(const IpAddress& addr) const;
  bool is_trunk(const IpAddress& addr) const;
  void rebuild_tap();
  // A validation grants the user's services to its address; forget and block take them away.
  void grant_for(const responsive::Decision& d, TimePoint now);
  std::vector<GrantPort> grant_ports_of(const std::string& user) const;

  nlohmann::json handle_request(const nlohmann::json& request);
  nlohmann::json status_json();
  nlohmann::json list_json(const nlohmann::json& request);
  nlohmann::json list_blocked_json(const nlohmann::json& request);
  nlohmann::json block_request(const nlohmann::json& request);
  // Many addresses and networks at once (`pbxwall block --file`): one kernel transaction.
  nlohmann::json block_list_request(const nlohmann::json& request);
  nlohmann::json unblock_request(const nlohmann::json& request);
  nlohmann::json block_network_request(const Cidr& net, const nlohmann::json& request);
  bool lift_block(const std::string& key, TimePoint now);
  nlohmann::json events_json(const nlohmann::json& request);

  // Requests of the web API (config_requests.cpp): overview, config, change, confirm, discover,
  // record, metrics, ruleset. Empty: not one of them.
  std::optional<nlohmann::json> handle_web(const std::string& cmd, const nlohmann::json& request);
  const model::LoadedConfig* loaded_config() const;  // null before start()
  const model::ResolvedHosts& resolved_hosts() const;
  nlohmann::json overview_json(const nlohmann::json& request);
  nlohmann::json config_json(const nlohmann::json& request);
  nlohmann::json change_request(const nlohmann::json& request);
  nlohmann::json confirm_request(const nlohmann::json& request);
  nlohmann::json discover_json();
  nlohmann::json record_request(const nlohmann::json& request);
  nlohmann::json metrics_json();
  void note(std::string kind, std::string addr, std::string user, std::string reason);
  // Safe mode: the last confirmed file comes back unless the change is confirmed before the
  // deadline (checked by housekeeping, and at start for a deadline that passed while the
  // daemon was down).
  void roll_back_if_due(TimePoint now);
  void roll_back(const std::string& why);
  void recover_pending_change(TimePoint now);
  void save_pending_change() const;
  nlohmann::json pending_change_json(TimePoint now) const;
  struct PendingChange {
    std::string previous_text;  // the configuration confirmed last
    TimePoint deadline;
    std::string who;
    std::string what;
    int seconds = 0;
  };
  std::optional<PendingChange> pending_change_;
  LatencyHistogram set_update_latency_;
  LatencyHistogram block_latency_;
  std::optional<TimePoint> oldest_pending_block_;  // cause of this tick's earliest block

  // The kernel writer of the edges, behind a layer that keeps and resends what it refused;
  // edges_.sets is this layer.
  std::unique_ptr<packets::RetryingSetUpdater> sets_;
  packets::SetReader* kernel_reader_ = nullptr;
  HealCounters heal_;
  void note_heal(const HealCause& cause, const std::string& outcome);
  nlohmann::json heal_json();
  nlohmann::json table_present();  // true/false as the kernel says; null when it cannot be read
  Edges edges_;
  FirewallOptions options_;
  std::unique_ptr<Loaded> loaded_;
  std::unique_ptr<responsive::Engine> engine_;
  std::unique_ptr<capture::SignallingTap> tap_;
  capture::Decoder decoder_;
  SourceTrail trail_;  // the last signalling of recent sources, for the web UI's timelines
  std::vector<responsive::Decision> decisions_;     // scratch, reused per packet
  std::vector<IpAddress> to_flush_;                 // conntrack flushes of this tick
  StateWriter writes_;                              // database writes, kept until saved
  std::vector<store::EventRecord> pending_events_;
  EventSink event_sink_;
  std::function<void()> reload_listener_;
  PortDiscovery port_discovery_;
  std::function<void(nlohmann::json&)> status_listener_;
  SharedBlocksSource shared_blocks_;
  ListsSource lists_;
  RequestExtension request_extension_;
  BlockSectionsSource block_sections_;
  FirewallCounters counters_;
  std::optional<ruleset::DiscoveredPorts> discovered_;
  std::vector<std::string> discovered_accounts_;
  std::vector<Cidr> trunks_;  // sorted
  ruleset::ZoneIndex trunk_index_;  // trunks_, for is_trunk
  GrantTable grants_;
  std::set<IpAddress> vpn_clients_;
  PbxWordState pbx_word_;
  // The "stop" request removed our table; a reload ("start", "reload", SIGHUP) puts it back.
  bool table_removed_ = false;
  ruleset::PacketPath packet_path_ = ruleset::PacketPath::log_group;
  std::uint16_t queue_num_ = 1;
  ruleset::PacketPathExplanation packet_path_explanation_;
  // The kernel's answer for a queue number, asked once (load() runs at every reload).
  mutable std::optional<std::pair<std::uint16_t, packets::ProbeAnswer>> queue_probe_;
  KernelRecovery kernel_recovery_;
  // Blocks (addresses and networks) in force: counted when the table is rendered and at each
  // housekeeping, kept up to date by every block taken in between.
  std::size_t blocks_held_ = 0;
};

}  // namespace pbxwall::daemon
