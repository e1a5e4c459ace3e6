#include "http/metrics_text.h"

#include <sstream>

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

}  // namespace

std::string prometheus_text(const nlohmann::json& m, const WebCounters& web) {
  std::ostringstream o;
  header(o, "pbxwall_packets_inspected_total", "counter", "Packets copied to the daemon by direction.");
  o << "pbxwall_packets_inspected_total{direction=\"to_pbx\"} " << count(m, "packets_in") << '\n';
  o << "pbxwall_packets_inspected_total{direction=\"from_pbx\"} " << count(m, "packets_out") << '\n';
  header(o, "pbxwall_decode_errors_total", "counter", "Copied packets that could not be decoded.");
  o << "pbxwall_decode_errors_total " << count(m, "decode_errors") << '\n';
  header(o, "pbxwall_decisions_total", "counter", "Decisions of the responsive engine by rule.");
  if (m.is_object() && m.contains("decisions") && m["decisions"].is_object())
    for (const auto& [rule, n] : m["decisions"].items())
      o << "pbxwall_decisions_total{rule=\"" << label(rule) << "\"} " << whole(n) << '\n';
  header(o, "pbxwall_sources", "gauge", "Sources blocked, validated and flagged now.");
  for (const char* state : {"blocked", "validated", "flagged"})
    o << "pbxwall_sources{state=\"" << state << "\"} " << count(m, state) << '\n';
  header(o, "pbxwall_engine_sources", "gauge", "Sources tracked by the responsive engine.");
  o << "pbxwall_engine_sources " << count(m, "sources_tracked") << '\n';
  header(o, "pbxwall_engine_sources_ceiling", "gauge", "Most sources the engine keeps before evicting.");
  o << "pbxwall_engine_sources_ceiling " << count(m, "sources_ceiling") << '\n';
  header(o, "pbxwall_engine_evictions_total", "counter", "Sources evicted from the engine's table.");
  o << "pbxwall_engine_evictions_total " << count(m, "evictions") << '\n';
  header(o, "pbxwall_kernel_commits_total", "counter", "Batched kernel set updates sent.");
  o << "pbxwall_kernel_commits_total " << count(m, "kernel_commits") << '\n';
  header(o, "pbxwall_kernel_failures_total", "counter", "Kernel set updates refused.");
  o << "pbxwall_kernel_failures_total " << count(m, "kernel_failures") << '\n';
  header(o, "pbxwall_kernel_set_update_seconds", "histogram", "Time to commit one batch of kernel set changes.");
  const nlohmann::json h = m.is_object() && m.contains("set_update_seconds") ? m["set_update_seconds"] : nlohmann::json::object();
  if (h.contains("buckets") && h["buckets"].is_array())
    for (const auto& b : h["buckets"])
      if (b.is_array() && b.size() == 2 && b[0].is_number() && b[1].is_number())
        o << "pbxwall_kernel_set_update_seconds_bucket{le=\"" << b[0].get<double>() << "\"} " << whole(b[1]) << '\n';
  o << "pbxwall_kernel_set_update_seconds_bucket{le=\"+Inf\"} " << count(h, "count") << '\n';
  o << "pbxwall_kernel_set_update_seconds_sum " << (h.contains("sum") && h["sum"].is_number() ? h["sum"].get<double>() : 0.0) << '\n';
  o << "pbxwall_kernel_set_update_seconds_count " << count(h, "count") << '\n';
  header(o, "pbxwall_reloads_total", "counter", "Configurations applied (start and reloads).");
  o << "pbxwall_reloads_total " << count(m, "reloads") << '\n';
  header(o, "pbxwall_refused_reloads_total", "counter", "Configurations refused.");
  o << "pbxwall_refused_reloads_total " << count(m, "refused_reloads") << '\n';
  header(o, "pbxwall_dns_refreshes_total", "counter", "DNS refreshes of hostnames in [networks] and trunks.");
  o << "pbxwall_dns_refreshes_total " << count(m, "dns_refreshes") << '\n';
  header(o, "pbxwall_dns_failures_total", "counter", "DNS refreshes that failed.");
  o << "pbxwall_dns_failures_total " << count(m, "dns_failures") << '\n';
  header(o, "pbxwall_web_requests_total", "counter", "Requests to the web server.");
  o << "pbxwall_web_requests_total " << web.requests << '\n';
  header(o, "pbxwall_web_failed_logins_total", "counter", "Web logins refused for a wrong password.");
  o << "pbxwall_web_failed_logins_total " << web.failed_logins << '\n';
  header(o, "pbxwall_web_rate_limited_logins_total", "counter", "Web logins refused by the rate limit.");
  o << "pbxwall_web_rate_limited_logins_total " << web.rate_limited_logins << '\n';
  return o.str();
}

}  // namespace pbxwall::http
