// The LAPI client against a scripted LAPI: an httplib::Server on loopback that answers like
// CrowdSec's and records what it was asked.
#include "crowdsec/lapi_client.h"

#include <httplib.h>

#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "crowdsec/decision.h"
#include "crowdsec/push_queue.h"

namespace pbxwall::crowdsec {
namespace {

class ScriptedLapi {
 public:
  ScriptedLapi() {
    server_.Post("/v1/watchers/login", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.value("password", "") != "right") {
        res.status = 401;
        res.set_content(R"({"code":401,"message":"incorrect Username or Password"})", "application/json");
        return;
      }
      res.set_content(R"({"code":200,"expire":"2030-01-02T03:04:05Z","token":"jwt-1"})", "application/json");
    });
    server_.Post("/v1/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.get_header_value("Authorization") != "Bearer jwt-1") {
        res.status = 401;
        res.set_content(R"({"code":401,"message":"Token is expired"})", "application/json");
        return;
      }
      res.status = 201;
      res.set_content(R"(["1"])", "application/json");
    });
    server_.Delete("/v1/decisions", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"nbDeleted":"1"})", "application/json");
    });
    server_.Get("/v1/decisions/stream", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (req.get_header_value("X-Api-Key") != "key-1") {
        res.status = 403;
        res.set_content(R"({"message":"access forbidden"})", "application/json");
        return;
      }
      res.set_content(R"({"new":[{"id":1,"origin":"cscli","scenario":"x","scope":"Ip","type":"ban","value":"203.0.113.9","duration":"1h"}],"deleted":null})",
                      "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ScriptedLapi() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<httplib::Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void record(const httplib::Request& req) {
    std::lock_guard lock(mutex_);
    requests_.push_back(req);
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<httplib::Request> requests_;
};

TEST(LapiClient, LogsInAndPushesWithTheToken) {
  ScriptedLapi lapi;
  LapiClient client({lapi.url()});
  auto token = client.login("pbx-a", "right");
  ASSERT_TRUE(token.ok()) << token.error();
  EXPECT_EQ(token->jwt, "jwt-1");
  EXPECT_EQ(token->expire, parse_rfc3339("2030-01-02T03:04:05Z"));
  const TimePoint now = TimePoint(std::chrono::seconds(1'700'000'000));
  auto body = alerts_body({PushItem{1, PushKind::ban, *Cidr::parse("203.0.113.1"), "fingerprint", "svwar", now,
                                    now + std::chrono::hours(1)}},
                          "pbx-a", now);
  auto posted = client.post_alerts(*token, body);
  ASSERT_TRUE(posted.ok()) << posted.error();
  EXPECT_EQ(posted->status, 201);
  auto deleted = client.delete_decisions(*token, unban_query(*Cidr::parse("203.0.113.1")));
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->status, 200);
  auto seen = lapi.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(seen[0].body)["machine_id"], "pbx-a");
  auto alerts = nlohmann::json::parse(seen[1].body);
  ASSERT_TRUE(alerts.is_array());
  EXPECT_EQ(alerts[0]["decisions"][0]["value"], "203.0.113.1");
  EXPECT_EQ(seen[2].get_param_value("ip"), "203.0.113.1");
  EXPECT_EQ(seen[2].get_param_value("origin"), "pbxwall");
}

TEST(LapiClient, RefusedLoginSaysWhyWithoutThePassword) {
  ScriptedLapi lapi;
  LapiClient client({lapi.url()});
  auto token = client.login("pbx-a", "wrong-secret");
  ASSERT_FALSE(token.ok());
  EXPECT_NE(token.error().find("HTTP 401 (incorrect Username or Password)"), std::string::npos) << token.error();
  EXPECT_EQ(token.error().find("wrong-secret"), std::string::npos);
  auto expired = client.post_alerts(Token{"old", {}}, nlohmann::json::array());
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->status, 401);
}

TEST(LapiClient, StreamsWithTheKeyAndFilters) {
  ScriptedLapi lapi;
  LapiClient client({lapi.url()});
  DecisionFilter f;
  f.origins = {"cscli", "crowdsec"};
  auto answer = client.stream("key-1", true, f.query());
  ASSERT_TRUE(answer.ok()) << answer.error();
  EXPECT_EQ(answer->status, 200);
  auto delta = parse_stream(answer->body);
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->added.size(), 1u);
  auto seen = lapi.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].get_param_value("startup"), "true");
  EXPECT_EQ(seen[0].get_param_value("origins"), "cscli,crowdsec");
  auto refused = client.stream("bad-key", false, "");
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(describe("pulling decisions", *refused), "pulling decisions: HTTP 403 (access forbidden)");
}

TEST(LapiClient, UnreachableIsAnError) {
  int port = 0;
  {
    httplib::Server probe;
    port = probe.bind_to_any_port("127.0.0.1");
  }  // closed again: nothing listens there
  LapiClient client({"http://127.0.0.1:" + std::to_string(port), std::chrono::milliseconds(500),
                     std::chrono::milliseconds(500)});
  auto answer = client.stream("key-1", true, "");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().find("pulling decisions"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::crowdsec
