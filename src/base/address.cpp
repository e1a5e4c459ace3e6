#include "base/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace pbxwall {

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.family_ = Family::v4;
  a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::v4_bytes(const std::uint8_t* p) {
  IpAddress a;
  a.family_ = Family::v4;
  std::memcpy(a.bytes_.data(), p, 4);
  return a;
}

IpAddress IpAddress::v6_bytes(const std::uint8_t* p) {
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(p, kMapped, 12) == 0) return v4_bytes(p + 12);
  IpAddress a;
  a.family_ = Family::v6;
  std::memcpy(a.bytes_.data(), p, 16);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  if (text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  std::uint8_t out[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, out) != 1) return std::nullopt;
    return v4_bytes(out);
  }
  if (inet_pton(AF_INET6, buf, out) != 1) return std::nullopt;
  return v6_bytes(out);
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

Cidr::Cidr(IpAddress addr, int prefix) : prefix_(prefix) {
  auto bytes = addr.bytes();
  const int width = addr.bit_width();
  for (int i = prefix; i < width; ++i) bytes[static_cast<unsigned>(i / 8)] &= static_cast<std::uint8_t>(~(0x80u >> (i % 8)));
  addr_ = addr.is_v4() ? IpAddress::v4_bytes(bytes.data()) : IpAddress::v6_bytes(bytes.data());
}

namespace {
constexpr const char* kNotAnAddress = "not an IPv4 or IPv6 address";
}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* why) {
  auto say = [&](const std::string& m) {
    if (why) *why = m;
    return std::nullopt;
  };
  const auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return say(kNotAnAddress);
  if (slash == std::string_view::npos) return Cidr(*addr, addr->bit_width());
  const auto len = text.substr(slash + 1);
  int prefix = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  if (ec != std::errc() || end != len.data() + len.size() || len.empty())
    return say("prefix length is not a number");
  if (prefix < 0 || prefix > addr->bit_width())
    return say(addr->is_v4() ? "prefix length must be 0..32 for IPv4" : "prefix length must be 0..128 for IPv6");
  Cidr c(*addr, prefix);
  if (c.address() != *addr)
    return say("address has bits set beyond the prefix length (did you mean " + c.str() + "?)");
  return c;
}

std::string address_error(std::string_view text) {
  std::string why;
  if (Cidr::parse(text, &why)) return {};
  std::string message = "\"" + std::string(text) + "\" is not an address or network";
  if (why != kNotAnAddress) message += ": " + why;
  return message;
}

bool Cidr::contains(const IpAddress& a) const {
  if (a.family() != addr_.family()) return false;
  const auto& x = a.bytes();
  const auto& n = addr_.bytes();
  int full = prefix_ / 8;
  if (std::memcmp(x.data(), n.data(), static_cast<std::size_t>(full)) != 0) return false;
  int rest = prefix_ % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff00u >> rest);
  return (x[static_cast<unsigned>(full)] & mask) == n[static_cast<unsigned>(full)];
}

std::string Cidr::str() const {
  if (is_host()) return addr_.str();
  return addr_.str() + "/" + std::to_string(prefix_);
}

std::size_t IpAddressHash::operator()(const IpAddress& a) const noexcept {
  // FNV-1a over the bytes and family: cheap, and the source table salts it further.
  std::size_t h = 1469598103934665603ull;
  for (auto b : a.bytes()) h = (h ^ b) * 1099511628211ull;
  return h ^ static_cast<std::size_t>(a.family());
}

}  // namespace pbxwall
