#include "crowdsec/decision.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include <nlohmann/json.hpp>

namespace pbxwall::crowdsec {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : ",") + i;
  return s;
}

Result<std::vector<LapiDecision>> decisions_of(const nlohmann::json& doc, const char* field) {
  std::vector<LapiDecision> out;
  if (!doc.contains(field) || doc[field].is_null()) return out;
  const auto& list = doc[field];
  if (!list.is_array()) return fail(std::string(field) + ": expected an array or null");
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    const std::string where = std::string(field) + "[" + std::to_string(i) + "]";
    if (!e.is_object()) return fail(where + ": expected an object");
    const auto text = [&e](const char* key) {
      auto it = e.find(key);
      return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    LapiDecision d;
    if (auto it = e.find("id"); it != e.end() && it->is_number_integer()) d.id = it->get<std::int64_t>();
    d.origin = text("origin");
    d.scenario = text("scenario");
    d.scope = text("scope");
    d.type = text("type");
    d.value = text("value");
    if (d.value.empty()) return fail(where + ": no value");
    const std::string duration = text("duration");
    if (auto parsed = parse_go_duration(duration)) {
      d.duration = *parsed;
    } else if (!duration.empty()) {
      return fail(where + ": duration \"" + duration + "\" is not a duration");
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

Result<StreamDelta> parse_stream(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) return fail(std::string("the stream answer is not JSON"));
  if (!doc.is_object()) return fail(std::string("the stream answer is not a JSON object"));
  auto added = decisions_of(doc, "new");
  if (!added.ok()) return fail(added.error());
  auto deleted = decisions_of(doc, "deleted");
  if (!deleted.ok()) return fail(deleted.error());
  return StreamDelta{std::move(*added), std::move(*deleted)};
}

std::optional<Duration> parse_go_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '-' || s.front() == '+') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return std::nullopt;
  long double total_us = 0;
  while (!s.empty()) {
    std::size_t n = 0;
    while (n < s.size() && (std::isdigit(static_cast<unsigned char>(s[n])) || s[n] == '.')) ++n;
    if (n == 0) return std::nullopt;
    long double number = 0, scale = 1;
    bool dot = false, digits = false;
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] == '.') {
        if (dot) return std::nullopt;
        dot = true;
        continue;
      }
      digits = true;
      if (dot) {
        scale /= 10;
        number += (s[i] - '0') * scale;
      } else {
        number = number * 10 + (s[i] - '0');
      }
    }
    if (!digits) return std::nullopt;
    s.remove_prefix(n);
    std::size_t u = 0;
    while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double unit_us;
    if (unit == "h") unit_us = 3600e6L;
    else if (unit == "m") unit_us = 60e6L;
    else if (unit == "s") unit_us = 1e6L;
    else if (unit == "ms") unit_us = 1e3L;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") unit_us = 1;
    else if (unit == "ns") unit_us = 1e-3L;
    else return std::nullopt;
    total_us += number * unit_us;
    if (total_us > 9.2e18L) return std::nullopt;
  }
  const auto us = static_cast<std::int64_t>(std::llround(static_cast<double>(total_us)));
  return Duration(negative ? -us : us);
}

std::string go_duration_seconds(Duration d) {
  const auto s = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(d).count());
  return std::to_string(s) + "s";
}

Result<BanTarget> ban_target(const LapiDecision& d) {
  if (!iequals(d.type, "ban")) return fail("type " + d.type + " is not a ban");
  const bool ip = iequals(d.scope, "ip");
  if (!ip && !iequals(d.scope, "range")) return fail("scope " + d.scope + " is not Ip or Range");
  std::optional<Cidr> net;
  if (ip) {
    if (auto a = IpAddress::parse(d.value)) net = Cidr(*a, a->bit_width());
  } else {
    net = Cidr::parse(d.value);
  }
  if (!net) return fail("value \"" + d.value + "\" is not an " + (ip ? "address" : "address range"));
  if (net->prefix() == 0) return fail("range " + d.value + " covers every address");
  if (d.duration <= Duration(0)) return fail("decision " + d.value + " has expired");
  return BanTarget{*net, d.duration};
}

std::string origin_label(const LapiDecision& d) { return "crowdsec:" + d.origin + "/" + d.scenario; }

bool DecisionFilter::accepts(const LapiDecision& d) const {
  if (!origins.empty() && std::none_of(origins.begin(), origins.end(), [&](const auto& o) { return iequals(o, d.origin); }))
    return false;
  const auto contains = [&d](const std::string& part) { return d.scenario.find(part) != std::string::npos; };
  if (!scenarios_containing.empty() && std::none_of(scenarios_containing.begin(), scenarios_containing.end(), contains))
    return false;
  return std::none_of(scenarios_not_containing.begin(), scenarios_not_containing.end(), contains);
}

std::string DecisionFilter::query() const {
  std::string q;
  if (!origins.empty()) q += "&origins=" + url_encode(join(origins));
  if (!scenarios_containing.empty()) q += "&scenarios_containing=" + url_encode(join(scenarios_containing));
  if (!scenarios_not_containing.empty()) q += "&scenarios_not_containing=" + url_encode(join(scenarios_not_containing));
  return q;
}

std::string url_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == ',' || c == '/' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace pbxwall::crowdsec
