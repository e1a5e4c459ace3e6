// A stand-in for pbxwalld's control socket: a unix socket in a test's directory whose thread
// answers each request line with what the test's script returns, and records the requests.
// Every wait is bounded (poll with a short timeout and a stop flag), so a test that goes wrong
// fails instead of hanging.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pbxwall::cli {

class FakeControlServer {
 public:
  // What to send back for one request line: the lines to write (each gets a '\n'), and
  // whether to close the connection afterwards.
  struct Answer {
    std::vector<std::string> lines;
    bool close = false;
  };
  using Script = std::function<Answer(const std::string& request_line)>;

  FakeControlServer(const std::string& path, Script script) : path_(path), script_(std::move(script)) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ::unlink(path.c_str());
    // NOLINTNEXTLINE: the socket API takes the generic sockaddr.
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 8) != 0)
      throw std::runtime_error("fake control server: cannot listen on " + path);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeControlServer() {
    stop_ = true;
    thread_.join();
    ::close(listener_);
    ::unlink(path_.c_str());
  }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  // The requests parsed, in order (lines that are not JSON become null).
  std::vector<nlohmann::json> parsed_requests() {
    std::vector<nlohmann::json> out;
    for (const auto& r : requests()) out.push_back(nlohmann::json::parse(r, nullptr, false));
    return out;
  }

 private:
  void serve() {
    // One connection at a time: the CLI opens them one after another.
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      talk(fd);
      ::close(fd);
    }
  }

  void talk(int fd) {
    std::string inbox;
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;  // the client closed (a connection check, or done)
      inbox.append(buffer, static_cast<std::size_t>(n));
      for (auto end = inbox.find('\n'); end != std::string::npos; end = inbox.find('\n')) {
        const std::string line = inbox.substr(0, end);
        inbox.erase(0, end + 1);
        {
          std::lock_guard<std::mutex> lock(mutex_);
          requests_.push_back(line);
        }
        const Answer answer = script_(line);
        for (const auto& l : answer.lines) {
          const std::string out = l + "\n";
          if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) return;
        }
        if (answer.close) return;
      }
    }
  }

  std::string path_;
  Script script_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

}  // namespace pbxwall::cli
