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

LoginThrottle::Turn LoginThrottle::try_turn_locked(const std::string& client, TimePoint now) {
  while (!checks_.empty() && checks_.front() <= now - std::chrono::minutes(1)) checks_.pop_front();
  auto it = clients_.find(client);
  if (it != clients_.end()) {
    Client& c = it->second;
    if (!c.checking && c.failures > 0 && now - c.last_failure > std::chrono::minutes(15)) c.failures = 0;
    if (c.checking) return Turn::wait;
    if (c.failures > limits_.free_failures) {
      Duration delay = limits_.first_delay;
      for (int i = limits_.free_failures + 1; i < c.failures && delay < limits_.max_delay; ++i) delay *= 2;
      if (now < c.last_failure + std::min(delay, limits_.max_delay)) return Turn::wait;
    }
  }
  if (static_cast<int>(checks_.size()) >= limits_.checks_per_minute) return Turn::wait;
  if (clients_.size() > 10000) {  // addresses whose failures are long past are forgotten
    for (auto c = clients_.begin(); c != clients_.end();)
      c = !c->second.checking && c->second.last_failure < now - std::chrono::hours(1) ? clients_.erase(c) : std::next(c);
  }
  clients_[client].checking = true;
  checks_.push_back(now);
  ++checks_total_;
  return Turn::check;
}

LoginThrottle::Turn LoginThrottle::try_turn(const std::string& client) {
  std::lock_guard lock(mutex_);
  return try_turn_locked(client, clock_.now());
}

LoginThrottle::Turn LoginThrottle::wait_turn(const std::string& client) {
  std::unique_lock lock(mutex_);
  const TimePoint start = clock_.now();
  if (stopped_) return Turn::busy;
  Turn turn = try_turn_locked(client, start);
  if (turn != Turn::wait) return turn;
  if (waiting_ >= limits_.max_waiting) return Turn::busy;
  ++waiting_;
  for (;;) {
    // The clock is polled (tests drive a simulated one); done() wakes the waiters at once.
    changed_.wait_for(lock, std::chrono::milliseconds(10));
    const TimePoint now = clock_.now();
    turn = try_turn_locked(client, now);
    if (turn == Turn::wait && (now - start > limits_.max_wait || stopped_)) turn = Turn::busy;
    if (turn != Turn::wait) break;
  }
  --waiting_;
  return turn;
}

void LoginThrottle::stop() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  changed_.notify_all();
}

void LoginThrottle::done(const std::string& client, bool success) {
  {
    std::lock_guard lock(mutex_);
    if (success) {
      clients_.erase(client);
    } else {
      Client& c = clients_[client];
      c.checking = false;
      ++c.failures;
      c.last_failure = clock_.now();
    }
  }
  changed_.notify_all();
}

}  // namespace pbxwall::http
