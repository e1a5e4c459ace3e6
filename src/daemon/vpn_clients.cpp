#include "daemon/vpn_clients.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>

namespace pbxwall::daemon {

namespace {

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto at = line.find(sep, start);
    out.push_back(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// "192.0.2.1:1194", "[2001:db8::1]:1194", "udp4:192.0.2.1:1194", "2001:db8::1" (no port).
std::optional<IpAddress> endpoint_address(std::string_view s) {
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    const auto prefix = s.substr(0, colon);
    if (prefix.starts_with("udp") || prefix.starts_with("tcp")) s.remove_prefix(colon + 1);
  }
  if (s.starts_with('[')) {
    const auto end = s.find(']');
    if (end == std::string_view::npos) return std::nullopt;
    return IpAddress::parse(s.substr(1, end - 1));
  }
  if (auto whole = IpAddress::parse(s)) return whole;
  const auto last = s.rfind(':');
  if (last == std::string_view::npos) return std::nullopt;
  return IpAddress::parse(s.substr(0, last));
}

std::vector<IpAddress> sorted_unique(std::vector<IpAddress> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

template <class F>
void for_each_line(std::string_view text, F f) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    f(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

std::vector<IpAddress> openvpn_clients(std::string_view text) {
  std::vector<IpAddress> out;
  for_each_line(text, [&](std::string_view line) {
    if (!line.starts_with("CLIENT_LIST")) return;
    const char sep = line.size() > 11 && line[11] == '\t' ? '\t' : ',';
    const auto fields = split(line, sep);
    if (fields.size() < 3) return;
    if (auto a = endpoint_address(fields[2])) out.push_back(*a);
  });
  return sorted_unique(std::move(out));
}

std::vector<IpAddress> wireguard_clients(std::string_view text, TimePoint now, Duration max_age) {
  std::vector<IpAddress> out;
  for_each_line(text, [&](std::string_view line) {
    const auto fields = split(line, '\t');
    if (fields.size() < 9) return;  // the interface line has 5 fields
    std::int64_t handshake = 0;
    const auto h = fields[5];
    if (std::from_chars(h.data(), h.data() + h.size(), handshake).ec != std::errc() || handshake <= 0) return;
    const TimePoint at{std::chrono::seconds(handshake)};
    if (at + max_age < now) return;
    if (auto a = endpoint_address(fields[3])) out.push_back(*a);
  });
  return sorted_unique(std::move(out));
}

}  // namespace pbxwall::daemon
