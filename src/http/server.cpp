#include "http/server.h"

#include <httplib.h>

#include <algorithm>
#include <filesystem>

#include "http/bounded_server.h"
#include "http/password.h"

namespace pbxwall::http {

using nlohmann::json;

namespace {

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string cookies = req.get_header_value("Cookie");
  std::size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    const std::size_t end = std::min(cookies.find(';', pos), cookies.size());
    const std::string_view pair(cookies.data() + pos, end - pos);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    pos = end;
  }
  return {};
}

bool is_change(const std::string& method) { return method != "GET" && method != "HEAD" && method != "OPTIONS"; }

// A body is read only when its length is declared, within the limit and not compressed:
// chunked bodies, bodies read until the connection closes and compressed ones (their size
// once inflated is unknown) are refused before a byte of them is read.
bool refuse_body(const httplib::Request& req, httplib::Response& res) {
  auto refuse = [&](int status, const std::string& message) {
    send_error(res, status, message);
    res.set_header("Connection", "close");
    BoundedServer::close_after_answer();
    return true;
  };
  if (req.has_header("Transfer-Encoding"))
    return refuse(411, "Transfer-Encoding is not accepted: send the body with a Content-Length");
  const std::string encoding = req.get_header_value("Content-Encoding");
  if (!encoding.empty() && encoding != "identity") return refuse(415, "Content-Encoding " + encoding + " is not accepted");
  const bool takes_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (!req.has_header("Content-Length")) {
    if (takes_body) return refuse(411, "Content-Length required");
    return false;
  }
  const std::string length = req.get_header_value("Content-Length");
  const bool digits = !length.empty() && length.size() <= 12 &&
                      std::all_of(length.begin(), length.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return refuse(400, "Content-Length: not a number");
  if (std::stoull(length) > kMaxBodyBytes)
    return refuse(413, "body larger than " + std::to_string(kMaxBodyBytes / 1024) + " KB");
  return false;
}

}  // namespace

Result<json> parse_body(const std::string& body) {
  if (body.empty()) return fail(std::string("body: expected a JSON object, got nothing"));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return fail(std::string("body: not valid JSON"));
  if (!j.is_object()) return fail(std::string("body: expected a JSON object"));
  return j;
}

Server::Server(WebSettings settings, DaemonCall call, const Clock& clock)
    : settings_(std::move(settings)),
      call_(std::move(call)),
      clock_(clock),
      sessions_(clock, settings_.session_lifetime),
      throttle_(clock, LoginThrottle::Limits{.checks_per_minute = settings_.login_attempts_per_minute}) {}

Server::~Server() { stop(); }

json Server::call(const json& request) {
  try {
    json answer = call_(request);
    if (!answer.is_object()) return {{"ok", false}, {"error", "the daemon gave no answer"}, {"http_status", 502}};
    return answer;
  } catch (const std::exception& e) {
    return {{"ok", false}, {"error", std::string("the daemon could not answer: ") + e.what()}, {"http_status", 502}};
  }
}

void Server::forward(const json& request, httplib::Response& res) {
  json answer = call(request);
  if (answer.value("ok", false)) {
    answer.erase("ok");
    send_json(res, 200, answer);
    return;
  }
  int status = 400;
  if (answer.contains("http_status") && answer["http_status"].is_number_integer()) status = answer["http_status"].get<int>();
  if (status < 400 || status > 599) status = 400;
  json body = {{"error", answer.value("error", std::string("refused"))}};
  if (answer.contains("diagnostics")) body["diagnostics"] = answer["diagnostics"];
  if (answer.contains("lockout")) body["lockout"] = answer["lockout"];
  send_json(res, status, body);
}

std::string Server::who(const httplib::Request& req) { return "admin@" + req.remote_addr; }

std::optional<Session> Server::session_of(const httplib::Request& req) {
  const std::string id = cookie_value(req, kSessionCookie);
  if (id.empty()) return std::nullopt;
  return sessions_.find(id);
}

