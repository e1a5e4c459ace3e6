// The REST API against a real daemon::Firewall (dry-run kernel, recording set updater, SQLite
// store in a temporary directory, simulated clock): every configuration change goes through the
// file, validation, reload and the ruleset, and the lockout rule applies.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "firewall_fixture.h"
#include "http/password.h"
#include "http/server.h"
#include "prometheus_text.h"

namespace pbxwall {
namespace {

using nlohmann::json;

class WebApiTest : public daemon::test::FirewallFixture {
 protected:
  void SetUp() override {
    FirewallFixture::SetUp();
    if (HasFatalFailure()) return;
    start("# site policy\n[firewall]\nenabled = true\n\n[networks]\n\"198.51.100.200\" = \"trusted\"\n");
    if (HasFailure()) return;
    http::WebSettings web;
    web.port = 0;
    web.root = PBXWALL_WEB_ROOT;
    web.password_file = (dir_ / "web-password").string();
    ASSERT_TRUE(http::write_password_file(web.password_file, *http::hash_password("correct horse", http::kCheapestPasswordCost)).ok());
    // The daemon's loop, here: one request at a time under a lock.
    server_ = std::make_unique<http::Server>(web, [this](const json& r) {
      std::lock_guard lock(loop_);
      return firewall_->handle(r);
    }, clock_);
    ASSERT_TRUE(server_->start().ok());
    firewall_->set_event_sink([this](const store::EventRecord& e) { server_->publish(daemon::event_json(e)); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(10, 0);
    auto res = client_->Post("/api/login", R"({"password": "correct horse"})", "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
    headers_ = {{"Cookie", res->get_header_value("Set-Cookie").substr(0, res->get_header_value("Set-Cookie").find(';'))},
                {"X-CSRF-Token", json::parse(res->body)["csrf"].get<std::string>()}};
  }
  void TearDown() override {
    server_.reset();
    FirewallFixture::TearDown();
  }
  std::string file() const {
    std::ifstream in(config_);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  httplib::Result put(const std::string& path, const json& body) { return client_->Put(path, headers_, body.dump(), "application/json"); }
  httplib::Result post(const std::string& path, const json& body) { return client_->Post(path, headers_, body.dump(), "application/json"); }
  json get(const std::string& path) {
    auto res = client_->Get(path, headers_);
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << path << ": " << res->body;
    return json::parse(res->body);
  }
  const std::string& last_script() const { return applier_.applied.back(); }

  std::mutex loop_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<httplib::Client> client_;
  httplib::Headers headers_;
};

TEST_F(WebApiTest, ServiceZonesChangeTheFileAndTheRuleset) {
  const auto applied = applier_.applied.size();
  auto res = put("/api/services/ssh", {{"zones", {"local", "other"}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_NE(file().find("[services.ssh]\nzones = [\"local\", \"other\"]"), std::string::npos) << file();
  EXPECT_NE(file().find("# site policy"), std::string::npos);
  ASSERT_EQ(applier_.applied.size(), applied + 1);
  const json c = get("/api/config");
  for (const auto& s : c["services"]) {
    if (s["name"] == "ssh") {
      EXPECT_EQ(s["zones"], (json{"local", "other"}));
    }
  }
  const json history = get("/api/history");
  ASSERT_FALSE(history["items"].empty());
  EXPECT_EQ(history["items"].back()["action"], "change");
  EXPECT_EQ(history["items"].back()["user"], "admin@127.0.0.1");
  EXPECT_NE(history["items"].back()["reason"].get<std::string>().find("ssh"), std::string::npos);
}

TEST_F(WebApiTest, InvalidChangeIsRefusedWithDiagnosticsAndNothingChanges) {
  const std::string before = file();
  const auto applied = applier_.applied.size();
  auto res = put("/api/services/ssh", {{"zones", {"intranet"}}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  const json body = json::parse(res->body);
  ASSERT_FALSE(body["diagnostics"].empty());
  EXPECT_NE(body["diagnostics"][0].get<std::string>().find("intranet"), std::string::npos);
  EXPECT_EQ(file(), before);
  EXPECT_EQ(applier_.applied.size(), applied);
  auto unknown = put("/api/services/nosuch", {{"zones", {"local"}}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
}

// The services grid: several services, built-in and custom, in one change; a custom service
// keeps its ports and description. One bad item refuses the whole change.
TEST_F(WebApiTest, SeveralServicesInOneChange) {
  ASSERT_EQ(put("/api/custom-services/crm", {{"ports", {"tcp/8443"}}, {"zones", {"local"}}, {"description", "CRM"}})->status, 200);
  const auto applied = applier_.applied.size();
  auto res = put("/api/services", {{"services", {{{"name", "ssh"}, {"zones", {"local", "other"}}},
                                                 {{"name", "crm"}, {"zones", {"local", "internet"}}}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(applier_.applied.size(), applied + 1) << "one change, one ruleset";
  EXPECT_NE(json::parse(res->body)["change"].get<std::string>().find("service ssh opened to: local, other; custom service crm set"),
            std::string::npos) << res->body;
  const json config = get("/api/config");
  for (const auto& s : config["services"]) {
    if (s["name"] == "ssh") {
      EXPECT_EQ(s["zones"], (json{"local", "other"}));
    }
    if (s["name"] == "crm") {
      EXPECT_EQ(s["zones"], (json{"local", "internet"}));
      EXPECT_EQ(s["ports"], (json{"tcp/8443"}));
      EXPECT_EQ(s["enforced_ports"], (json{"tcp/8443"}));
      EXPECT_EQ(s["description"], "CRM");
    }
  }
  const std::string before = file();
  auto bad = put("/api/services", {{"services", {{{"name", "ssh"}, {"zones", {"local"}}}, {{"name", "nosuch"}, {"zones", {"local"}}}}}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("unknown service nosuch"), std::string::npos) << bad->body;
  EXPECT_EQ(file(), before);
  EXPECT_EQ(put("/api/services", {{"services", "ssh"}})->status, 400);
}

// Settings: keys of one section in one change, null back to the default; a value the loader
// refuses is refused with its key and nothing changes; other sections are not editable here.
TEST_F(WebApiTest, SettingsAreSetAndResetInOneChange) {
  auto res = put("/api/settings/responsive", {{"values", {{"guessing_failures", 6}, {"protocols", {"sip"}}}}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_NE(file().find("[responsive]\nguessing_failures = 6\nprotocols = [\"sip\"]"), std::string::npos) << file();
  const json settings = get("/api/config")["settings"];
  EXPECT_EQ(settings["responsive"]["guessing_failures"], 6);
  EXPECT_EQ(settings["responsive"]["protocols"], (json{"sip"}));
  ASSERT_EQ(put("/api/settings/responsive", {{"values", {{"guessing_failures", nullptr}}}})->status, 200);
  EXPECT_EQ(file().find("guessing_failures"), std::string::npos) << file();
  const std::string before = file();
  auto bad = put("/api/settings/firewall", {{"values", {{"safe_mode_seconds", 5}}}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 422);
  EXPECT_NE(bad->body.find("safe_mode_seconds"), std::string::npos) << bad->body;
  EXPECT_EQ(file(), before);
  EXPECT_EQ(put("/api/settings/web", {{"values", {{"port", 1}}}})->status, 400);
  EXPECT_EQ(put("/api/settings/firewall", {{"values", {{"Bad Key", 1}}}})->status, 400);
  EXPECT_EQ(put("/api/settings/firewall", {{"values", {{"reject", {{"nested", 1}}}}}})->status, 400);
  // The AMI secret is never sent back.
  ASSERT_EQ(put("/api/settings/ami", {{"values", {{"secret", "s3cret"}}}})->status, 200);
  const json ami = get("/api/config")["settings"]["ami"];
  EXPECT_FALSE(ami.contains("secret"));
  EXPECT_TRUE(ami["secret_set"].get<bool>());
}

TEST_F(WebApiTest, SwitchOffAndOn) {
  auto off = put("/api/enabled", {{"enabled", false}});
  ASSERT_TRUE(off);
  ASSERT_EQ(off->status, 200) << off->body;
  EXPECT_FALSE(get("/api/overview")["enabled"].get<bool>());
  EXPECT_NE(file().find("enabled = false"), std::string::npos);
  auto on = put("/api/enabled", {{"enabled", true}});
  ASSERT_TRUE(on);
  ASSERT_EQ(on->status, 200);
  EXPECT_TRUE(get("/api/overview")["enabled"].get<bool>());
}

// Removing the only [users.EXT] table also removes the [users] it implied.
TEST_F(WebApiTest, InterfacesNetworksCustomServicesAndUsers) {
  ASSERT_EQ(put("/api/interfaces/eth1", {{"zone", "local"}})->status, 200);
  EXPECT_NE(last_script().find("eth1"), std::string::npos);
  ASSERT_EQ(put("/api/networks", {{"key", "203.0.113.0/24"}, {"zone", "other"}})->status, 200);
  EXPECT_EQ(get("/api/config")["networks"].size(), 2u);
  ASSERT_EQ(client_->Delete("/api/networks?key=203.0.113.0/24", headers_)->status, 200);
  EXPECT_EQ(get("/api/config")["networks"].size(), 1u);
  EXPECT_EQ(get("/api/trusted")["items"][0]["key"], "198.51.100.200");
  auto crm = put("/api/custom-services/crm", {{"ports", {"tcp/8443"}}, {"zones", {"local"}}, {"description", "CRM"}});
  ASSERT_EQ(crm->status, 200) << crm->body;
  EXPECT_NE(last_script().find("8443"), std::string::npos);
  ASSERT_EQ(client_->Delete("/api/custom-services/crm", headers_)->status, 200);
  EXPECT_EQ(last_script().find("8443"), std::string::npos);
  EXPECT_EQ(client_->Delete("/api/custom-services/crm", headers_)->status, 400);
  auto user = put("/api/users/301", {{"allow_from", {"198.51.100.0/24"}}, {"services", {"ucp"}}});
  ASSERT_EQ(user->status, 200) << user->body;
  EXPECT_EQ(get("/api/users")["items"][0], (json{{"name", "301"}, {"allow_from", {"198.51.100.0/24"}}, {"services", {"ucp"}}}));
  EXPECT_EQ(put("/api/users/301", {{"allow_from", {"10.0.0.1/8"}}})->status, 400);
  auto removed = client_->Delete("/api/users/301", headers_);
  ASSERT_EQ(removed->status, 200) << removed->body << "\n" << file();
  EXPECT_TRUE(get("/api/users")["items"].empty());
  ASSERT_EQ(client_->Delete("/api/interfaces/eth1", headers_)->status, 200);
  EXPECT_EQ(last_script().find("eth1"), std::string::npos);
}

TEST_F(WebApiTest, BlockAppearsWithItsReasonAndUnblockRemovesIt) {
  auto res = post("/api/block", {{"addr", "192.0.2.66"}, {"reason", "scanner seen in the lab"}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json blocked = get("/api/responsive/blocked");
  ASSERT_EQ(blocked["items"].size(), 1u);
  EXPECT_NE(blocked["items"][0]["reason"].get<std::string>().find("scanner seen in the lab"), std::string::npos);
  // An operator's block is not an attack: blocked now, but not counted as an attack blocked.
  EXPECT_EQ(get("/api/overview")["blocked"], 1);
  EXPECT_EQ(get("/api/overview")["blocked_last_hour"], 0);
  ASSERT_EQ(post("/api/unblock", {{"addr", "192.0.2.66"}})->status, 200);
  EXPECT_TRUE(get("/api/responsive/blocked")["items"].empty());
  EXPECT_EQ(post("/api/block", {{"addr", "not-an-address"}})->status, 400);
  EXPECT_EQ(post("/api/block", {{"addr", "198.51.100.200"}})->status, 400);  // trusted
}

// The loopback client of the test cannot be cut off; the lockout rule is checked through the
// daemon request as a remote browser's handler would send it.
TEST_F(WebApiTest, ChangeThatCutsOffTheAdminNeedsConfirmationAndRollsBackInSafeMode) {
  const json change = {{"cmd", "change"}, {"who", "admin@198.51.100.200"}, {"client", "198.51.100.200"},
                       {"change", {{"op", "network"}, {"key", "198.51.100.200"}, {"zone", "internet"}}}};
  const std::string before = file();
  json answer = firewall_->handle(change);
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_EQ(answer["http_status"], 409);
  EXPECT_EQ(file(), before);
  json confirmed = change;
  confirmed["confirm_lockout"] = true;
  answer = firewall_->handle(confirmed);
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  EXPECT_GT(answer["safe_mode"]["confirm_within_seconds"].get<int>(), 0);
  EXPECT_NE(file(), before);
  clock_.advance(std::chrono::seconds(answer["safe_mode"]["confirm_within_seconds"].get<int>() + 1));
  firewall_->housekeeping();
  EXPECT_EQ(file(), before);
  // Confirmed in time, it stays.
  answer = firewall_->handle(confirmed);
  ASSERT_TRUE(answer["ok"].get<bool>());
  EXPECT_TRUE(firewall_->handle({{"cmd", "confirm"}, {"who", "admin@198.51.100.200"}})["ok"].get<bool>());
  clock_.advance(std::chrono::hours(1));
  firewall_->housekeeping();
  EXPECT_NE(file().find("\"198.51.100.200\" = \"internet\""), std::string::npos);
}

TEST_F(WebApiTest, OverviewWarnsAboutAnUntrustedClient) {
  json o = firewall_->handle({{"cmd", "overview"}, {"client", "203.0.113.9"}});
  ASSERT_TRUE(o["ok"].get<bool>());
  bool untrusted = false;
  for (const auto& w : o["warnings"]) untrusted |= w["kind"] == "untrusted_client";
  EXPECT_TRUE(untrusted);
  o = firewall_->handle({{"cmd", "overview"}, {"client", "198.51.100.200"}});
  for (const auto& w : o["warnings"]) EXPECT_NE(w["kind"], "untrusted_client");
}

// The real daemon's metrics answer, through the server, is valid exposition text.
TEST_F(WebApiTest, MetricsCountKernelCommits) {
  ASSERT_EQ(post("/api/block", {{"addr", "192.0.2.66"}})->status, 200);
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto m = http::test::parse_prometheus_text(res->body);
  ASSERT_TRUE(m.error.empty()) << m.error << "\n" << res->body;
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_count"), 1);
  EXPECT_EQ(m.value("pbxwall_kernel_set_update_seconds_bucket", {{"le", "+Inf"}}), 1);
  EXPECT_EQ(m.value("pbxwall_sources", {{"state", "blocked"}}), 1);
  EXPECT_EQ(m.value("pbxwall_decisions_total", {{"rule", "manual"}}), 1);
  EXPECT_EQ(m.value("pbxwall_engine_sources"), 1);
  for (const char* name : {"pbxwall_engine_evictions_total", "pbxwall_dns_refreshes_total", "pbxwall_dns_failures_total"})
    EXPECT_TRUE(m.value(name).has_value()) << name;
}

TEST_F(WebApiTest, RulesetIsReadBackAsAppliedAndFollowsAChange) {
  const std::string before = get("/api/ruleset")["ruleset"];
  EXPECT_EQ(before, applier_.table);
  ASSERT_EQ(put("/api/services/ssh", {{"zones", {"local", "other"}}})->status, 200);
  const std::string after = get("/api/ruleset")["ruleset"];
  EXPECT_EQ(after, applier_.table);
  EXPECT_NE(after, before);
}

TEST_F(WebApiTest, LoginFailuresBecomeEvents) {
  auto res = client_->Post("/api/login", R"({"password": "wrong guess"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  const json history = get("/api/history");
  bool found = false;
  for (const auto& e : history["items"]) found |= e["action"] == "login_failed" && e["addr"] == "127.0.0.1";
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace pbxwall
