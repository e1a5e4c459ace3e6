#include "http/sessions.h"

#include <sodium.h>

#include <vector>

namespace pbxwall::http {

std::string random_hex(std::size_t bytes) {
  if (sodium_init() < 0) std::abort();  // no safe randomness: refuse to make session ids
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), raw.data(), raw.size());
  hex.pop_back();
  return hex;
}

bool same_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Session SessionTable::open(const std::string& client) {
  Session s{random_hex(32), random_hex(32), client, clock_.now() + lifetime_};
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  std::erase_if(sessions_, [&](const auto& kv) { return kv.second.expires <= now; });
  sessions_[s.id] = s;
  return s;
}

std::optional<Session> SessionTable::find(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= clock_.now()) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void SessionTable::close(const std::string& id) {
  std::lock_guard lock(mutex_);
  sessions_.erase(id);
}

void LoginLimiter::prune(std::deque<TimePoint>& times, TimePoint now) const {
  while (!times.empty() && times.front() <= now - std::chrono::minutes(1)) times.pop_front();
}

bool LoginLimiter::allowed(const std::string& client) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(client);
  if (it == failures_.end()) return true;
  prune(it->second, clock_.now());
  return static_cast<int>(it->second.size()) < per_minute_;
}

void LoginLimiter::failed(const std::string& client) {
  std::lock_guard lock(mutex_);
  const TimePoint now = clock_.now();
  if (failures_.size() > 10000) {
    for (auto it = failures_.begin(); it != failures_.end();) {
      prune(it->second, now);
      it = it->second.empty() ? failures_.erase(it) : std::next(it);
    }
  }
  auto& times = failures_[client];
  prune(times, now);
  times.push_back(now);
}

void LoginLimiter::succeeded(const std::string& client) {
  std::lock_guard lock(mutex_);
  failures_.erase(client);
}

}  // namespace pbxwall::http
