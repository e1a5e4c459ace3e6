// IP addresses and networks (IPv4 and IPv6), value types used across the core.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pbxwall {

enum class Family : std::uint8_t { v4 = 4, v6 = 6 };

// An IPv4 or IPv6 address. IPv4 is stored in its first 4 bytes; IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d) are normalised to IPv4 on parse, so one host has one key.
class IpAddress {
 public:
  IpAddress() = default;
  static IpAddress v4(std::uint32_t host_order);
  static IpAddress v4_bytes(const std::uint8_t* network_order4);
  static IpAddress v6_bytes(const std::uint8_t* network_order16);
  static std::optional<IpAddress> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::v4; }
  const std::array<std::uint8_t, 16>& bytes() const { return bytes_; }
  int bit_width() const { return is_v4() ? 32 : 128; }
  bool bit(int i) const { return (bytes_[static_cast<unsigned>(i / 8)] >> (7 - i % 8)) & 1; }
  std::string str() const;

  auto operator<=>(const IpAddress&) const = default;
  bool operator==(const IpAddress&) const = default;

 private:
  std::array<std::uint8_t, 16> bytes_{};
  Family family_ = Family::v4;
};

// A network in CIDR form; the address is masked to the prefix on construction.
class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddress addr, int prefix);
  // Accepts "a.b.c.d", "a.b.c.d/n", "x::y", "x::y/n". Host bits set is an error: "10.0.0.1/8"
  // is rejected rather than silently widened, because it is usually a typo.
  static std::optional<Cidr> parse(std::string_view text, std::string* why = nullptr);

  const IpAddress& address() const { return addr_; }
  int prefix() const { return prefix_; }
  Family family() const { return addr_.family(); }
  bool contains(const IpAddress& a) const;
  bool is_host() const { return prefix_ == addr_.bit_width(); }
  std::string str() const;  // host networks print without "/32" or "/128"

  auto operator<=>(const Cidr&) const = default;
  bool operator==(const Cidr&) const = default;

 private:
  IpAddress addr_;
  int prefix_ = 0;
};

// The one message every command, the API and `check` give for text that is not an address or
// a network: "\"10.0.0.1/8\" is not an address or network: address has bits set beyond the
// prefix length (did you mean 10.0.0.0/8?)". Empty when `text` is one.
std::string address_error(std::string_view text);

struct IpAddressHash {
  std::size_t operator()(const IpAddress& a) const noexcept;
};

}  // namespace pbxwall
