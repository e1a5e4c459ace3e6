// Interface index → name, for the namespace an object was created in. Indexes are per network
// namespace, so names are looked up through a socket opened at construction, whichever
// namespace the calling thread is in later. Names are cached: an index is not reused while the
// interface exists, and the kernel hands out new indexes in increasing order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace pbxwall::packets {

class InterfaceNames {
 public:
  static Result<InterfaceNames> open();
  InterfaceNames(InterfaceNames&& other) noexcept;
  InterfaceNames& operator=(InterfaceNames&&) = delete;
  InterfaceNames(const InterfaceNames&) = delete;
  ~InterfaceNames();

  // "" for index 0 (no device); "if<index>" if the interface is gone.
  std::string_view name(std::uint32_t index);

 private:
  explicit InterfaceNames(int socket) : socket_(socket) {}
  int socket_ = -1;
  std::unordered_map<std::uint32_t, std::string> cache_;
};

}  // namespace pbxwall::packets
