// Recognising attack tools by what they write in their requests (rule 1).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"

namespace pbxwall::responsive::detail {

class FingerprintMatcher {
 public:
  explicit FingerprintMatcher(const std::vector<std::string>& patterns);
  // The pattern (as configured) found in `text`, compared case-insensitively; empty if none.
  // Only the first kScanBytes of `text` are examined.
  std::string_view match(std::string_view text) const;

  static constexpr std::size_t kScanBytes = 1024;

 private:
  std::vector<std::string> patterns_;  // as configured, for reasons
  std::vector<std::string> lowered_;
};

// A Via sent-by host that names the sender's own loopback interface: "127.x.y.z", "::1" or
// "localhost". SIPVicious svwar and svcrack always write 127.0.0.1 there.
bool is_loopback_host(std::string_view host);
bool is_loopback(const IpAddress& addr);

}  // namespace pbxwall::responsive::detail
