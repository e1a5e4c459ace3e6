// The REST API: each route turns an HTTP request into one daemon call. Validation of values
// (zones, ports, addresses) is the daemon's, so the API and the CLI refuse the same things with
// the same messages; here only the shape of the body is checked.
#include <charconv>
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

  add("GET", "/api/overview", [this](const Req& req, Res& res) { forward({{"cmd", "overview"}, {"client", req.remote_addr}}, res); });
  add("GET", "/api/status", [this](const Req&, Res& res) { forward({{"cmd", "status"}}, res); });
  add("GET", "/api/config", [this](const Req&, Res& res) { forward({{"cmd", "config"}}, res); });
  add("GET", "/api/trusted", [this](const Req&, Res& res) { forward({{"cmd", "config"}, {"only", "trusted"}}, res); });
  add("GET", "/api/pbx", [this](const Req&, Res& res) { forward({{"cmd", "discover"}}, res); });

  add("PUT", "/api/enabled", with_body([change](const Req& req, Res& res, const json& body) {
          if (!body.contains("enabled") || !body["enabled"].is_boolean())
            return bad_request(res, "enabled: expected true or false");
          change(req, res, {{"op", "enabled"}, {"value", body["enabled"]}});
        }));
  add("PUT", "/api/interfaces/{name}", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"zone"}, {{"op", "interface"}, {"name", req.matches[1].str()}}));
        }));
  add("DELETE", "/api/interfaces/{name}", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "interface"}, {"name", req.matches[1].str()}, {"zone", nullptr}});
  });
  add("PUT", "/api/networks", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"key", "zone"}, {{"op", "network"}}));
        }));
  add("DELETE", "/api/networks", [change](const Req& req, Res& res) {
    if (!req.has_param("key")) return bad_request(res, "key: expected ?key=NETWORK");
    change(req, res, {{"op", "network"}, {"key", req.get_param_value("key")}, {"zone", nullptr}});
  });
  add("PUT", "/api/settings/{section}", with_body([change](const Req& req, Res& res, const json& body) {
          if (!body.contains("values") || !body["values"].is_object())
            return bad_request(res, "values: expected an object of keys and values (null: back to the default)");
          change(req, res, {{"op", "settings"}, {"section", req.matches[1].str()}, {"values", body["values"]}});
        }));
  add("PUT", "/api/services", with_body([change](const Req& req, Res& res, const json& body) {
          if (!body.contains("services") || !body["services"].is_array())
            return bad_request(res, "services: expected an array of {\"name\": ..., \"zones\": [...]}");
          change(req, res, {{"op", "services"}, {"items", body["services"]}});
        }));
  add("PUT", "/api/services/{name}", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"zones", "ports"}, {{"op", "service"}, {"name", req.matches[1].str()}}));
        }));
  add("PUT", "/api/custom-services/{name}", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res,
                 pick(body, {"zones", "ports", "description"}, {{"op", "custom_service"}, {"name", req.matches[1].str()}}));
        }));
  add("DELETE", "/api/custom-services/{name}", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "custom_service"}, {"name", req.matches[1].str()}, {"remove", true}});
  });
  add("GET", "/api/users", [this](const Req&, Res& res) { forward({{"cmd", "config"}, {"only", "users"}}, res); });
  add("PUT", "/api/users/{extension}", with_body([change](const Req& req, Res& res, const json& body) {
          change(req, res, pick(body, {"allow_from", "services"}, {{"op", "user"}, {"name", req.matches[1].str()}}));
        }));
  add("DELETE", "/api/users/{extension}", [change](const Req& req, Res& res) {
    change(req, res, {{"op", "user"}, {"name", req.matches[1].str()}, {"remove", true}});
  });
  add("POST", "/api/confirm", [this](const Req& req, Res& res) { forward({{"cmd", "confirm"}, {"who", who(req)}}, res); });

  add("GET", "/api/responsive/{list}", [this](const Req& req, Res& res) {
    // Pages of the blocked list: ?limit=N&after=ADDR, filters addr, rule, origin.
    json request = {{"cmd", "list"}, {"what", req.matches[1].str()}};
    for (const char* field : {"after", "addr", "rule", "origin"})
      if (req.has_param(field)) request[field] = req.get_param_value(field);
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      std::int64_t limit = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
      if (ec != std::errc() || end != text.data() + text.size()) return bad_request(res, "limit: expected a whole number");
      request["limit"] = limit;
    }
    forward(request, res);
  });
  add("POST", "/api/block", with_body([this](const Req& req, Res& res, const json& body) {
           if (!body.contains("addr") || !body["addr"].is_string()) return bad_request(res, "addr: expected an address");
           json request = pick(body, {"addr", "seconds"}, {{"cmd", "block"}, {"who", who(req)}});
           if (body.contains("reason") && !body["reason"].is_string()) return bad_request(res, "reason: expected a string");
           request["reason"] = body.value("reason", std::string("blocked in the web UI")) + " (by " + who(req) + ")";
           forward(request, res);
         }));
  add("POST", "/api/unblock", with_body([this](const Req& req, Res& res, const json& body) {
           if (!body.contains("addr") || !body["addr"].is_string()) return bad_request(res, "addr: expected an address");
           forward({{"cmd", "unblock"}, {"addr", body["addr"]}, {"who", who(req)}}, res);
         }));
  add("GET", "/api/source", [this](const Req& req, Res& res) {
    if (!req.has_param("addr")) return bad_request(res, "addr: expected an address");
    forward({{"cmd", "source"}, {"addr", req.get_param_value("addr")}}, res);
  });
  add("GET", "/api/ruleset", [this](const Req&, Res& res) { forward({{"cmd", "ruleset"}}, res); });
  add("GET", "/api/history", [this](const Req& req, Res& res) {
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
