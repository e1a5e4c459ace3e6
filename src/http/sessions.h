// Web sessions and the limit on failed logins. Thread-safe: the HTTP server's threads share one
// SessionTable. Time comes from the caller's Clock so tests can expire sessions.
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/time.h"

namespace pbxwall::http {

struct Session {
  std::string id;    // 32 random bytes, hex: the cookie value
  std::string csrf;  // 32 random bytes, hex: required in X-CSRF-Token on every change
  std::string client;
  TimePoint expires;
};

class SessionTable {
 public:
  SessionTable(const Clock& clock, Duration lifetime) : clock_(clock), lifetime_(lifetime) {}
  Session open(const std::string& client);
  // The live session with this id (expired ones are dropped on the way).
  std::optional<Session> find(const std::string& id);
  void close(const std::string& id);
  Duration lifetime() const { return lifetime_; }

 private:
  const Clock& clock_;
  Duration lifetime_;
  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
};

// Failed logins per client address in a sliding minute.
class LoginLimiter {
 public:
  LoginLimiter(const Clock& clock, int per_minute) : clock_(clock), per_minute_(per_minute) {}
  bool allowed(const std::string& client);  // false: answer 429 without checking the password
  void failed(const std::string& client);
  void succeeded(const std::string& client);

 private:
  void prune(std::deque<TimePoint>& times, TimePoint now) const;
  const Clock& clock_;
  int per_minute_;
  std::mutex mutex_;
  std::map<std::string, std::deque<TimePoint>> failures_;
};

std::string random_hex(std::size_t bytes);  // randombytes_buf
// Equal strings in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b);

}  // namespace pbxwall::http
