// Counts in messages: "1 network", "3 networks".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pbxwall {

// "<n> <singular>" for n == 1, else "<n> <plural>" (singular + "s" when no plural is given).
inline std::string counted(std::int64_t n, std::string_view singular, std::string_view plural = {}) {
  std::string out = std::to_string(n) + " ";
  if (n == 1) return out.append(singular);
  if (!plural.empty()) return out.append(plural);
  return out.append(singular).append("s");
}

}  // namespace pbxwall
