// A scripted AMI server on 127.0.0.1 (ephemeral port) for client tests. It serves one session
// per script entry in order: banner, answer to Login, the scripted bytes, answers to Ping,
// then a close as the script says. It runs in its own thread with blocking sockets; every
// wait is bounded by poll() timeouts, so a client that misbehaves fails the test instead of
// hanging it.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ami/message.h"

namespace pbxwall::ami::test {

struct SessionScript {
  bool accept_login = true;
  std::string after_login;        // sent right after a successful login answer
  bool close_after_sending = false;
  bool answer_pings = true;
  int close_after_pings = -1;     // close after answering this many Pings (-1: never)
};

class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<SessionScript> sessions);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::uint16_t port() const { return port_; }
  // The actions the client sent, per session served so far.
  std::vector<std::vector<Message>> received() const;
  int sessions_finished() const { return finished_; }

 private:
  void run();
  void serve(int fd, const SessionScript& script);

  std::vector<SessionScript> sessions_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> finished_{0};
  mutable std::mutex mutex_;
  std::vector<std::vector<Message>> received_;
  std::thread thread_;
};

}  // namespace pbxwall::ami::test