bool Server::authorise(const httplib::Request& req, httplib::Response& res) {
  auto session = session_of(req);
  if (!session) {
    send_error(res, 401, "log in first");
    return false;
  }
  if (is_change(req.method) && !same_secret(req.get_header_value("X-CSRF-Token"), session->csrf)) {
    send_error(res, 403, "missing or wrong X-CSRF-Token header");
    return false;
  }
  return true;
}

void Server::login(const httplib::Request& req, httplib::Response& res) {
  const std::string client = req.remote_addr;
  auto body = parse_body(req.body);
  if (!body.ok()) return send_error(res, 400, body.error());
  if (!body->contains("password") || !(*body)["password"].is_string())
    return send_error(res, 400, "password: expected a string");
  auto hash = read_password_file(settings_.password_file);
  if (!hash.ok()) return send_error(res, 503, hash.error());
  // Waits for this login's turn (after a growing delay when the address failed before).
  if (throttle_.wait_turn(client) != LoginThrottle::Turn::check) {
    ++rate_limited_;
    res.set_header("Retry-After", "60");
    send_error(res, 429, "too many logins are waiting for a password check; try again in a minute");
    return;
  }
  const bool right = verify_password(*hash, (*body)["password"].get<std::string>());
  throttle_.done(client, right);
  if (!right) {
    ++failed_logins_;
    (void)call({{"cmd", "record"}, {"kind", "login_failed"}, {"addr", client}, {"user", "admin"},
                {"reason", "wrong password for the web UI"}});
    return send_error(res, 401, "wrong password");
  }
  const Session s = sessions_.open(client);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(sessions_.lifetime()).count();
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=" + s.id + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                   std::to_string(seconds) + (settings_.tls() ? "; Secure" : ""));
  (void)call({{"cmd", "record"}, {"kind", "login"}, {"addr", client}, {"user", "admin"}, {"reason", "logged in to the web UI"}});
  send_json(res, 200, {{"csrf", s.csrf}, {"expires_in", seconds}});
}

void Server::logout(const httplib::Request& req, httplib::Response& res) {
  sessions_.close(cookie_value(req, kSessionCookie));
  res.set_header("Set-Cookie", std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
  send_json(res, 200, json::object());
}

void Server::session_info(const httplib::Request& req, httplib::Response& res) {
  auto session = session_of(req);
  json body = {{"authenticated", session.has_value()},
               {"password_set", read_password_file(settings_.password_file).ok()},
               {"client", req.remote_addr},
               {"tls", settings_.tls()}};
  if (session) body["csrf"] = session->csrf;
  send_json(res, 200, body);
}

void Server::metrics(httplib::Response& res) {
  json m = call({{"cmd", "metrics"}});
  WebCounters web{requests_.load(), failed_logins_.load(), rate_limited_.load(), throttle_.checks()};
  res.status = m.value("ok", false) ? 200 : 503;
  res.set_content(prometheus_text(m, web), "text/plain; version=0.0.4");
}

void Server::event_stream(const httplib::Request& req, httplib::Response& res) {
  if (streams_.fetch_add(1) >= kMaxEventStreams) {
    --streams_;
    return send_error(res, 503, "too many event streams open");
  }
  std::uint64_t after = feed_.last();
  if (const std::string last = req.get_header_value("Last-Event-ID"); !last.empty()) {
    try {
      after = std::stoull(last);
    } catch (const std::exception&) {
    }
  }
  auto position = std::make_shared<std::uint64_t>(after);
  res.set_header("Cache-Control", "no-store");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, position](std::size_t, httplib::DataSink& sink) {
        if (!sink.is_writable()) return false;
        auto events = feed_.wait_after(*position, std::chrono::seconds(15));
        if (feed_.stopped()) {
          sink.done();
          return true;
        }
        std::string chunk;
        if (events.empty()) chunk = ": keep-alive\n\n";
        for (const auto& [id, data] : events) {
          chunk += "id: " + std::to_string(id) + "\nevent: decision\ndata: " + data + "\n\n";
          *position = id;
        }
        return sink.write(chunk.data(), chunk.size());
      },
      [this](bool) { --streams_; });
}

void Server::publish(const json& event) { feed_.publish(event.dump()); }

