#include "http/bounded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

namespace pbxwall::http {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Set by a handler on the connection's own thread: the request's body was left unread.
thread_local bool close_requested = false;

bool address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return false;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  } else {
    return false;
  }
  ip = text;
  return true;
}

// Waits for `events` on `sock` until `deadline`; false on timeout, error, or once the server
// stops listening (`listener` closed), so stopping never waits for a slow client.
bool wait_for(int sock, short events, SteadyClock::time_point deadline, const std::atomic<socket_t>& listener) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0 || listener == INVALID_SOCKET) return false;
    pollfd p{sock, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return false;
    if (rc > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
  }
}

// One connection as httplib's request parser reads it: every read of a request shares that
// request's deadline and byte allowance.
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int sock, const ConnectionLimits& limits, const std::atomic<socket_t>& listener)
      : sock_(sock), limits_(limits), listener_(listener) {}

  void next_request() {
    deadline_ = SteadyClock::now() + limits_.request_timeout;
    read_ = 0;
  }

  bool is_readable() const override { return wait_for(sock_, POLLIN, deadline_, listener_); }
  bool is_writable() const override {
    return wait_for(sock_, POLLOUT, SteadyClock::now() + std::chrono::seconds(5), listener_);
  }
  ssize_t read(char* ptr, std::size_t size) override {
    if (read_ >= limits_.max_request_bytes) return -1;
    size = std::min(size, limits_.max_request_bytes - read_);
    if (!is_readable()) return -1;
    ssize_t n;
    do {
      n = ::recv(sock_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) read_ += static_cast<std::size_t>(n);
    return n;
  }
  ssize_t write(const char* ptr, std::size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  int sock_;
  const ConnectionLimits& limits_;
  const std::atomic<socket_t>& listener_;
  SteadyClock::time_point deadline_{};
  std::size_t read_ = 0;
};

}  // namespace

void BoundedServer::close_after_answer() { close_requested = true; }

void ClientConnections::reading(const std::string& client, int sock) {
  std::lock_guard lock(mutex_);
  auto& waiting = reading_[client];
  waiting.push_back(sock);
  while (waiting.size() > limit_) {
    // Wakes the oldest one's poll; its thread closes the socket, which stays open until then.
    ::shutdown(waiting.front(), SHUT_RDWR);
    waiting.pop_front();
  }
}

void ClientConnections::answered(const std::string& client, int sock) {
  std::lock_guard lock(mutex_);
  auto it = reading_.find(client);
  if (it == reading_.end()) return;
  it->second.remove(sock);
  if (it->second.empty()) reading_.erase(it);
}

std::size_t ClientConnections::reading_count(const std::string& client) {
  std::lock_guard lock(mutex_);
  auto it = reading_.find(client);
  return it == reading_.end() ? 0 : it->second.size();
}

BoundedServer::BoundedServer(ConnectionLimits limits) : limits_(limits), clients_(limits.reading_per_client) {
  const std::size_t workers = limits_.workers;
  new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  set_socket_options([this](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_socket_ = sock;
  });
  set_keep_alive_timeout(5);
}

void BoundedServer::raise_backlog() {
  // listen() again on a listening socket only changes its backlog.
  if (listen_socket_ >= 0) ::listen(listen_socket_, limits_.listen_backlog);
}

int BoundedServer::bind_any(const std::string& host) {
  const int port = bind_to_any_port(host);
  if (port > 0) raise_backlog();
  return port;
}

bool BoundedServer::bind(const std::string& host, int port) {
  const bool ok = bind_to_port(host, port);
  if (ok) raise_backlog();
  return ok;
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  std::string client;
  int client_port = 0;
  bool ret = false;
  if (address_of(sock, true, client, client_port)) {
    BoundedStream strm(sock, limits_, svr_sock_);
    for (std::size_t count = keep_alive_max_count_; count > 0 && svr_sock_ != INVALID_SOCKET; --count) {
      clients_.reading(client, sock);
      // A kept-alive connection waits for its next request as long as keep_alive_timeout.
      if (count < keep_alive_max_count_ &&
          !wait_for(sock, POLLIN, SteadyClock::now() + std::chrono::seconds(keep_alive_timeout_sec_), svr_sock_))
        break;
      strm.next_request();
      bool closed = false;
      close_requested = false;
      ret = process_request(strm, count == 1, closed, [&](httplib::Request&) { clients_.answered(client, sock); });
      clients_.answered(client, sock);
      if (!ret || closed || close_requested) break;
    }
    clients_.answered(client, sock);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace pbxwall::http
