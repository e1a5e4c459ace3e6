// Replacing the configuration file so that a crash at any moment leaves either the old or the
// new file in place, never a half-written one, and the previous version as path.bak.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <vector>

#include "model/model.h"

namespace pbxwall::model {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status<std::string> fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(errno_text("cannot open directory", dir));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return fail(errno_text("cannot sync directory", dir));
  return {};
}

}  // namespace

Status<std::string> write_atomically(const std::string& path, std::string_view text) {
  struct stat old {};
  const bool existed = ::stat(path.c_str(), &old) == 0;

  std::string tmp_name = path + ".tmp.XXXXXX";
  std::vector<char> tmpl(tmp_name.begin(), tmp_name.end());
  tmpl.push_back('\0');
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return fail(errno_text("cannot create temporary file next to", path));
  tmp_name = tmpl.data();
  auto abandon = [&](const std::string& why) {
    ::close(fd);
    ::unlink(tmp_name.c_str());
    return fail(why);
  };
  // Keep the old file's permissions (the configuration may hold secrets); new files are 0600.
  if (::fchmod(fd, existed ? (old.st_mode & 07777) : 0600) != 0)
    return abandon(errno_text("cannot set permissions of", tmp_name));
  std::size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abandon(errno_text("cannot write", tmp_name));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon(errno_text("cannot sync", tmp_name));
  if (::close(fd) != 0) {
    ::unlink(tmp_name.c_str());
    return fail(errno_text("cannot close", tmp_name));
  }

  if (existed) {
    // A hard link keeps the previous version under path.bak; renaming the link into place
    // replaces an older .bak atomically.
    const std::string bak = path + ".bak";
    const std::string bak_tmp = bak + ".tmp";
    ::unlink(bak_tmp.c_str());
    if (::link(path.c_str(), bak_tmp.c_str()) != 0 || ::rename(bak_tmp.c_str(), bak.c_str()) != 0) {
      const auto why = errno_text("cannot keep previous version as", bak);
      ::unlink(bak_tmp.c_str());
      ::unlink(tmp_name.c_str());
      return fail(why);
    }
  }
  if (::rename(tmp_name.c_str(), path.c_str()) != 0) {
    const auto why = errno_text("cannot replace", path);
    ::unlink(tmp_name.c_str());
    return fail(why);
  }
  return fsync_directory(directory_of(path));
}

}  // namespace pbxwall::model
