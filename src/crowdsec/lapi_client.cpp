#include "crowdsec/lapi_client.h"

#include <httplib.h>

#include "crowdsec/push_queue.h"

namespace pbxwall::crowdsec {

namespace {

// "type/version", as the LAPI records bouncers (anything else logs a warning on every pull).
constexpr const char* kUserAgent = "pbxwall/0.1.0";

Result<HttpAnswer> to_answer(const char* what, const httplib::Result& r) {
  if (!r) return fail(std::string(what) + ": " + httplib::to_string(r.error()));
  return HttpAnswer{r->status, r->body};
}

}  // namespace

LapiClient::LapiClient(LapiEndpoint endpoint) : endpoint_(std::move(endpoint)) {
  http_ = std::make_unique<httplib::Client>(endpoint_.url);
  http_->set_connection_timeout(std::chrono::duration_cast<std::chrono::microseconds>(endpoint_.connect_timeout));
  http_->set_read_timeout(std::chrono::duration_cast<std::chrono::microseconds>(endpoint_.read_timeout));
  http_->set_write_timeout(std::chrono::duration_cast<std::chrono::microseconds>(endpoint_.read_timeout));
  http_->set_keep_alive(true);
  http_->set_default_headers({{"User-Agent", kUserAgent}});
}

LapiClient::~LapiClient() = default;

Result<Token> LapiClient::login(const std::string& machine_id, const std::string& password) {
  const nlohmann::json body = {{"machine_id", machine_id}, {"password", password}, {"scenarios", nlohmann::json::array()}};
  auto answer = to_answer("login", http_->Post("/v1/watchers/login", body.dump(), "application/json"));
  if (!answer.ok()) return fail(answer.error());
  if (answer->status != 200) return fail(describe("login", *answer));
  auto doc = nlohmann::json::parse(answer->body, nullptr, false);
  if (!doc.is_object() || !doc.contains("token") || !doc["token"].is_string())
    return fail(std::string("login: the answer has no token"));
  Token token{doc["token"].get<std::string>(), {}};
  auto expire = doc.contains("expire") && doc["expire"].is_string() ? parse_rfc3339(doc["expire"].get<std::string>())
                                                                     : std::nullopt;
  if (!expire) return fail(std::string("login: the answer has no valid expire time"));
  token.expire = *expire;
  return token;
}

Result<HttpAnswer> LapiClient::post_alerts(const Token& token, const nlohmann::json& alerts) {
  httplib::Headers headers{{"Authorization", "Bearer " + token.jwt}};
  return to_answer("sending alerts", http_->Post("/v1/alerts", headers, alerts.dump(), "application/json"));
}

Result<HttpAnswer> LapiClient::delete_decisions(const Token& token, const std::string& query) {
  httplib::Headers headers{{"Authorization", "Bearer " + token.jwt}};
  return to_answer("deleting decisions", http_->Delete("/v1/decisions?" + query, headers));
}

Result<HttpAnswer> LapiClient::stream(const std::string& bouncer_key, bool startup, const std::string& filter_query) {
  httplib::Headers headers{{"X-Api-Key", bouncer_key}};
  const std::string path = std::string("/v1/decisions/stream?startup=") + (startup ? "true" : "false") + filter_query;
  return to_answer("pulling decisions", http_->Get(path, headers));
}

void LapiClient::stop() { http_->stop(); }

std::string describe(const char* what, const HttpAnswer& answer) {
  std::string message;
  auto doc = nlohmann::json::parse(answer.body, nullptr, false);
  if (doc.is_object() && doc.contains("message") && doc["message"].is_string()) message = doc["message"];
  std::string s = std::string(what) + ": HTTP " + std::to_string(answer.status);
  if (!message.empty()) s += " (" + message.substr(0, 200) + ")";
  return s;
}

}  // namespace pbxwall::crowdsec
