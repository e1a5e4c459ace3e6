// Big-endian loads for header fields. Callers check the bounds first.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

namespace pbxwall::capture {

inline std::uint16_t load_be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}

inline std::uint32_t load_be32(std::span<const std::uint8_t> b, std::size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// NFLOG TLV headers are in the capturing host's byte order (libpcap swaps them when a file
// comes from a host of the other byte order).
inline std::uint16_t load_host16(std::span<const std::uint8_t> b, std::size_t at) {
  std::uint16_t v;
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

}  // namespace pbxwall::capture
