#include "cli/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pbxwall::cli {
namespace {

constexpr const char* kPendingFile = "pending";
constexpr const char* kPreviousFile = "previous.nft";
constexpr const char* kSessionFile = "session-guard";
constexpr const char* kAppliedConfigFile = "applied.toml";
constexpr const char* kPreviousConfigFile = "previous.toml";
constexpr const char* kLastRollbackFile = "last-rollback";
// First line of previous.nft; the rest is the listing when the table was present.
constexpr std::string_view kPresent = "# previous table: present\n";
constexpr std::string_view kAbsent = "# previous table: absent\n";

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Status<std::string> write_text_file(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno_text(tmp));
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = errno_text(tmp);
      ::close(fd);
      return fail(err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) return fail(errno_text(tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errno_text(path));
  return {};
}

Status<std::string> RunDir::ensure() const {
  // Create each missing component; the last one private to root.
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path_.find('/', pos + 1);
    partial = path_.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), pos == std::string::npos ? 0700 : 0755) != 0 && errno != EEXIST)
      return fail(errno_text("cannot create run directory " + partial));
  }
  return {};
}

RunDir::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

Result<RunDir::Lock> RunDir::lock() const {
  if (auto s = ensure(); !s) return fail(s.error());
  const std::string p = file("lock");
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errno_text(p));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string err = errno_text(p);
    ::close(fd);
    return fail(err);
  }
  return Lock(fd);
}

std::optional<PendingChange> RunDir::read_pending() const {
  auto text = read_text_file(file(kPendingFile));
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  PendingChange p;
  if (!(in >> p.token >> p.deadline >> p.guard_pid)) return std::nullopt;
  if (!(in >> p.twin_pid)) p.twin_pid = 0;
  return p;
}

Status<std::string> RunDir::write_pending(const PendingChange& change) const {
  return write_text_file(file(kPendingFile), change.token + " " + std::to_string(change.deadline) +
                                                 " " + std::to_string(change.guard_pid) + " " +
                                                 std::to_string(change.twin_pid) + "\n");
}

Status<std::string> RunDir::write_applied_config(std::string_view text) const {
  return write_text_file(file(kAppliedConfigFile), text);
}
std::optional<std::string> RunDir::read_applied_config() const { return read_text_file(file(kAppliedConfigFile)); }
Status<std::string> RunDir::write_previous_config(std::string_view text) const {
  return write_text_file(file(kPreviousConfigFile), text);
}
std::optional<std::string> RunDir::read_previous_config() const { return read_text_file(file(kPreviousConfigFile)); }

Status<std::string> RunDir::write_previous(const std::optional<std::string>& table) const {
  std::string text(table ? kPresent : kAbsent);
  if (table) text += *table;
  return write_text_file(file(kPreviousFile), text);
}

std::optional<std::optional<std::string>> RunDir::read_previous() const {
  auto text = read_text_file(file(kPreviousFile));
  if (!text) return std::nullopt;
  if (text->rfind(kPresent, 0) == 0) return std::optional<std::string>(text->substr(kPresent.size()));
  if (text->rfind(kAbsent, 0) == 0) return std::optional<std::string>();
  return std::nullopt;  // not written by us: restore nothing rather than guess
}

void RunDir::clear_pending() const {
  ::unlink(file(kPendingFile).c_str());
  ::unlink(file(kPreviousFile).c_str());
  ::unlink(file(kPreviousConfigFile).c_str());
}

std::vector<IpAddress> RunDir::read_session_addresses() const {
  std::vector<IpAddress> out;
  auto text = read_text_file(file(kSessionFile));
  if (!text) return out;
  std::istringstream in(*text);
  std::string word;
  while (in >> word)
    if (auto a = IpAddress::parse(word)) out.push_back(*a);
  return out;
}

Status<std::string> RunDir::write_session_addresses(const std::vector<IpAddress>& addrs) const {
  if (addrs.empty()) {
    ::unlink(file(kSessionFile).c_str());
    return {};
  }
  std::string text;
  for (const auto& a : addrs) text += a.str() + "\n";
  return write_text_file(file(kSessionFile), text);
}

std::string RunDir::read_last_rollback() const {
  auto text = read_text_file(file(kLastRollbackFile));
  if (!text) return "";
  while (!text->empty() && text->back() == '\n') text->pop_back();
  return *text;
}

Status<std::string> RunDir::write_last_rollback(std::string_view line) const {
  return write_text_file(file(kLastRollbackFile), std::string(line) + "\n");
}

void RunDir::clear_last_rollback() const { ::unlink(file(kLastRollbackFile).c_str()); }

}  // namespace pbxwall::cli
