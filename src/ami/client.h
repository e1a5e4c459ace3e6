// The AMI client: connects to Asterisk, logs in asking for security and system events, keeps
// the session alive with Ping, and reconnects with exponential backoff when the connection
// drops, the login is refused or a Ping goes unanswered. Events are handed to the caller as
// they are parsed. Runs on the caller's asio::io_context (the daemon's event loop); every
// callback runs on that loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ami/actions.h"
#include "ami/events.h"
#include "ami/message.h"

namespace asio {
class io_context;
}

namespace pbxwall::ami {

struct ClientSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5038;
  std::string username;
  std::string secret;
  std::string event_mask = kFirewallEventMask;
  std::chrono::milliseconds keepalive_interval{30'000};  // Ping after this long without data
  std::chrono::milliseconds response_timeout{10'000};    // for the Login and Ping answers
  std::chrono::milliseconds backoff_initial{1'000};
  std::chrono::milliseconds backoff_max{60'000};
  bool operator==(const ClientSettings&) const = default;
};

enum class ClientState { stopped, connecting, logging_in, ready, waiting_to_retry };
const char* to_string(ClientState state);

struct ClientCounters {
  std::uint64_t connects = 0;        // TCP connections established
  std::uint64_t connect_failures = 0;
  std::uint64_t logins = 0;          // accepted
  std::uint64_t login_failures = 0;  // refused or unanswered
  std::uint64_t disconnects = 0;     // established connections lost or dropped by us
  std::uint64_t pings_sent = 0;
  std::uint64_t ping_timeouts = 0;
  std::uint64_t events = 0;          // handed to the event handler
  std::uint64_t event_problems = 0;  // events of interest that were malformed
};

class Client {
 public:
  using EventHandler = std::function<void(const Event&)>;
  // State changes with the reason ("connection refused", "login refused: Authentication failed").
  using StateHandler = std::function<void(ClientState, std::string_view reason)>;

  Client(asio::io_context& io, ClientSettings settings, EventHandler on_event, StateHandler on_state = {});
  ~Client();  // stops; pending handlers finish harmlessly on the loop
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();
  void stop();

  ClientState state() const;
  const ClientCounters& counters() const;
  const ParserCounters& parser_counters() const;  // of the current connection's parser
  std::chrono::milliseconds next_backoff() const;  // delay before the next retry

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pbxwall::ami
