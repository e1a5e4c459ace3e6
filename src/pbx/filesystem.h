// The PBX readers see files only through this interface: tests hand them an in-memory tree,
// the daemon and the CLI a directory on disk. Paths are absolute ("/etc/asterisk/sip.conf").
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace pbxwall::pbx {

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // The whole file, or an error text such as "No such file or directory".
  virtual Result<std::string> read(const std::string& path) const = 0;
  // Existing files whose path matches a shell pattern (*, ?, [...]), sorted by name.
  virtual std::vector<std::string> glob(const std::string& pattern) const = 0;
};

// Files held in memory, for tests and for configuration that arrives by other means.
class MemoryFileSystem final : public FileSystem {
 public:
  void add(const std::string& path, std::string contents) { files_[path] = std::move(contents); }
  Result<std::string> read(const std::string& path) const override;
  std::vector<std::string> glob(const std::string& pattern) const override;

 private:
  std::map<std::string, std::string> files_;
};

// The real file system. Files larger than kMaxFileBytes are refused: Asterisk configuration
// is text written by people and FreePBX, and a huge file means a wrong path.
class DiskFileSystem final : public FileSystem {
 public:
  static constexpr std::size_t kMaxFileBytes = 16u << 20;
  Result<std::string> read(const std::string& path) const override;
  std::vector<std::string> glob(const std::string& pattern) const override;
};

// True when the text holds shell pattern characters, so an include names a glob.
bool has_glob_magic(const std::string& text);

}  // namespace pbxwall::pbx
