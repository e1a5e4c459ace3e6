#include "responsive/fingerprint.h"

#include <algorithm>

namespace pbxwall::responsive::detail {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

FingerprintMatcher::FingerprintMatcher(const std::vector<std::string>& patterns) : patterns_(patterns) {
  for (const auto& p : patterns_) lowered_.push_back(lowered(p));
}

std::string_view FingerprintMatcher::match(std::string_view text) const {
  if (text.empty()) return {};
  const std::string_view hay = text.substr(0, kScanBytes);
  for (std::size_t i = 0; i < lowered_.size(); ++i) {
    const std::string& needle = lowered_[i];
    if (needle.empty() || needle.size() > hay.size()) continue;
    // Patterns are lowered once; only the text is lowered, byte by byte, while comparing.
    const auto at = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                                [](char h, char n) { return lower(h) == n; });
    if (at != hay.end()) return patterns_[i];
  }
  return {};
}

bool is_loopback_host(std::string_view host) {
  if (host.starts_with("127.")) return true;
  return host == "::1" || iequals(host, "localhost") || iequals(host, "0:0:0:0:0:0:0:1");
}

bool is_loopback(const IpAddress& addr) {
  if (addr.is_v4()) return addr.bytes()[0] == 127;
  const auto& b = addr.bytes();
  for (std::size_t i = 0; i < 15; ++i)
    if (b[i] != 0) return false;
  return b[15] == 1;
}

}  // namespace pbxwall::responsive::detail
