// The REST API: each route turns an HTTP request into one daemon call. Validation of values
// (zones, ports, addresses) is the daemon's, so the API and the CLI refuse the same things with
// the same messages; here only the shape of the body is checked.
#include <httplib.h>

#include "http/server.h"

namespace pbxwall::http {

using nlohmann::json;
using Req = httplib::Request;
using Res = httplib::Response;

namespace {

void bad_request(Res& res, const std::string& message) {
  res.status = 400;
  res.set_content(json{{"error", message}}.dump(), "application/json");
}

// Copies the fields named in `keys` from the body into `out` (absent ones are left out).
json pick(const json& body, std::initializer_list<const char*> keys, json out) {
  for (const char* k : keys)
    if (body.contains(k)) out[k] = body[k];
  return out;
}

}  // namespace

void Server::api_routes() {
  auto& s = *server_;
  // A configuration change: who made it and from where travel with it, for the event history
  // and the lockout check.
  auto change = [this](const Req& req, Res& res, json op) {
    json request = {{"cmd", "change"}, {"change", std::move(op)}, {"who", who(req)}, {"client", req.remote_addr}};
    if (!req.body.empty()) {
      auto body = parse_body(req.body);
      if (body.ok() && body->contains("confirm_lockout")) {
        if (!(*body)["confirm_lockout"].is_boolean()) return bad_request(res, "confirm_lockout: expected true or false");
        request["confirm_lockout"] = (*body)["confirm_lockout"];
      }
    }
    forward(request, res);
  };
  // Routes with a JSON body: the body must be an object before anything else happens.
  auto with_body = [](auto handler) {
    return [handler](const Req& req, Res& res) {
      auto body = parse_body(req.body);
      if (!body.ok()) return bad_request(res, body.error());
      handler(req, res, *body);
    };
  };

  s.Get("/api/overview", [this](const Req& req, Res& res) { forward({{"cmd", "overview"}, {"client", req.remote_addr}}, res); });
  s.Get("/api/status", [this](const Req&, Res& res) { forward({{"cmd", "status"}}, res); });
  s.Get("/api/config", [this](const Req&, Res& res) { forward({{"cmd", "config"}}, res); });
  s.Get("/api/trusted", [this](const Req&, Res& res) { forward({{"cmd", "config"}, {"only", "trusted"}}, res); });
  s.Get("/api/pbx", [this](const Req&, Res& res) { forward({{"cmd", "discover"}}, res); });

  s.Put("/api/enabled", with_body([change](const Req& req, Res& res, const json& body) {
          if (!body.contains("enabled") || !body["enabled"].is_boolean())
            return bad_request(res, "enabled: expected true or false");
          change(req, res, {{"op", "enabled"}, {"value", body["enabled"]}});
        }));
  s.Put(R"(/api/interfaces/([^/]{1,64}))", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"zone"}, {{"op", "interface"}, {"name", req.matches[1].str()}}));
        }));
  s.Delete(R"(/api/interfaces/([^/]{1,64}))", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "interface"}, {"name", req.matches[1].str()}, {"zone", nullptr}});
  });
  s.Put("/api/networks", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"key", "zone"}, {{"op", "network"}}));
        }));
  s.Delete("/api/networks", [change](const Req& req, Res& res) {
    if (!req.has_param("key")) return bad_request(res, "key: expected ?key=NETWORK");
    change(req, res, {{"op", "network"}, {"key", req.get_param_value("key")}, {"zone", nullptr}});
  });
  s.Put(R"(/api/services/([^/]{1,64}))", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"zones", "ports"}, {{"op", "service"}, {"name", req.matches[1].str()}}));
        }));
  s.Put(R"(/api/custom-services/([^/]{1,64}))", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res,
                 pick(body, {"zones", "ports", "description"}, {{"op", "custom_service"}, {"name", req.matches[1].str()}}));
        }));
  s.Delete(R"(/api/custom-services/([^/]{1,64}))", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "custom_service"}, {"name", req.matches[1].str()}, {"remove", true}});
  });
  s.Get("/api/users", [this](const Req&, Res& res) { forward({{"cmd", "config"}, {"only", "users"}}, res); });
  s.Put(R"(/api/users/([^/]{1,64}))", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"allow_from", "services"}, {{"op", "user"}, {"name", req.matches[1].str()}}));
        }));
  s.Delete(R"(/api/users/([^/]{1,64}))", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "user"}, {"name", req.matches[1].str()}, {"remove", true}});
  });
  s.Post("/api/confirm", [this](const Req& req, Res& res) { forward({{"cmd", "confirm"}, {"who", who(req)}}, res); });

  s.Get(R"(/api/responsive/(blocked|validated|flagged))", [this](const Req& req, Res& res) {
    forward({{"cmd", "list"}, {"what", req.matches[1].str()}}, res);
  });
  s.Post("/api/block", with_body([this](const Req& req, Res& res, const json& body) {
           if (!body.contains("addr") || !body["addr"].is_string()) return bad_request(res, "addr: expected an address");
           json request = pick(body, {"addr", "seconds"}, {{"cmd", "block"}, {"who", who(req)}});
           if (body.contains("reason") && !body["reason"].is_string()) return bad_request(res, "reason: expected a string");
           request["reason"] = body.value("reason", std::string("blocked in the web UI")) + " (by " + who(req) + ")";
           forward(request, res);
         }));
  s.Post("/api/unblock", with_body([this](const Req& req, Res& res, const json& body) {
           if (!body.contains("addr") || !body["addr"].is_string()) return bad_request(res, "addr: expected an address");
           forward({{"cmd", "unblock"}, {"addr", body["addr"]}, {"who", who(req)}}, res);
         }));
  s.Get("/api/history", [this](const Req& req, Res& res) {
    json request = {{"cmd", "events"}};
    try {
      if (req.has_param("after_id")) request["after_id"] = std::stoll(req.get_param_value("after_id"));
      if (req.has_param("limit")) request["limit"] = std::stoll(req.get_param_value("limit"));
    } catch (const std::exception&) {
      return bad_request(res, "after_id and limit: expected whole numbers");
    }
    forward(request, res);
  });
}

}  // namespace pbxwall::http
