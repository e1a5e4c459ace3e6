// Web sessions and the throttling of password checks. Thread-safe: the HTTP server's threads share one
// SessionTable. Time comes from the caller's Clock so tests can expire sessions.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
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

// Password checks of web logins. Per client address a growing delay after failed checks (the
// address may be shared: every browser tunnelled through SSH is 127.0.0.1), one check at a time
// per address, and a ceiling on checks per minute for all clients together. A login waits for
// its turn instead of being refused, so the right password gets in after the delay whatever
// was guessed before; only a login that finds max_waiting others waiting, or waits longer
// than max_wait (a flood in progress), is answered 429 without a check.
class LoginThrottle {
 public:
  struct Limits {
    int checks_per_minute = 5;  // all clients together
    int free_failures = 3;      // failed checks of one address before its delay starts
    Duration first_delay = std::chrono::seconds(1);  // doubles with each further failure
    Duration max_delay = std::chrono::seconds(30);
    Duration max_wait = std::chrono::seconds(60);
    std::size_t max_waiting = 8;  // logins waiting at once (each holds a server thread)
  };
  enum class Turn { check, wait, busy };

  LoginThrottle(const Clock& clock, Limits limits) : clock_(clock), limits_(limits) {}
  // Whether `client` may check a password now (then it holds the turn until done()), must
  // wait, or must not wait (too many waiting). Does not block.
  Turn try_turn(const std::string& client);
  // Blocks (polling the clock) until try_turn gives a turn; busy after max_wait or when
  // max_waiting logins wait already. check: call done() with the outcome.
  Turn wait_turn(const std::string& client);
  void done(const std::string& client, bool success);
  // Every waiting login ends at once (busy), and so does every later one: the server stops.
  void stop();
  std::uint64_t checks() const { return checks_total_.load(); }

 private:
  struct Client {
    int failures = 0;
    TimePoint last_failure{};
    bool checking = false;
  };
  Turn try_turn_locked(const std::string& client, TimePoint now);
  const Clock& clock_;
  Limits limits_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<TimePoint> checks_;  // granted in the last minute
  std::map<std::string, Client> clients_;
  std::size_t waiting_ = 0;
  bool stopped_ = false;
  std::atomic<std::uint64_t> checks_total_{0};
};

std::string random_hex(std::size_t bytes);  // randombytes_buf
// Equal strings in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b);

}  // namespace pbxwall::http
