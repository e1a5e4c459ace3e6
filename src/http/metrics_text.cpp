#include "http/metrics_text.h"

#include <map>
#include <span>
#include <sstream>
#include <vector>

namespace pbxwall::http {

namespace {

// A counter or gauge value: a non-negative whole number, whether nlohmann stored it as signed
// or unsigned; anything else counts as 0.
std::uint64_t whole(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return 0;
}

std::uint64_t count(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it == j.end() ? 0 : whole(*it);
}

void header(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// Label values: backslash, quote and newline escaped.
std::string label(const std::string& v) {
  std::string s;
  for (char c : v) {
    if (c == '\\' || c == '"') s += '\\';
    if (c == '\n') {
      s += "\\n";
      continue;
    }
    s += c;
  }
  return s;
}

// One metric without labels, read from field `key` of the daemon's answer.
struct Plain {
  const char* name;
  const char* type;
  const char* help;
  const char* key;
};

constexpr Plain kEngineAndKernel[] = {
    {"pbxwall_decode_errors_total", "counter", "Copied packets that could not be decoded.", "decode_errors"},
    {"pbxwall_engine_sources", "gauge", "Sources tracked by the responsive engine.", "sources_tracked"},
    {"pbxwall_engine_sources_ceiling", "gauge", "Most sources the engine keeps before evicting.", "sources_ceiling"},
    {"pbxwall_engine_evictions_total", "counter", "Sources evicted from the engine's table.", "evictions"},
    {"pbxwall_tcp_segments_total", "counter", "TCP segments on signalling ports decoded.", "tcp_segments"},
    {"pbxwall_stream_buffered_bytes", "gauge", "Bytes held by TCP stream reassembly (out-of-order segments, partial SIP messages).", "stream_buffered_bytes"},
    {"pbxwall_stream_buffer_evictions_total", "counter", "TCP streams dropped to keep reassembly under its byte ceiling.", "stream_buffer_evictions"},
    {"pbxwall_kernel_commits_total", "counter", "Batched kernel set updates sent.", "kernel_commits"},
    {"pbxwall_kernel_failures_total", "counter", "Kernel set updates refused.", "kernel_failures"},
    {"pbxwall_store_write_failures_total", "counter", "State database writes that failed (kept and retried).", "store_failures"},
    {"pbxwall_store_unsaved", "gauge", "Changes waiting to be saved in the state database.", "store_unsaved"},
    {"pbxwall_store_dropped_total", "counter", "Unsaved changes dropped because too many waited.", "store_dropped"},
    {"pbxwall_store_alarm", "gauge", "1 while the state database is not saving every change.", "store_alarm"},
    {"pbxwall_kernel_set_retries_total", "counter", "Resends of set updates the kernel refused.", "set_update_retries"},
    {"pbxwall_kernel_set_changes_owed", "gauge", "Set changes the kernel refused, still to be resent.", "set_updates_owed"},
    {"pbxwall_table_restores_total", "counter", "Times table inet pbxwall was rendered again after others removed it or part of it.", "table_restores"},
    {"pbxwall_table_restore_failures_total", "counter", "Restores of the table the kernel refused.", "table_restore_failures"},
    {"pbxwall_set_elements_readded_total", "counter", "Set elements re-added after others removed them.", "elements_readded"},
    {"pbxwall_reloads_total", "counter", "Configurations applied (start and reloads).", "reloads"},
    {"pbxwall_refused_reloads_total", "counter", "Configurations refused.", "refused_reloads"},
    {"pbxwall_dns_refreshes_total", "counter", "DNS refreshes of hostnames in [networks] and trunks.", "dns_refreshes"},
    {"pbxwall_dns_failures_total", "counter", "DNS refreshes that failed.", "dns_failures"},
};

// A histogram from {"buckets": [[le, cumulative count], ...], "sum": s, "count": n}.
void histogram(std::ostringstream& o, const char* name, const char* help, const nlohmann::json& m, const char* key) {
  header(o, name, "histogram", help);
  const nlohmann::json h = m.is_object() && m.contains(key) ? m[key] : nlohmann::json::object();
  if (h.contains("buckets") && h["buckets"].is_array())
    for (const auto& b : h["buckets"])
      if (b.is_array() && b.size() == 2 && b[0].is_number() && b[1].is_number())
        o << name << "_bucket{le=\"" << b[0].get<double>() << "\"} " << whole(b[1]) << '\n';
  o << name << "_bucket{le=\"+Inf\"} " << count(h, "count") << '\n';
  o << name << "_sum " << (h.contains("sum") && h["sum"].is_number() ? h["sum"].get<double>() : 0.0) << '\n';
  o << name << "_count " << count(h, "count") << '\n';
}

// What Firewall::spare_kind names: the reasons a ban is left open, exposed at 0 before the
// first one so a dashboard finds every series.
constexpr const char* kSpareKinds[] = {"trusted network", "trunk", "validated", "VPN client"};

// The values of object `key` of `m` ({"label value": n, ...}), with `always` at 0 when missing.
std::map<std::string, std::uint64_t> by_label(const nlohmann::json& m, const char* key,
                                              std::span<const char* const> always = {}) {
  std::map<std::string, std::uint64_t> values;
  for (const char* v : always) values[v] = 0;
  if (m.is_object() && m.contains(key) && m[key].is_object())
    for (const auto& [v, n] : m[key].items()) values[v] = whole(n);
  return values;
}

// The link to CrowdSec's Local API, when [crowdsec] is configured.
void crowdsec_metrics(std::ostringstream& o, const nlohmann::json& c) {
  if (!c.is_object()) return;
  header(o, "pbxwall_crowdsec_link_up", "gauge", "1 while the CrowdSec Local API answers.");
  o << "pbxwall_crowdsec_link_up " << (c.value("link", "") == "up" ? 1 : 0) << '\n';
  header(o, "pbxwall_crowdsec_last_pull_timestamp_seconds", "gauge", "When decisions were last pulled (0: never).");
  o << "pbxwall_crowdsec_last_pull_timestamp_seconds " << count(c, "last_pull") << '\n';
  header(o, "pbxwall_crowdsec_decisions_applied_total", "counter", "Shared ban decisions applied, by origin.");
  for (const auto& [origin, n] : by_label(c, "applied_by_origin"))
    o << "pbxwall_crowdsec_decisions_applied_total{origin=\"" << label(origin) << "\"} " << n << '\n';
  header(o, "pbxwall_crowdsec_spared_total", "counter",
         "Shared bans not applied, by reason (trusted network, trunk, validated, VPN client).");
  for (const auto& [reason, n] : by_label(c, "spared_by_reason", kSpareKinds))
    o << "pbxwall_crowdsec_spared_total{reason=\"" << label(reason) << "\"} " << n << '\n';
  constexpr Plain kCrowdsec[] = {
      {"pbxwall_crowdsec_blocks", "gauge", "Shared bans held now.", "blocks"},
      {"pbxwall_crowdsec_kernel_elements", "gauge", "Elements of the kernel sets crowdsec4/6 (outermost networks).", "kernel_elements"},
      {"pbxwall_crowdsec_pulls_total", "counter", "Pulls the Local API answered.", "pulls"},
      {"pbxwall_crowdsec_pull_failures_total", "counter", "Pulls the Local API did not answer well.", "pull_failures"},
      {"pbxwall_crowdsec_decisions_deleted_total", "counter", "Shared ban decisions that went away (deleted or expired).", "decisions_deleted"},
      {"pbxwall_crowdsec_own_total", "counter", "Pulled decisions this server pushed and enforces itself.", "own"},
      {"pbxwall_crowdsec_kernel_failures_total", "counter", "Pulls the kernel refused to apply (retried whole).", "kernel_failures"},
      {"pbxwall_crowdsec_push_queue", "gauge", "Decisions waiting to be pushed.", "queue"},
      {"pbxwall_crowdsec_push_dropped_total", "counter", "Queued pushes dropped because the queue was full.", "queue_dropped"},
      {"pbxwall_crowdsec_pushed_total", "counter", "Decisions the Local API accepted from this server.", "pushed"},
      {"pbxwall_crowdsec_push_failures_total", "counter", "Pushes that failed and wait for a retry.", "push_failures"},
  };
  for (const Plain& p : kCrowdsec) {
    header(o, p.name, p.type, p.help);
    o << p.name << ' ' << count(c, p.key) << '\n';
  }
}

// The community blocklists ([[blocklists]]), one series per list and metric.
void blocklist_metrics(std::ostringstream& o, const nlohmann::json& lists) {
  if (!lists.is_array()) return;
  std::vector<const nlohmann::json*> named;
  for (const auto& l : lists)
    if (l.is_object() && l.contains("name") && l["name"].is_string()) named.push_back(&l);
  const auto each = [&](const char* name, const char* type, const char* help, const auto& value) {
    header(o, name, type, help);
    for (const auto* l : named) o << name << "{list=\"" << label((*l)["name"].get<std::string>()) << "\"} " << value(*l) << '\n';
  };
  each("pbxwall_blocklist_entries", "gauge", "Entries of the list in the kernel (the last good fetch).",
       [](const nlohmann::json& l) { return count(l, "entries"); });
  each("pbxwall_blocklist_last_fetch_timestamp_seconds", "gauge", "When the list was last fetched and applied (0: never).",
       [](const nlohmann::json& l) { return count(l, "last_ok"); });
  each("pbxwall_blocklist_fetch_ok", "gauge", "1 while the list's last fetch was applied.", [](const nlohmann::json& l) {
    return l.contains("last_ok") && !l["last_ok"].is_null() && l.value("last_error", "").empty() ? 1 : 0;
  });
  each("pbxwall_blocklist_fetches_total", "counter", "Fetches of the list (file reads or HTTP).",
       [](const nlohmann::json& l) { return count(l, "fetches"); });
  each("pbxwall_blocklist_fetch_failures_total", "counter", "Fetches that failed or did not look like a list (the last good list kept).",
       [](const nlohmann::json& l) { return count(l, "failures"); });
  header(o, "pbxwall_blocklist_spared", "gauge", "Entries of the list left open, by reason (trusted network, trunk, validated, VPN client).");
  for (const auto* l : named) {
    const std::string list = label((*l)["name"].get<std::string>());
    for (const auto& [reason, n] : by_label(*l, "spared_by_reason", kSpareKinds))
      o << "pbxwall_blocklist_spared{list=\"" << list << "\",reason=\"" << label(reason) << "\"} " << n << '\n';
  }
}

}  // namespace

std::string prometheus_text(const nlohmann::json& m, const WebCounters& web) {
  std::ostringstream o;
  header(o, "pbxwall_packets_inspected_total", "counter", "Packets copied to the daemon by direction.");
  o << "pbxwall_packets_inspected_total{direction=\"to_pbx\"} " << count(m, "packets_in") << '\n';
  o << "pbxwall_packets_inspected_total{direction=\"from_pbx\"} " << count(m, "packets_out") << '\n';
  header(o, "pbxwall_decisions_total", "counter", "Decisions of the responsive engine by rule.");
  if (m.is_object() && m.contains("decisions") && m["decisions"].is_object())
    for (const auto& [rule, n] : m["decisions"].items())
      o << "pbxwall_decisions_total{rule=\"" << label(rule) << "\"} " << whole(n) << '\n';
  header(o, "pbxwall_engine_evidence_total", "counter",
         "What the responsive engine saw that no phone does (unknown users, ignored challenges, ...), by kind.");
  if (m.is_object() && m.contains("evidence") && m["evidence"].is_object())
    for (const auto& [kind, n] : m["evidence"].items())
      o << "pbxwall_engine_evidence_total{kind=\"" << label(kind) << "\"} " << whole(n) << '\n';
  header(o, "pbxwall_sources", "gauge", "Sources blocked, validated and flagged now.");
  for (const char* state : {"blocked", "validated", "flagged"})
    o << "pbxwall_sources{state=\"" << state << "\"} " << count(m, state) << '\n';
  for (const Plain& p : kEngineAndKernel) {
    header(o, p.name, p.type, p.help);
    o << p.name << ' ' << count(m, p.key) << '\n';
  }
  histogram(o, "pbxwall_kernel_set_update_seconds", "Time to commit one batch of kernel set changes.", m,
            "set_update_seconds");
  histogram(o, "pbxwall_block_latency_seconds",
            "Time from the packet or request that caused a block to the commit that put it in the kernel set.", m,
            "block_latency_seconds");
  crowdsec_metrics(o, m.is_object() && m.contains("crowdsec") ? m["crowdsec"] : nlohmann::json());
  blocklist_metrics(o, m.is_object() && m.contains("blocklists") ? m["blocklists"] : nlohmann::json());
  const std::pair<const char*, std::pair<const char*, std::uint64_t>> web_counters[] = {
      {"pbxwall_web_requests_total", {"Requests to the web server.", web.requests}},
      {"pbxwall_web_failed_logins_total", {"Web logins refused for a wrong password.", web.failed_logins}},
      {"pbxwall_web_rate_limited_logins_total", {"Web logins answered 429 without a password check.", web.rate_limited_logins}},
      {"pbxwall_web_password_checks_total", {"Passwords checked for web logins.", web.password_checks}},
  };
  for (const auto& [name, help_value] : web_counters) {
    header(o, name, "counter", help_value.first);
    o << name << ' ' << help_value.second << '\n';
  }
  return o.str();
}

}  // namespace pbxwall::http
