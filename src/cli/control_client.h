// The client side of pbxwalld's control socket (<run-dir>/control.sock): one JSON object per
// line each way. Every wait is bounded by a deadline, so a daemon that hangs or answers
// garbage gives a clear error instead of a hung or crashed command.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace pbxwall::cli {

inline constexpr const char* kControlSocketName = "control.sock";

std::string control_socket_path(const std::string& run_dir);

struct ControlError {
  // not_running: no socket file, or nobody listens on it (a stale file after a crash).
  // failed: the daemon is there but the exchange failed (permission, timeout, bad reply).
  enum class Kind { not_running, failed };
  Kind kind = Kind::failed;
  std::string message;
};

class ControlConnection {
 public:
  // Connects within `timeout`.
  static Result<ControlConnection, ControlError> open(const std::string& socket_path,
                                                      std::chrono::milliseconds timeout);
  ControlConnection(ControlConnection&& other) noexcept;
  ControlConnection& operator=(ControlConnection&&) = delete;
  ControlConnection(const ControlConnection&) = delete;
  ~ControlConnection();

  // Sends `request` as one line and reads the answer line: a JSON object with a boolean "ok".
  Result<nlohmann::json, ControlError> call(const nlohmann::json& request, std::chrono::milliseconds timeout);

  // Reads the next line as a JSON object. A non-positive timeout waits without limit (used to
  // follow events). The daemon closing the connection is an error ("closed the connection").
  Result<nlohmann::json, ControlError> read_object(std::chrono::milliseconds timeout);

 private:
  ControlConnection(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status<ControlError> send_line(const std::string& line, std::chrono::milliseconds timeout);
  Result<std::string, ControlError> read_line(std::chrono::milliseconds timeout);
  ControlError failed(const std::string& what) const;

  int fd_;
  std::string path_;
  std::string inbox_;  // bytes received after the last line returned
};

// Connects, sends one request, reads its answer.
Result<nlohmann::json, ControlError> call_daemon(const std::string& socket_path, const nlohmann::json& request,
                                                 std::chrono::milliseconds timeout);

}  // namespace pbxwall::cli
