// State the CLI keeps between invocations, under the run directory (default /run/pbxwall,
// emptied at boot): the table to restore if a safe-mode change is not confirmed, the marker of
// that pending change, the SSH session addresses kept open, and the outcome of the last
// rollback. A lock file serialises the CLI and the rollback guard.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/result.h"

namespace pbxwall::cli {

// A change waiting for `pbxwall confirm`.
struct PendingChange {
  std::string token;            // identifies the guard responsible for it
  std::int64_t deadline = 0;    // epoch seconds at which it rolls back
  int guard_pid = 0;            // 0 until the guard reported its pid
  int twin_pid = 0;             // the guard's twin, which rolls back if the guard is killed
};

class RunDir {
 public:
  explicit RunDir(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

  // Creates the directory (mode 0700) if needed.
  Status<std::string> ensure() const;

  // Exclusive lock held for the object's lifetime (flock on run_dir/lock).
  class Lock {
   public:
    explicit Lock(int fd) : fd_(fd) {}
    Lock(Lock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Lock& operator=(Lock&&) = delete;
    Lock(const Lock&) = delete;
    ~Lock();

   private:
    int fd_;
  };
  Result<Lock> lock() const;

  std::optional<PendingChange> read_pending() const;
  Status<std::string> write_pending(const PendingChange& change) const;

  // The table to restore: its `nft list table` text, or nullopt when there was no table.
  Status<std::string> write_previous(const std::optional<std::string>& table) const;
  // Outer nullopt: nothing saved; inner nullopt: saved as "absent".
  std::optional<std::optional<std::string>> read_previous() const;

  // The configuration file's text at the last apply, and the one to write back when a
  // pending change rolls back (the text of the configuration confirmed last).
  Status<std::string> write_applied_config(std::string_view text) const;
  std::optional<std::string> read_applied_config() const;
  Status<std::string> write_previous_config(std::string_view text) const;
  std::optional<std::string> read_previous_config() const;

  // Removes the pending marker, the saved table and the saved configuration.
  void clear_pending() const;

  std::vector<IpAddress> read_session_addresses() const;
  Status<std::string> write_session_addresses(const std::vector<IpAddress>& addrs) const;

  // One line describing the last rollback ("" if none since the last start).
  std::string read_last_rollback() const;
  Status<std::string> write_last_rollback(std::string_view line) const;
  void clear_last_rollback() const;

 private:
  std::string path_;
};

// Reads a whole file; nullopt when it does not exist or cannot be read.
std::optional<std::string> read_text_file(const std::string& path);
// Writes via a temporary file and rename, so readers never see half a file.
Status<std::string> write_text_file(const std::string& path, std::string_view text);

}  // namespace pbxwall::cli
