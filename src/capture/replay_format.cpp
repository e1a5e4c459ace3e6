#include "capture/replay_format.h"

#include "base/plural.h"

#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

namespace pbxwall::capture {
namespace {

std::tm utc(TimePoint t) {
  const auto us = t.time_since_epoch().count();
  auto secs = static_cast<std::time_t>(us / 1'000'000 - (us % 1'000'000 < 0 ? 1 : 0));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}

std::string strftime_utc(TimePoint t, const char* format) {
  const std::tm tm = utc(t);
  char buf[64];
  const auto n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

nlohmann::json seconds(TimePoint t) {
  return nlohmann::json(static_cast<double>(t.time_since_epoch().count()) / 1e6);
}

nlohmann::json optional_seconds(const std::optional<TimePoint>& t) {
  return t ? seconds(*t) : nlohmann::json(nullptr);
}

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

std::string upper(const char* s) {
  std::string u(s);
  for (auto& c : u) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return u;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string format_time(TimePoint t) {
  const auto us = t.time_since_epoch().count();
  const auto ms = ((us % 1'000'000) + 1'000'000) % 1'000'000 / 1000;
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms));
  return strftime_utc(t, "%Y-%m-%d %H:%M:%S") + frac;
}

std::string decision_text(const responsive::Decision& d, TimePoint t) {
  std::string s = format_time(t) + "  " + pad(upper(responsive::action_name(d.action)), 8) + "  " +
                  pad(d.addr.str(), 15) + "  rule=" + responsive::rule_name(d.rule);
  if (d.network) s += "  network=" + d.network->str();
  if (!d.user.empty()) s += "  user=" + d.user;
  if (d.until) {
    const bool same_day = strftime_utc(*d.until, "%Y-%m-%d") == strftime_utc(t, "%Y-%m-%d");
    s += "  until " + strftime_utc(*d.until, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S");
  }
  if (!d.reason.empty()) s += "  " + d.reason;
  return s;
}

std::string decision_json(const responsive::Decision& d, TimePoint t) {
  nlohmann::ordered_json j;
  j["t"] = seconds(t);
  j["action"] = responsive::action_name(d.action);
  j["addr"] = d.addr.str();
  j["user"] = text_or_null(d.user);
  j["rule"] = responsive::rule_name(d.rule);
  j["reason"] = d.reason;
  j["until"] = optional_seconds(d.until);
  if (d.network) j["network"] = d.network->str();  // a block of a whole IPv6 /64
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string summary_json(const ReplayReport& r) {
  nlohmann::ordered_json s;
  s["pbx"] = nlohmann::json::array();
  for (const auto& a : r.pbx) s["pbx"].push_back(a.str());
  s["pbx_detected"] = r.pbx_detected;
  s["first"] = optional_seconds(r.first_packet);
  s["last"] = optional_seconds(r.last_packet);
  s["frames"] = r.stats.frames;
  s["packets"] = r.stats.packets;
  s["decode_errors"] = r.stats.decode_errors;
  s["malformed"] = r.stats.malformed;
  s["decisions"] = r.stats.decisions;
  s["read_error"] = text_or_null(r.read_error);
  nlohmann::ordered_json sources = nlohmann::ordered_json::object();
  for (const auto& src : r.sources) {
    nlohmann::ordered_json e;
    const bool blocked = src.blocks > 0;
    e["requests"] = src.requests;
    e["requests_before_block"] = blocked ? src.requests_before_block : src.requests;
    e["answered"] = src.answers;
    e["answered_before_block"] = blocked ? src.answered_before_block : src.answers;
    e["malformed"] = src.malformed;
    e["blocks"] = src.blocks;
    e["first_block"] = optional_seconds(src.first_block);
    e["state"] = final_state_name(src.state);
    e["user"] = text_or_null(src.user);
    e["flag_failures"] = src.flag_failures;
    sources[src.addr.str()] = std::move(e);
  }
  s["sources"] = std::move(sources);
  nlohmann::ordered_json line;
  line["summary"] = std::move(s);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string summary_text(const ReplayReport& r) {
  std::ostringstream o;
  o << "\nPBX: ";
  for (std::size_t i = 0; i < r.pbx.size(); ++i) o << (i ? ", " : "") << r.pbx[i].str();
  o << (r.pbx_detected ? " (worked out from the capture; --pbx to override)" : "") << "\n";
  o << r.stats.frames << " frames, " << r.stats.packets << " packets, " << r.stats.sip_messages
    << " SIP messages, " << r.stats.iax_frames << " IAX2 frames, " << r.stats.malformed << " malformed, "
    << r.stats.decode_errors << " undecodable, " << r.stats.decisions << " decisions";
  if (r.first_packet && r.last_packet)
    o << ", " << format_time(*r.first_packet) << " to " << format_time(*r.last_packet) << " UTC";
  o << "\n";
  if (!r.read_error.empty()) o << "warning: " << r.read_error << " (replayed up to there)\n";
  o << "\n";
  o << pad("source", 40) << pad("requests", 10) << pad("before block", 14) << pad("answered before", 17)
    << pad("state", 11) << "user\n";
  for (const auto& s : r.sources) {
    const bool blocked = s.blocks > 0;
    o << pad(s.addr.str(), 40) << pad(std::to_string(s.requests), 10)
      << pad(blocked ? std::to_string(s.requests_before_block) : "-", 14)
      << pad(std::to_string(blocked ? s.answered_before_block : s.answers), 17)
      << pad(final_state_name(s.state), 11) << s.user;
    if (s.flag_failures > 0) o << " (" << counted(static_cast<std::int64_t>(s.flag_failures), "wrong password") << ")";
    o << "\n";
  }
  return o.str();
}

}  // namespace pbxwall::capture
