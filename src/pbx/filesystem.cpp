#include "pbx/filesystem.h"

#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pbxwall::pbx {

bool has_glob_magic(const std::string& text) { return text.find_first_of("*?[{") != std::string::npos; }

Result<std::string> MemoryFileSystem::read(const std::string& path) const {
  auto it = files_.find(path);
  if (it == files_.end()) return fail(std::string("No such file or directory"));
  return it->second;
}

std::vector<std::string> MemoryFileSystem::glob(const std::string& pattern) const {
  std::vector<std::string> out;
  for (const auto& [path, contents] : files_)
    if (::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0) out.push_back(path);
  return out;  // std::map keeps them sorted
}

Result<std::string> DiskFileSystem::read(const std::string& path) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail(std::string(std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return fail(std::string("is a directory"));
  if (static_cast<std::size_t>(st.st_size) > kMaxFileBytes)
    return fail("larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string(std::strerror(errno)));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return fail(std::string("read error"));
  return buf.str();
}

std::vector<std::string> DiskFileSystem::glob(const std::string& pattern) const {
  std::vector<std::string> out;
  glob_t g{};
  if (::glob(pattern.c_str(), GLOB_BRACE, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      struct stat st {};
      if (::stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) out.emplace_back(g.gl_pathv[i]);
    }
  }
  ::globfree(&g);
  return out;
}

}  // namespace pbxwall::pbx
