#include "base/file_text.h"

#include <fstream>
#include <sstream>
#include <system_error>

namespace pbxwall {

Result<std::string> read_file_text(const std::filesystem::path& path, std::size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  const auto too_big = [&] {
    return fail(path.string() + " is larger than " +
                (max_bytes >= (1u << 20) ? std::to_string(max_bytes >> 20) + " MiB" : std::to_string(max_bytes) + " bytes"));
  };
  if (!ec && size > max_bytes) return too_big();
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > max_bytes) return too_big();  // grew while read, or not a regular file
  return std::move(text).str();
}

Result<std::string> read_secret_line(const std::filesystem::path& path) {
  constexpr std::size_t kMaxSecret = 64u << 10;
  auto text = read_file_text(path, kMaxSecret);
  if (!text.ok()) return text;
  std::string secret = std::move(*text);
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) secret.pop_back();
  if (secret.empty()) return fail(path.string() + " is empty");
  if (secret.find_first_of("\r\n") != std::string::npos) return fail(path.string() + " holds more than one line");
  return secret;
}

}  // namespace pbxwall
