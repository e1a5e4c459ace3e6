// /metrics: the daemon's counters in the Prometheus text format, read back with a strict parser
// of that format. Every metric the web UI's issue lists must be there with its type.
#include "http/metrics_text.h"

#include <gtest/gtest.h>

#include "prometheus_text.h"

namespace pbxwall::http {
namespace {

using nlohmann::json;
using test::parse_prometheus_text;

// The shape of the daemon's `metrics` answer (Firewall::metrics_json plus the DNS counters).
json daemon_metrics() {
  return {{"ok", true},
          {"packets_in", 1200u},
          {"packets_out", 800},  // signed: nlohmann keeps literals signed
          {"decode_errors", 2u},
          {"decisions", {{"fingerprint", 3u}, {"enumeration", 1}, {"guessing", 0u}}},
          {"evidence", {{"ignored_challenges", 7u}, {"unknown_users", 0u}}},
          {"blocked", 4u},
          {"validated", 2u},
          {"flagged", 1u},
          {"sources_tracked", 37u},
          {"sources_ceiling", 100000u},
          {"evictions", 5u},
          {"kernel_commits", 9u},
          {"kernel_failures", 1u},
          {"set_update_seconds", {{"buckets", {{0.0005, 1u}, {0.001, 6u}, {0.0025, 9u}}}, {"sum", 0.0071}, {"count", 9u}}},
          {"block_latency_seconds", {{"buckets", {{0.0005, 2u}, {0.001, 3u}}}, {"sum", 0.0016}, {"count", 4u}}},
          {"reloads", 3u},
          {"refused_reloads", 1u},
          {"dns_refreshes", 12u},
          {"dns_failures", 2u},
          {"store_failures", 6u},
          {"store_unsaved", 300u},
          {"store_dropped", 0u},
          {"store_alarm", 1},

          {"table_restores", 2u},
          {"table_restore_failures", 1u},
          {"elements_readded", 3u},
          {"set_updates_owed", 4u},
          {"set_update_retries", 5u}};
}

TEST(MetricsText, EveryListedMetricIsThereWithItsType) {
  const auto m = parse_prometheus_text(prometheus_text(daemon_metrics(), {10, 2, 1}));
  ASSERT_TRUE(m.error.empty()) << m.error;
  const std::map<std::string, std::string> expected_types = {
      {"pbxwall_packets_inspected_total", "counter"},   {"pbxwall_decisions_total", "counter"},
      {"pbxwall_sources", "gauge"},                      {"pbxwall_engine_sources", "gauge"},
      {"pbxwall_engine_evictions_total", "counter"},    {"pbxwall_kernel_set_update_seconds", "histogram"},
      {"pbxwall_dns_refreshes_total", "counter"},       {"pbxwall_dns_failures_total", "counter"},
      {"pbxwall_web_failed_logins_total", "counter"},   {"pbxwall_block_latency_seconds", "histogram"},
      {"pbxwall_reloads_total", "counter"},             {"pbxwall_kernel_failures_total", "counter"}};
  for (const auto& [name, type] : expected_types) {
    ASSERT_TRUE(m.types.contains(name)) << name;
    EXPECT_EQ(m.types.at(name), type) << name;
  }
  EXPECT_EQ(m.value("pbxwall_packets_inspected_total", {{"direction", "to_pbx"}}), 1200);
  EXPECT_EQ(m.value("pbxwall_packets_inspected_total", {{"direction", "from_pbx"}}), 800);
  EXPECT_EQ(m.value("pbxwall_decisions_total", {{"rule", "fingerprint"}}), 3);
  EXPECT_EQ(m.value("pbxwall_decisions_total", {{"rule", "enumeration"}}), 1);
  EXPECT_EQ(m.value("pbxwall_decisions_total", {{"rule", "guessing"}}), 0);
  EXPECT_EQ(m.types.at("pbxwall_engine_evidence_total"), "counter");
  EXPECT_EQ(m.value("pbxwall_engine_evidence_total", {{"kind", "ignored_challenges"}}), 7);
  EXPECT_EQ(m.value("pbxwall_engine_evidence_total", {{"kind", "unknown_users"}}), 0);
  EXPECT_EQ(m.value("pbxwall_sources", {{"state", "blocked"}}), 4);
  EXPECT_EQ(m.value("pbxwall_sources", {{"state", "validated"}}), 2);
  EXPECT_EQ(m.value("pbxwall_sources", {{"state", "flagged"}}), 1);
  EXPECT_EQ(m.value("pbxwall_engine_sources"), 37);
  EXPECT_EQ(m.value("pbxwall_engine_sources_ceiling"), 100000);
  EXPECT_EQ(m.value("pbxwall_engine_evictions_total"), 5);
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_bucket", {{"le", "0.0005"}}), 1);
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_bucket", {{"le", "0.001"}}), 6);
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_bucket", {{"le", "+Inf"}}), 9);
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_count"), 9);
  EXPECT_DOUBLE_EQ(*m.value("pbxwall_kernel_set_update_seconds_sum"), 0.0071);
  EXPECT_EQ(m.value("pbxwall_block_latency_seconds_bucket", {{"le", "0.0005"}}), 2);
  EXPECT_EQ(m.value("pbxwall_block_latency_seconds_bucket", {{"le", "+Inf"}}), 4);
  EXPECT_DOUBLE_EQ(*m.value("pbxwall_block_latency_seconds_sum"), 0.0016);
  EXPECT_EQ(m.value("pbxwall_reloads_total"), 3);
  EXPECT_EQ(m.value("pbxwall_refused_reloads_total"), 1);
  EXPECT_EQ(m.value("pbxwall_kernel_commits_total"), 9);
  EXPECT_EQ(m.value("pbxwall_kernel_failures_total"), 1);
  EXPECT_EQ(m.value("pbxwall_table_restores_total"), 2);
  EXPECT_EQ(m.value("pbxwall_table_restore_failures_total"), 1);
  EXPECT_EQ(m.value("pbxwall_set_elements_readded_total"), 3);
  EXPECT_EQ(m.value("pbxwall_kernel_set_changes_owed"), 4);
  EXPECT_EQ(m.value("pbxwall_kernel_set_retries_total"), 5);
  EXPECT_EQ(m.value("pbxwall_decode_errors_total"), 2);
  EXPECT_EQ(m.value("pbxwall_dns_refreshes_total"), 12);
  EXPECT_EQ(m.value("pbxwall_dns_failures_total"), 2);
  EXPECT_EQ(m.value("pbxwall_web_requests_total"), 10);
  EXPECT_EQ(m.value("pbxwall_web_failed_logins_total"), 2);
  EXPECT_EQ(m.value("pbxwall_web_rate_limited_logins_total"), 1);
  EXPECT_EQ(m.types.at("pbxwall_store_alarm"), "gauge");
  EXPECT_EQ(m.types.at("pbxwall_store_unsaved"), "gauge");
  EXPECT_EQ(m.types.at("pbxwall_store_write_failures_total"), "counter");
  EXPECT_EQ(m.value("pbxwall_store_alarm"), 1);
  EXPECT_EQ(m.value("pbxwall_store_unsaved"), 300);
  EXPECT_EQ(m.value("pbxwall_store_write_failures_total"), 6);
  EXPECT_EQ(m.value("pbxwall_store_dropped_total"), 0);
}

// A daemon that could not answer (or answered garbage) still gives valid text with every
// family at zero, so dashboards show a gap rather than an error.
TEST(MetricsText, MissingOrMalformedFieldsCountAsZero) {
  for (const json& answer : {json{{"ok", false}, {"error", "the daemon did not answer in time"}}, json(nullptr), json::array(),
                             json{{"packets_in", -5}, {"decisions", "x"}, {"set_update_seconds", {{"buckets", 7}}}}}) {
    const auto m = parse_prometheus_text(prometheus_text(answer, {}));
    ASSERT_TRUE(m.error.empty()) << m.error << " for " << answer.dump();
    EXPECT_EQ(m.value("pbxwall_packets_inspected_total", {{"direction", "to_pbx"}}), 0);
    EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_bucket", {{"le", "+Inf"}}), 0);
    EXPECT_EQ(m.value("pbxwall_dns_failures_total"), 0);
  }
}

TEST(MetricsText, RuleNamesAreEscapedInLabels) {
  json answer = daemon_metrics();
  answer["decisions"] = {{"odd \"rule\"\\\nname", 4u}};
  const auto m = parse_prometheus_text(prometheus_text(answer, {}));
  ASSERT_TRUE(m.error.empty()) << m.error;
  EXPECT_EQ(m.value("pbxwall_decisions_total", {{"rule", "odd \"rule\"\\\nname"}}), 4);
}

// The fleet's part: the LAPI link, the shared bans applied by origin and spared by reason,
// and each community blocklist, in the shape of CrowdsecBridge::status_json and
// BlocklistFeeds::status_json.
TEST(MetricsText, CrowdsecLinkSparedBansAndBlocklists) {
  json answer = daemon_metrics();
  answer["crowdsec"] = {{"link", "up"},
                        {"last_pull", 1796200000},
                        {"applied_by_origin", {{"cscli", 2u}, {"pbxwall", 7u}}},
                        {"spared", 4u},
                        {"spared_by_reason", {{"trusted network", 3u}, {"validated", 1u}}},
                        {"blocks", 9u},
                        {"kernel_elements", 8u},
                        {"pulls", 120u},
                        {"pull_failures", 2u},
                        {"decisions_deleted", 1u},
                        {"queue", 10u},
                        {"queue_dropped", 0u},
                        {"pushed", 11u},
                        {"push_failures", 3u}};
  answer["blocklists"] = json::array(
      {{{"name", "voipbl"}, {"entries", 100000u}, {"last_ok", 1796199000}, {"last_error", ""}, {"fetches", 5u},
        {"failures", 1u}, {"spared", 2u}, {"spared_by_reason", {{"trunk", 1u}, {"trusted network", 1u}}}},
       {{"name", "apiban"}, {"entries", 0u}, {"last_ok", nullptr}, {"last_error", "HTTP 500"}, {"fetches", 2u},
        {"failures", 2u}, {"spared", 0u}, {"spared_by_reason", json::object()}}});
  const auto m = parse_prometheus_text(prometheus_text(answer, {}));
  ASSERT_TRUE(m.error.empty()) << m.error;
  EXPECT_EQ(m.types.at("pbxwall_crowdsec_link_up"), "gauge");
  EXPECT_EQ(m.value("pbxwall_crowdsec_link_up"), 1);
  EXPECT_EQ(m.value("pbxwall_crowdsec_last_pull_timestamp_seconds"), 1796200000);
  EXPECT_EQ(m.value("pbxwall_crowdsec_decisions_applied_total", {{"origin", "cscli"}}), 2);
  EXPECT_EQ(m.value("pbxwall_crowdsec_decisions_applied_total", {{"origin", "pbxwall"}}), 7);
  EXPECT_EQ(m.types.at("pbxwall_crowdsec_spared_total"), "counter");
  EXPECT_EQ(m.value("pbxwall_crowdsec_spared_total", {{"reason", "trusted network"}}), 3);
  EXPECT_EQ(m.value("pbxwall_crowdsec_spared_total", {{"reason", "validated"}}), 1);
  // Reasons not seen yet are there at 0.
  EXPECT_EQ(m.value("pbxwall_crowdsec_spared_total", {{"reason", "trunk"}}), 0);
  EXPECT_EQ(m.value("pbxwall_crowdsec_spared_total", {{"reason", "VPN client"}}), 0);
  EXPECT_EQ(m.value("pbxwall_crowdsec_blocks"), 9);
  EXPECT_EQ(m.value("pbxwall_crowdsec_kernel_elements"), 8);
  EXPECT_EQ(m.value("pbxwall_crowdsec_pulls_total"), 120);
  EXPECT_EQ(m.value("pbxwall_crowdsec_pull_failures_total"), 2);
  EXPECT_EQ(m.value("pbxwall_crowdsec_decisions_deleted_total"), 1);
  EXPECT_EQ(m.value("pbxwall_crowdsec_push_queue"), 10);
  EXPECT_EQ(m.value("pbxwall_crowdsec_pushed_total"), 11);
  EXPECT_EQ(m.value("pbxwall_crowdsec_push_failures_total"), 3);

  EXPECT_EQ(m.types.at("pbxwall_blocklist_entries"), "gauge");
  EXPECT_EQ(m.types.at("pbxwall_blocklist_fetch_failures_total"), "counter");
  EXPECT_EQ(m.value("pbxwall_blocklist_entries", {{"list", "voipbl"}}), 100000);
  EXPECT_EQ(m.value("pbxwall_blocklist_entries", {{"list", "apiban"}}), 0);
  EXPECT_EQ(m.value("pbxwall_blocklist_last_fetch_timestamp_seconds", {{"list", "voipbl"}}), 1796199000);
  EXPECT_EQ(m.value("pbxwall_blocklist_last_fetch_timestamp_seconds", {{"list", "apiban"}}), 0);
  EXPECT_EQ(m.value("pbxwall_blocklist_fetch_ok", {{"list", "voipbl"}}), 1);
  EXPECT_EQ(m.value("pbxwall_blocklist_fetch_ok", {{"list", "apiban"}}), 0);
  EXPECT_EQ(m.value("pbxwall_blocklist_fetches_total", {{"list", "voipbl"}}), 5);
  EXPECT_EQ(m.value("pbxwall_blocklist_fetch_failures_total", {{"list", "voipbl"}}), 1);
  EXPECT_EQ(m.value("pbxwall_blocklist_fetch_failures_total", {{"list", "apiban"}}), 2);
  EXPECT_EQ(m.value("pbxwall_blocklist_spared", {{"list", "voipbl"}, {"reason", "trunk"}}), 1);
  EXPECT_EQ(m.value("pbxwall_blocklist_spared", {{"list", "voipbl"}, {"reason", "trusted network"}}), 1);
  EXPECT_EQ(m.value("pbxwall_blocklist_spared", {{"list", "apiban"}, {"reason", "trunk"}}), 0);
}

// Without [crowdsec] and [[blocklists]] their families are not exposed at all.
TEST(MetricsText, NoFleetFamiliesWithoutTheirSections) {
  const auto m = parse_prometheus_text(prometheus_text(daemon_metrics(), {}));
  ASSERT_TRUE(m.error.empty()) << m.error;
  EXPECT_FALSE(m.types.contains("pbxwall_crowdsec_link_up"));
  EXPECT_FALSE(m.types.contains("pbxwall_blocklist_entries"));
  // A list with no name (not the daemon's shape) is left out rather than exposed unlabelled.
  json answer = daemon_metrics();
  answer["blocklists"] = json::array({{{"entries", 5u}}});
  const auto n = parse_prometheus_text(prometheus_text(answer, {}));
  ASSERT_TRUE(n.error.empty()) << n.error;
  EXPECT_TRUE(n.family("pbxwall_blocklist_entries").empty());
}

// The parser the tests above rely on refuses what Prometheus refuses.
TEST(MetricsText, ParserRefusesInvalidText) {
  EXPECT_FALSE(parse_prometheus_text("x_total 1\n").error.empty());  // no TYPE
  EXPECT_FALSE(parse_prometheus_text("# TYPE x counter\nx one\n").error.empty());
  EXPECT_FALSE(parse_prometheus_text("# TYPE x counter\nx{a=\"1\" 1\n").error.empty());
  EXPECT_FALSE(parse_prometheus_text("# TYPE x counter\nx 1\nx 2\n").error.empty());
  EXPECT_FALSE(parse_prometheus_text("# TYPE x counter\nx 1").error.empty());  // no final newline
  EXPECT_FALSE(parse_prometheus_text("# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\n"
                                     "h_sum 1\nh_count 3\n").error.empty());
  EXPECT_FALSE(parse_prometheus_text("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_sum 1\nh_count 3\n").error.empty());
  EXPECT_TRUE(parse_prometheus_text("# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 3\n"
                                    "h_sum 1\nh_count 3\n").error.empty());
}

}  // namespace
}  // namespace pbxwall::http