void Server::add(const std::string& method, const std::string& path, Handler handler) {
  routes_.push_back({method, path});
  std::string pattern;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      pattern += "([^/]{1,64})";
      i = path.find('}', i);
    } else {
      if (path[i] == '.') pattern += '\\';
      pattern += path[i];
    }
  }
  auto& s = *server_;
  if (method == "GET") s.Get(pattern, std::move(handler));
  else if (method == "POST") s.Post(pattern, std::move(handler));
  else if (method == "PUT") s.Put(pattern, std::move(handler));
  else if (method == "DELETE") s.Delete(pattern, std::move(handler));
  else std::abort();  // a route with a method the server does not register is a programming error
}

void Server::add_routes() {
  auto& s = *server_;
  s.set_payload_max_length(kMaxBodyBytes);
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
    if (refuse_body(req, res)) return httplib::Server::HandlerResponse::Handled;
    const bool open = req.path == "/api/login" || req.path == "/api/session" || req.path == "/api/openapi.json";
    if (req.path.rfind("/api/", 0) == 0 && !open && !authorise(req, res)) return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  add("POST", "/api/login", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
  add("POST", "/api/logout", [this](const httplib::Request& req, httplib::Response& res) { logout(req, res); });
  add("GET", "/api/session", [this](const httplib::Request& req, httplib::Response& res) { session_info(req, res); });
  add("GET", "/metrics", [this](const httplib::Request&, httplib::Response& res) { metrics(res); });
  add("GET", "/api/events", [this](const httplib::Request& req, httplib::Response& res) { event_stream(req, res); });
  add("GET", "/api/openapi.json", [this](const httplib::Request&, httplib::Response& res) {
    std::ifstream in(std::filesystem::path(settings_.root) / "openapi.json");
    if (!in) return send_error(res, 404, "openapi.json is not installed in " + settings_.root);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    res.set_content(text, "application/json");
  });
  api_routes();
  if (!s.set_mount_point("/", settings_.root)) {
    s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      send_error(res, 404, "the web UI's files are not in " + settings_.root + " ([web] root)");
    });
  }
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) send_error(res, res.status, res.status == 404 ? "not found" : "request refused");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, 500, "internal error");
  });
}

Status<std::string> Server::start() {
  if (settings_.tls()) {
    auto tls = std::make_unique<httplib::SSLServer>(settings_.tls_cert.c_str(), settings_.tls_key.c_str());
    if (!tls->is_valid())
      return fail("web: cannot use the TLS certificate " + settings_.tls_cert + " and key " + settings_.tls_key);
    const std::size_t workers = settings_.connections.workers;
    tls->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    server_ = std::move(tls);
  } else {
    server_ = std::make_unique<BoundedServer>(settings_.connections);
  }
  routes_.clear();
  add_routes();
  auto* bounded = dynamic_cast<BoundedServer*>(server_.get());
  int bound = 0;
  if (settings_.port == 0) {
    bound = bounded ? bounded->bind_any(settings_.listen) : server_->bind_to_any_port(settings_.listen);
  } else {
    const bool ok = bounded ? bounded->bind(settings_.listen, settings_.port)
                            : server_->bind_to_port(settings_.listen, settings_.port);
    bound = ok ? settings_.port : -1;
  }
  if (bound <= 0)
    return fail("web: cannot listen on " + settings_.listen + " port " + std::to_string(settings_.port) +
                " (in use, or not an address of this host)");
  port_ = static_cast<std::uint16_t>(bound);
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    std::lock_guard lock(listen_mutex_);
    listen_ended_ = true;
    listen_ended_signal_.notify_all();
  });
  return {};
}

void Server::stop() {
  feed_.stop();
  throttle_.stop();
  if (!thread_.joinable()) return;
  // A stop() that comes before the thread entered its listen loop is lost; asking again each
  // 10 ms until the loop has ended covers that start-up window.
  std::unique_lock lock(listen_mutex_);
  while (!listen_ended_) {
    server_->stop();
    listen_ended_signal_.wait_for(lock, std::chrono::milliseconds(10), [this] { return listen_ended_; });
  }
  lock.unlock();
  thread_.join();
}

}  // namespace pbxwall::http
