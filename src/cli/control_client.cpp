#include "cli/control_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

namespace pbxwall::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Answers are a few kilobytes (a listing of thousands of hosts: a few megabytes); a line
// longer than this means the peer is not pbxwalld.
constexpr std::size_t kMaxLineBytes = 64 * 1024 * 1024;

// Milliseconds left until `deadline` for poll(): -1 without a deadline.
int poll_timeout(std::optional<Clock::time_point> deadline) {
  if (!deadline) return -1;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

std::optional<Clock::time_point> deadline_after(std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return std::nullopt;
  return Clock::now() + timeout;
}

}  // namespace

std::string control_socket_path(const std::string& run_dir) { return run_dir + "/" + kControlSocketName; }

Result<ControlConnection, ControlError> ControlConnection::open(const std::string& path,
                                                                std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return fail(ControlError{ControlError::Kind::failed, "control socket path too long: " + path});
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(ControlError{ControlError::Kind::failed, std::string("socket: ") + std::strerror(errno)});
  ControlConnection c(fd, path);
  // NOLINTNEXTLINE: sockaddr_un is passed as the generic sockaddr, as the API requires.
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int e = errno;
    if (e == ENOENT) return fail(ControlError{ControlError::Kind::not_running, "no " + path});
    if (e == ECONNREFUSED) return fail(ControlError{ControlError::Kind::not_running, "nobody listens on " + path});
    if (e != EAGAIN && e != EINPROGRESS) {
      errno = e;
      return fail(c.failed("cannot connect"));
    }
    // A full listen backlog: wait for the daemon to accept, within the timeout.
    pollfd p{fd, POLLOUT, 0};
    const int n = ::poll(&p, 1, poll_timeout(deadline_after(timeout)));
    if (n <= 0) return fail(ControlError{ControlError::Kind::failed, "pbxwalld did not accept the connection on " + path + " in time"});
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error != 0) {
      errno = so_error;
      return fail(c.failed("cannot connect"));
    }
  }
  return c;
}

ControlConnection::ControlConnection(ControlConnection&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), inbox_(std::move(other.inbox_)) {
  other.fd_ = -1;
}

ControlConnection::~ControlConnection() {
  if (fd_ >= 0) ::close(fd_);
}

ControlError ControlConnection::failed(const std::string& what) const {
  std::string text = what + " (" + path_ + "): " + std::strerror(errno);
  if (errno == EACCES || errno == EPERM) text += " (the control socket is root's only)";
  return {ControlError::Kind::failed, text};
}

Status<ControlError> ControlConnection::send_line(const std::string& line, std::chrono::milliseconds timeout) {
  const auto deadline = deadline_after(timeout);
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::send(fd_, line.data() + done, line.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return fail(failed("cannot send to pbxwalld"));
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, poll_timeout(deadline)) == 0)
      return fail(ControlError{ControlError::Kind::failed, "pbxwalld did not take the request in time"});
  }
  return {};
}

Result<std::string, ControlError> ControlConnection::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = deadline_after(timeout);
  for (;;) {
    if (const auto end = inbox_.find('\n'); end != std::string::npos) {
      std::string line = inbox_.substr(0, end);
      inbox_.erase(0, end + 1);
      return line;
    }
    if (inbox_.size() > kMaxLineBytes)
      return fail(ControlError{ControlError::Kind::failed, "pbxwalld's answer is longer than any it sends"});
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, poll_timeout(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail(failed("cannot read from pbxwalld"));
    if (ready == 0) {
      if (deadline && Clock::now() >= *deadline)
        return fail(ControlError{ControlError::Kind::failed,
                                 "pbxwalld did not answer within " + std::to_string(timeout.count()) + " ms"});
      continue;  // a wait without deadline wakes up once a minute
    }
    char buffer[16 * 1024];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return fail(failed("cannot read from pbxwalld"));
    if (n == 0) return fail(ControlError{ControlError::Kind::failed, "pbxwalld closed the connection"});
    inbox_.append(buffer, static_cast<std::size_t>(n));
  }
}

Result<nlohmann::json, ControlError> ControlConnection::read_object(std::chrono::milliseconds timeout) {
  auto line = read_line(timeout);
  if (!line) return fail(line.error());
  nlohmann::json j = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    const std::string shown = line->size() > 80 ? line->substr(0, 80) + "..." : *line;
    return fail(ControlError{ControlError::Kind::failed, "pbxwalld answered something that is not a JSON object: " + shown});
  }
  return j;
}

Result<nlohmann::json, ControlError> ControlConnection::call(const nlohmann::json& request,
                                                             std::chrono::milliseconds timeout) {
  if (auto sent = send_line(request.dump() + "\n", timeout); !sent) return fail(sent.error());
  auto answer = read_object(timeout);
  if (!answer) return answer;
  const auto ok = answer->find("ok");
  if (ok == answer->end() || !ok->is_boolean())
    return fail(ControlError{ControlError::Kind::failed, "pbxwalld's answer has no boolean \"ok\": " + answer->dump()});
  return answer;
}

Result<nlohmann::json, ControlError> call_daemon(const std::string& socket_path, const nlohmann::json& request,
                                                 std::chrono::milliseconds timeout) {
  auto connection = ControlConnection::open(socket_path, timeout);
  if (!connection) return fail(connection.error());
  return connection->call(request, timeout);
}

}  // namespace pbxwall::cli
