// The HTTP side of the LAPI: watcher login, alerts, decision deletes, the bouncer stream.
// Blocking calls with bounded timeouts; the daemon runs them on a thread of their own, never
// on its event loop. Errors are values naming the request and what went wrong; secrets never
// appear in them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/time.h"

namespace httplib {
class Client;
}

namespace pbxwall::crowdsec {

struct LapiEndpoint {
  std::string url;  // "http://127.0.0.1:8080" (https too)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds read_timeout{60000};  // a startup stream of 100,000 decisions takes ~13 s
};

struct Token {
  std::string jwt;
  TimePoint expire;  // from the login answer
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

class LapiClient {
 public:
  explicit LapiClient(LapiEndpoint endpoint);
  ~LapiClient();
  LapiClient(const LapiClient&) = delete;
  LapiClient& operator=(const LapiClient&) = delete;

  // POST /v1/watchers/login.
  Result<Token> login(const std::string& machine_id, const std::string& password);
  // POST /v1/alerts (JWT); an HTTP error status is an answer, not an error.
  Result<HttpAnswer> post_alerts(const Token& token, const nlohmann::json& alerts);
  // DELETE /v1/decisions?<query> (JWT).
  Result<HttpAnswer> delete_decisions(const Token& token, const std::string& query);
  // GET /v1/decisions/stream?startup=<startup><filter_query> (X-Api-Key).
  Result<HttpAnswer> stream(const std::string& bouncer_key, bool startup, const std::string& filter_query);

  // From another thread: ends a request under way (it fails) so its thread can be joined.
  void stop();

 private:
  LapiEndpoint endpoint_;
  std::unique_ptr<httplib::Client> http_;
};

// "401 Unauthorized: <the LAPI's message>" style text for an answer that is not 2xx.
std::string describe(const char* what, const HttpAnswer& answer);

}  // namespace pbxwall::crowdsec
