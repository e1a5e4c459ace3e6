// Test helper: messages written with "\n" line ends in the source, sent with CRLF.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace pbxwall::sip::test {

inline std::string crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace pbxwall::sip::test
