#include "crowdsec/push_queue.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "crowdsec/decision.h"

namespace pbxwall::crowdsec {

void Backoff::failed(TimePoint now) {
  Duration delay = first_;
  for (std::uint32_t i = 0; i < failures_ && delay < max_; ++i) delay *= 2;
  ++failures_;
  not_before_ = now + std::min(delay, max_);
}

void PushQueue::restore(std::vector<PushItem> items) {
  for (auto& item : items) {
    next_seq_ = std::max(next_seq_, item.seq + 1);
    items_.push_back(std::move(item));
  }
  while (items_.size() > capacity_) {
    items_.pop_front();
    ++dropped_;
  }
}

Enqueued PushQueue::enqueue(PushItem item) {
  Enqueued out;
  item.seq = next_seq_++;
  out.seq = item.seq;
  if (item.kind == PushKind::unban) {
    for (std::size_t i = in_flight_; i < items_.size();) {
      if (items_[i].kind == PushKind::ban && items_[i].net == item.net) {
        out.dropped.push_back(items_[i].seq);
        items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  items_.push_back(std::move(item));
  // Full: the oldest waiting item goes (never one being sent).
  while (items_.size() > capacity_ && items_.size() > in_flight_) {
    out.dropped.push_back(items_[in_flight_].seq);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(in_flight_));
    ++dropped_;
  }
  return out;
}

std::vector<PushItem> PushQueue::next_batch(TimePoint now) {
  if (in_flight_ > 0 || items_.empty() || !backoff_.ready(now)) return {};
  const PushKind kind = items_.front().kind;
  std::vector<PushItem> batch;
  for (const auto& item : items_) {
    if (item.kind != kind || batch.size() >= batch_) break;
    batch.push_back(item);
  }
  in_flight_ = batch.size();
  return batch;
}

std::vector<std::int64_t> PushQueue::finished(std::size_t done, bool failed, TimePoint now) {
  std::vector<std::int64_t> gone;
  done = std::min(done, in_flight_);
  for (std::size_t i = 0; i < done; ++i) {
    gone.push_back(items_.front().seq);
    items_.pop_front();
  }
  in_flight_ = 0;
  if (failed) backoff_.failed(now);
  else backoff_.succeeded();
  return gone;
}

std::string rfc3339(TimePoint t) {
  const std::time_t s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<TimePoint> parse_rfc3339(std::string_view text) {
  int y, mo, d, h, mi, s;
  std::string str(text);
  int consumed = 0;
  if (std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) return std::nullopt;
  std::string_view rest = text.substr(static_cast<std::size_t>(consumed));
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') rest.remove_prefix(1);
  }
  long offset = 0;
  if (rest == "Z" || rest == "z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    const int oh = (rest[1] - '0') * 10 + (rest[2] - '0'), om = (rest[4] - '0') * 10 + (rest[5] - '0');
    offset = (rest[0] == '-' ? -1 : 1) * (oh * 3600L + om * 60L);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  const std::time_t epoch = timegm(&tm);
  return TimePoint(std::chrono::seconds(epoch - offset));
}

nlohmann::json alerts_body(const std::vector<PushItem>& items, const std::string& machine_id, TimePoint now) {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& item : items) {
    if (item.kind != PushKind::ban || item.until <= now) continue;
    const bool host = item.net.is_host();
    const std::string value = host ? item.net.address().str()
                                   : item.net.address().str() + "/" + std::to_string(item.net.prefix());
    const std::string scope = host ? "Ip" : "Range";
    const std::string scenario = "pbxwall/" + (item.rule.empty() ? std::string("manual") : item.rule);
    nlohmann::json source = {{"scope", scope}, {"value", value}};
    if (host) source["ip"] = value;
    else source["range"] = value;
    const std::string when = rfc3339(item.at);
    alerts.push_back({
        {"scenario", scenario},
        {"scenario_hash", ""},
        {"scenario_version", ""},
        {"message", item.reason.empty() ? scenario : item.reason + " (pbxwall on " + machine_id + ")"},
        {"events_count", 1},
        {"start_at", when},
        {"stop_at", when},
        {"capacity", 0},
        {"leakspeed", "0"},
        {"simulated", false},
        {"events", nlohmann::json::array()},
        {"source", source},
        {"decisions", nlohmann::json::array({{{"origin", kOrigin},
                                              {"type", "ban"},
                                              {"scope", scope},
                                              {"value", value},
                                              {"duration", go_duration_seconds(item.until - now)},
                                              {"scenario", scenario}}})},
    });
  }
  return alerts;
}

std::string unban_query(const Cidr& net) {
  const std::string value = net.is_host() ? net.address().str() : net.address().str() + "/" + std::to_string(net.prefix());
  return std::string(net.is_host() ? "ip=" : "range=") + url_encode(value) + "&origin=" + kOrigin;
}

}  // namespace pbxwall::crowdsec
