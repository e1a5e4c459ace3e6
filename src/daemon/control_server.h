// The control socket (/run/pbxwall/control.sock, root only, mode 0600): one JSON object per
// line in, one JSON object per line out. A request {"cmd": "events", "follow": true} keeps
// the connection open and receives every new event as a line. Requests run on the event loop
// that owns the Firewall, so they never race with packet handling.
#pragma once

#include <memory>
#include <string>

#include <asio.hpp>

#include "daemon/firewall.h"

namespace pbxwall::daemon {

class ControlServer {
 public:
  // Removes a stale socket file, binds, and sets mode 0600.
  static Result<std::unique_ptr<ControlServer>> open(asio::io_context& io, const std::string& path, Firewall& firewall);
  ~ControlServer();

  void start();
  // Sends an event line to every follower.
  void publish(const store::EventRecord& e);

 private:
  class Session;
  ControlServer(asio::io_context& io, std::string path, Firewall& firewall);
  void accept();

  std::string path_;
  Firewall& firewall_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::vector<std::weak_ptr<Session>> followers_;
};

}  // namespace pbxwall::daemon
