// A cpp-httplib server whose connections cannot hold it: each request (line, headers and body)
// must arrive within a deadline however slowly its bytes trickle in, reads past a byte ceiling
// fail whatever the body's framing, and one client address keeps at most a few connections
// waiting for their request (a new one pushes the oldest waiting one out, so a browser behind
// the same address as a slow client still gets through). Answered requests are not limited:
// an event stream or a long handler holds its connection as long as it needs.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "http/settings.h"

namespace pbxwall::http {

// Connections by client address, in the order they started waiting for a request.
class ClientConnections {
 public:
  explicit ClientConnections(std::size_t reading_per_client) : limit_(reading_per_client) {}
  // A connection starts waiting for a request; the oldest waiting one of the same address is
  // shut down (its reads fail) when the address is over its limit.
  void reading(const std::string& client, int sock);
  // The connection's request has arrived (or the connection ends).
  void answered(const std::string& client, int sock);
  std::size_t reading_count(const std::string& client);

 private:
  std::size_t limit_;
  std::mutex mutex_;
  std::map<std::string, std::list<int>> reading_;
};

class BoundedServer : public httplib::Server {
 public:
  explicit BoundedServer(ConnectionLimits limits);
  // Binding goes through httplib; this raises the listen backlog afterwards.
  int bind_any(const std::string& host);
  bool bind(const std::string& host, int port);
  // Called from a handler that answers without reading the request's body: the connection is
  // closed after the answer instead of parsing the body as the next request.
  static void close_after_answer();

 private:
  bool process_and_close_socket(socket_t sock) override;
  void raise_backlog();

  ConnectionLimits limits_;
  ClientConnections clients_;
  int listen_socket_ = -1;
};

}  // namespace pbxwall::http
