// The web server of pbxwalld: the UI's static files, the REST API under /api/, Server-Sent
// Events at /api/events and Prometheus metrics at /metrics.
//
// Threads: cpp-httplib answers on its own thread pool. Handlers never touch the daemon's state;
// every API request becomes one JSON call through DaemonCall, which the daemon runs on its event
// loop (tests pass a fake). Answers of the daemon are {"ok": true, ...} or {"ok": false,
// "error": "...", "http_status": 4xx/5xx (optional, default 400), "diagnostics": [...]}.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "base/time.h"
#include "http/event_feed.h"
#include "http/metrics_text.h"
#include "http/sessions.h"
#include "http/settings.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pbxwall::http {

using DaemonCall = std::function<nlohmann::json(const nlohmann::json&)>;

// A route the server answers, its path written as in openapi.json: "/api/users/{extension}".
struct Route {
  std::string method;  // GET, PUT, POST, DELETE
  std::string path;
};

inline constexpr const char* kSessionCookie = "pbxwall_session";
inline constexpr int kMaxEventStreams = 4;  // each holds a server thread

class Server {
 public:
  Server(WebSettings settings, DaemonCall call, const Clock& clock);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listen address (port 0: any free port) and starts answering on a thread.
  Status<std::string> start();
  std::uint16_t port() const { return port_; }
  void stop();

  // A daemon event (the JSON of daemon::event_json) for the /api/events streams. Thread-safe.
  void publish(const nlohmann::json& event);

  // Every route registered by start(), in registration order (the static files aside).
  const std::vector<Route>& routes() const { return routes_; }

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // Registers a route; each {parameter} of `path` matches one path segment (1..64 characters
  // other than '/'), available in the handler as req.matches[1], [2], ...
  void add(const std::string& method, const std::string& path, Handler handler);
  void add_routes();
  void api_routes();
  bool authorise(const httplib::Request& req, httplib::Response& res);
  std::optional<Session> session_of(const httplib::Request& req);
  void login(const httplib::Request& req, httplib::Response& res);
  void logout(const httplib::Request& req, httplib::Response& res);
  void session_info(const httplib::Request& req, httplib::Response& res);
  void metrics(httplib::Response& res);
  void event_stream(const httplib::Request& req, httplib::Response& res);
  // Calls the daemon and writes its answer (or its error with the status it asks for).
  void forward(const nlohmann::json& request, httplib::Response& res);
  nlohmann::json call(const nlohmann::json& request);
  std::string who(const httplib::Request& req);

  WebSettings settings_;
  DaemonCall call_;
  const Clock& clock_;
  SessionTable sessions_;
  LoginThrottle throttle_;
  EventFeed feed_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<Route> routes_;
  std::thread thread_;
  // Set when listen_after_bind() returned: httplib's stop() does nothing before the listen
  // loop has started, so stop() repeats it until the loop has ended.
  std::mutex listen_mutex_;
  std::condition_variable listen_ended_signal_;
  bool listen_ended_ = false;
  std::uint16_t port_ = 0;
  std::atomic<int> streams_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> failed_logins_{0};
  std::atomic<std::uint64_t> rate_limited_{0};
};

// A JSON body, or an error message naming what is wrong with it.
Result<nlohmann::json> parse_body(const std::string& body);

}  // namespace pbxwall::http
