// The web server against a fake daemon: authentication, CSRF, rate limiting, the mapping of
// routes to daemon calls, error statuses, events and metrics, over real HTTP on loopback.
#include "http/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <sstream>

#include "http/password.h"

namespace pbxwall::http {
namespace {

using nlohmann::json;

class FakeDaemon {
 public:
  json operator()(const json& request) {
    std::lock_guard lock(mutex);
    calls.push_back(request);
    if (next) {
      json a = *next;
      next.reset();
      return a;
    }
    if (request["cmd"] == "metrics") return {{"ok", true}, {"packets_in", 7}, {"decisions", {{"fingerprint", 3}}}};
    return {{"ok", true}, {"echo", request}};
  }
  json last() {
    std::lock_guard lock(mutex);
    return calls.empty() ? json() : calls.back();
  }
  std::mutex mutex;
  std::vector<json> calls;
  std::optional<json> next;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pbxwall-http-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "web");
    std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>pbxwall</title>";
    std::ofstream(dir_ / "web" / "openapi.json") << R"({"openapi": "3.0.3"})";
    settings_.port = 0;
    settings_.root = (dir_ / "web").string();
    settings_.password_file = (dir_ / "web-password").string();
    auto hash = hash_password("correct horse", kCheapestPasswordCost);
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(write_password_file(settings_.password_file, *hash).ok());
    server_ = std::make_unique<Server>(settings_, [this](const json& r) { return daemon_(r); }, clock_);
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Logs in; returns the CSRF token and keeps the cookie for later requests.
  std::string login() {
    auto res = client_->Post("/api/login", R"({"password": "correct horse"})", "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    const std::string cookie = res->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    cookie_ = cookie.substr(0, cookie.find(';'));
    return json::parse(res->body)["csrf"];
  }
  // Runs `request` on a thread while the simulated clock moves on in steps of 250 ms, until it
  // has its answer (bounded: 10 simulated minutes).
  template <class F>
  auto with_clock_running(F request) {
    auto answer = std::async(std::launch::async, request);
    for (int step = 0; step < 2400 && answer.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready; ++step)
      clock_.advance(std::chrono::milliseconds(250));
    return answer.get();
  }
  httplib::Headers auth(const std::string& csrf = "") {
    httplib::Headers h = {{"Cookie", cookie_}};
    if (!csrf.empty()) h.emplace("X-CSRF-Token", csrf);
    return h;
  }

  std::filesystem::path dir_;
  WebSettings settings_;
  SimulatedClock clock_;
  FakeDaemon daemon_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::string cookie_;
};

TEST_F(ServerTest, ApiNeedsALogin) {
  auto res = client_->Get("/api/config");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(daemon_.calls.empty());
  auto session = client_->Get("/api/session");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 200);
  EXPECT_FALSE(json::parse(session->body)["authenticated"].get<bool>());
  EXPECT_TRUE(json::parse(session->body)["password_set"].get<bool>());
}

TEST_F(ServerTest, LoginThenReadsGoToTheDaemon) {
  login();
  auto res = client_->Get("/api/config", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(daemon_.last()["cmd"], "config");
  auto list = client_->Get("/api/responsive/flagged", auth());
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(daemon_.last()["what"], "flagged");
}

TEST_F(ServerTest, ChangesNeedTheCsrfToken) {
  const std::string csrf = login();
  auto without = client_->Put("/api/interfaces/eth1", auth(), R"({"zone": "local"})", "application/json");
  ASSERT_TRUE(without);
  EXPECT_EQ(without->status, 403);
  auto wrong = client_->Put("/api/interfaces/eth1", auth(std::string(csrf.size(), '0')), R"({"zone": "local"})", "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  auto with = client_->Put("/api/interfaces/eth1", auth(csrf), R"({"zone": "local"})", "application/json");
  ASSERT_TRUE(with);
  EXPECT_EQ(with->status, 200) << with->body;
  const json call = daemon_.last();
  EXPECT_EQ(call["cmd"], "change");
  EXPECT_EQ(call["change"], (json{{"op", "interface"}, {"name", "eth1"}, {"zone", "local"}}));
  EXPECT_EQ(call["who"], "admin@127.0.0.1");
  EXPECT_EQ(call["client"], "127.0.0.1");
}

// An address that guessed wrong waits longer for each check, but the right password still
// gets in: the login waits for its turn instead of being refused.
TEST_F(ServerTest, WrongPasswordsSlowTheAddressDownButTheRightOneGetsIn) {
  for (int i = 0; i < 5; ++i) {
    auto res = with_clock_running([&] { return client_->Post("/api/login", R"({"password": "guess"})", "application/json"); });
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
  }
  EXPECT_EQ(daemon_.last()["cmd"], "record");
  EXPECT_EQ(daemon_.last()["kind"], "login_failed");
  const TimePoint before = clock_.now();
  auto right = with_clock_running([&] { return client_->Post("/api/login", R"({"password": "correct horse"})", "application/json"); });
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200) << right->body;
  EXPECT_GE(clock_.now() - before, std::chrono::seconds(2));  // the delay after five failures
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("pbxwall_web_failed_logins_total 5"), std::string::npos);
  EXPECT_NE(metrics->body.find("pbxwall_web_rate_limited_logins_total 0"), std::string::npos);
  EXPECT_NE(metrics->body.find("pbxwall_web_password_checks_total 6"), std::string::npos);
}

TEST_F(ServerTest, SessionsExpire) {
  login();
  clock_.advance(settings_.session_lifetime + std::chrono::seconds(1));
  auto res = client_->Get("/api/config", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(ServerTest, LogoutEndsTheSession) {
  const std::string csrf = login();
  auto out = client_->Post("/api/logout", auth(csrf), "", "application/json");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200);
  auto res = client_->Get("/api/config", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
}

TEST_F(ServerTest, DaemonRefusalsKeepTheirStatusAndMessage) {
  const std::string csrf = login();
  daemon_.next = json{{"ok", false}, {"error", "would cut you off"}, {"http_status", 409}, {"lockout", true}};
  auto res = client_->Put("/api/networks", auth(csrf), R"({"key": "192.0.2.0/24", "zone": "reject"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(json::parse(res->body)["error"], "would cut you off");
  EXPECT_TRUE(json::parse(res->body)["lockout"].get<bool>());
  daemon_.next = json{{"ok", false}, {"error", "invalid"}, {"http_status", 422}, {"diagnostics", {"pbxwall.toml:3:1: error"}}};
  res = client_->Put("/api/services/ssh", auth(csrf), R"({"zones": ["intranet"]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422);
  EXPECT_EQ(json::parse(res->body)["diagnostics"][0], "pbxwall.toml:3:1: error");
}

TEST_F(ServerTest, GarbageBodiesGetFourHundreds) {
  const std::string csrf = login();
  const std::vector<std::string> bodies = {"", "{", "[]", "null", "42", "\"x\"", "{\"zone\": 5}", std::string(3, '\0'),
                                           "{\"enabled\": \"yes\"}", "{\"addr\": []}", std::string(70000, '{')};
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"PUT", "/api/enabled"}, {"PUT", "/api/networks"}, {"POST", "/api/block"}, {"POST", "/api/unblock"},
      {"PUT", "/api/services/ssh"}, {"PUT", "/api/users/301"}, {"POST", "/api/login"}};
  for (const auto& [method, path] : routes) {
    for (const auto& body : bodies) {
      daemon_.next = json{{"ok", false}, {"error", "refused by the daemon"}};
      auto res = method == "PUT" ? client_->Put(path, auth(csrf), body, "application/json")
                                 : client_->Post(path, auth(csrf), body, "application/json");
      ASSERT_TRUE(res) << method << " " << path;
      EXPECT_GE(res->status, 400) << method << " " << path << " " << body.substr(0, 20);
      EXPECT_LT(res->status, 500) << method << " " << path << " " << body.substr(0, 20);
    }
  }
  auto bad_history = client_->Get("/api/history?after_id=abc", auth());
  ASSERT_TRUE(bad_history);
  EXPECT_EQ(bad_history->status, 400);
  auto unknown = client_->Get("/api/nothing", auth());
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

// Also stops a server right after start(), before its thread is listening: stop() must still
// end it.
TEST_F(ServerTest, DaemonThatThrowsGivesBadGateway) {
  server_.reset();
  server_ = std::make_unique<Server>(settings_, [](const json&) -> json { throw std::runtime_error("loop gone"); }, clock_);
  ASSERT_TRUE(server_->start().ok());
  client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  login();
  auto res = client_->Get("/api/status", auth());
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 502);
}

// The daemon's counters arrive as signed or unsigned JSON numbers; both are exposed.
TEST_F(ServerTest, MetricsInPrometheusFormat) {
  auto res = client_->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->body.find("pbxwall_packets_inspected_total{direction=\"to_pbx\"} 7"), std::string::npos);
  EXPECT_NE(res->body.find("pbxwall_decisions_total{rule=\"fingerprint\"} 3"), std::string::npos);
  for (const char* name : {"pbxwall_sources{state=\"blocked\"}", "pbxwall_engine_evictions_total",
                           "pbxwall_kernel_set_update_seconds_bucket{le=\"+Inf\"}", "pbxwall_dns_refreshes_total",
                           "pbxwall_dns_failures_total", "# TYPE pbxwall_kernel_set_update_seconds histogram"})
    EXPECT_NE(res->body.find(name), std::string::npos) << name;
}

TEST_F(ServerTest, StaticFilesAndOpenApi) {
  auto index = client_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_NE(index->body.find("pbxwall"), std::string::npos);
  EXPECT_EQ(index->get_header_value("X-Frame-Options"), "DENY");
  auto spec = client_->Get("/api/openapi.json");
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->status, 200);
  EXPECT_EQ(json::parse(spec->body)["openapi"], "3.0.3");
}

std::string file_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The server's routes, web/openapi.json and docs/api.md name the same METHOD /path pairs.
TEST_F(ServerTest, EveryRouteIsInTheOpenApiDocumentAndInTheApiDoc) {
  const json spec = json::parse(file_text(PBXWALL_WEB_ROOT "/openapi.json"), nullptr, false);
  ASSERT_TRUE(spec.is_object() && spec.contains("paths")) << "web/openapi.json is not an OpenAPI document";
  const std::string doc = file_text(PBXWALL_API_DOC);
  ASSERT_FALSE(doc.empty());
  std::set<std::pair<std::string, std::string>> registered;
  ASSERT_GE(server_->routes().size(), 20u);
  for (const auto& r : server_->routes()) {
    std::string method = r.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    registered.emplace(method, r.path);
    EXPECT_TRUE(spec["paths"].contains(r.path) && spec["paths"][r.path].contains(method))
        << r.method << " " << r.path << " is not in web/openapi.json";
    EXPECT_NE(doc.find("`" + r.method + " " + r.path), std::string::npos) << r.method << " " << r.path << " is not in docs/api.md";
  }
  for (const auto& [path, item] : spec["paths"].items())
    for (const auto& [method, operation] : item.items()) {
      if (method != "parameters") {
        EXPECT_TRUE(registered.contains({method, path})) << method << " " << path << " is documented but not served";
      }
    }
}

// Every route the server registers: without a session 401 (except the few open ones), and
// every change without the CSRF token 403, before the daemon hears of it.
TEST_F(ServerTest, EveryRouteNeedsASessionAndEveryChangeTheCsrfToken) {
  const std::set<std::string> open = {"/api/login", "/api/session", "/api/openapi.json", "/metrics"};
  auto send = [&](const Route& r, const httplib::Headers& h) {
    std::string path;
    for (std::size_t i = 0; i < r.path.size(); ++i) {
      if (r.path[i] == '{') {
        path += "x1";
        i = r.path.find('}', i);
      } else {
        path += r.path[i];
      }
    }
    const std::string body = R"({"addr": "192.0.2.1", "enabled": true, "zones": []})";
    if (r.method == "GET") return client_->Get(path, h);
    if (r.method == "POST") return client_->Post(path, h, body, "application/json");
    if (r.method == "PUT") return client_->Put(path, h, body, "application/json");
    return client_->Delete(path, h);
  };
  std::size_t checked_routes = 0;
  for (const auto& r : server_->routes()) {
    if (open.contains(r.path)) continue;
    auto res = send(r, {});
    ASSERT_TRUE(res) << r.method << " " << r.path;
    EXPECT_EQ(res->status, 401) << r.method << " " << r.path;
    ++checked_routes;
  }
  EXPECT_TRUE(daemon_.calls.empty());
  login();
  const auto calls_after_login = daemon_.calls.size();
  for (const auto& r : server_->routes()) {
    if (open.contains(r.path) || r.method == "GET") continue;
    auto res = send(r, auth());
    ASSERT_TRUE(res) << r.method << " " << r.path;
    EXPECT_EQ(res->status, 403) << r.method << " " << r.path;
  }
  EXPECT_EQ(daemon_.calls.size(), calls_after_login);
  EXPECT_GE(checked_routes, 20u);
}

TEST_F(ServerTest, EventStreamDeliversPublishedEvents) {
  login();
  server_->publish({{"id", 1}, {"action", "block"}, {"addr", "192.0.2.66"}});
  server_->publish({{"id", 2}, {"action", "unblock"}, {"addr", "192.0.2.66"}});
  std::string received;
  httplib::Headers h = auth();
  h.emplace("Last-Event-ID", "0");
  auto res = client_->Get("/api/events", h, [&](const char* data, std::size_t n) {
    received.append(data, n);
    return received.find("unblock") == std::string::npos;  // stop once both arrived
  });
  EXPECT_NE(received.find("id: 1\nevent: decision\ndata: {"), std::string::npos) << received;
  EXPECT_NE(received.find("\"addr\":\"192.0.2.66\""), std::string::npos);
  EXPECT_NE(received.find("unblock"), std::string::npos);
}

TEST_F(ServerTest, NoPasswordFileMeansNoLogin) {
  std::filesystem::remove(settings_.password_file);
  auto res = client_->Post("/api/login", R"({"password": "correct horse"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(res->body.find("pbxwall passwd"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::http
