#include "scripted_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace pbxwall::ami::test {
namespace {

constexpr auto kSessionLimit = std::chrono::seconds(10);  // a session never lasts longer

// Waits until fd is readable, in short slices so that stopping is noticed. False on timeout.
bool wait_readable(int fd, const std::atomic<bool>& stopping, std::chrono::steady_clock::time_point deadline) {
  while (!stopping && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) return true;
  }
  return false;
}

void write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away; the test's assertions will say so
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

ScriptedServer::ScriptedServer(std::vector<SessionScript> sessions) : sessions_(std::move(sessions)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4) != 0)
    throw std::runtime_error("cannot listen on 127.0.0.1");
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { run(); });
}

ScriptedServer::~ScriptedServer() {
  stopping_ = true;
  thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::vector<std::vector<Message>> ScriptedServer::received() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

void ScriptedServer::run() {
  for (const auto& script : sessions_) {
    if (!wait_readable(listen_fd_, stopping_, std::chrono::steady_clock::now() + kSessionLimit)) break;
    const int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) break;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.emplace_back();
    }
    serve(fd, script);
    ::close(fd);
    ++finished_;
  }
  // Later connection attempts are refused.
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void ScriptedServer::serve(int fd, const SessionScript& script) {
  write_all(fd, "Asterisk Call Manager/5.0.1\r\n");
  Parser parser;
  std::vector<Message> incoming;
  parser.feed("Asterisk Call Manager/5.0.1\r\n", incoming);  // the client side sends no banner
  int pings = 0;
  const auto deadline = std::chrono::steady_clock::now() + kSessionLimit;
  char buf[4096];
  while (wait_readable(fd, stopping_, deadline)) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;  // the client closed
    incoming.clear();
    parser.feed(std::string_view(buf, static_cast<std::size_t>(n)), incoming);
    for (const auto& m : incoming) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        received_.back().push_back(m);
      }
      const auto id = std::string(m.get_or("ActionID"));
      const auto action = m.get_or("Action");
      if (action == "Login") {
        if (!script.accept_login) {
          write_all(fd, "Response: Error\r\nActionID: " + id + "\r\nMessage: Authentication failed\r\n\r\n");
          return;  // Asterisk closes after a failed login too
        }
        write_all(fd, "Response: Success\r\nActionID: " + id + "\r\nMessage: Authentication accepted\r\n\r\n");
        write_all(fd, script.after_login);
        if (script.close_after_sending) return;
      } else if (action == "Ping" && script.answer_pings) {
        write_all(fd, "Response: Success\r\nActionID: " + id + "\r\nPing: Pong\r\nTimestamp: 1710234843.000000\r\n\r\n");
        if (++pings == script.close_after_pings) return;
      }
    }
  }
}

}  // namespace pbxwall::ami::test
