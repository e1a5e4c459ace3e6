// Reads AMI transcripts (tests/data/ami/*.txt, CRLF as Asterisk sends them).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

namespace pbxwall::ami::test {

inline std::string transcript(const std::string& name) {
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/ami/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace pbxwall::ami::test
