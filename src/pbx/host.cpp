#include "pbx/host.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace pbxwall::pbx {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <class T>
std::optional<T> say(std::string* why, const char* message) {
  if (why) *why = message;
  return std::nullopt;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

bool is_hostname(std::string_view text) {
  if (text.empty() || text.size() > 253 || text.front() == '.' || text.front() == '-') return false;
  return std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::optional<HostPort> parse_host_port(std::string_view text, std::string* why) {
  if (text.empty()) return say<HostPort>(why, "empty host");
  HostPort out;
  std::string_view host = text;
  std::string_view port;
  if (text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return say<HostPort>(why, "no closing ']' after IPv6 address");
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return say<HostPort>(why, "unexpected text after ']'");
      port = rest.substr(1);
      if (port.empty()) return say<HostPort>(why, "empty port");
    }
    if (!IpAddress::parse(host) || IpAddress::parse(host)->is_v4()) return say<HostPort>(why, "not an IPv6 address inside [...]");
  } else if (std::count(text.begin(), text.end(), ':') > 1) {
    if (!IpAddress::parse(text)) return say<HostPort>(why, "not an IPv6 address");
  } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return say<HostPort>(why, "empty port");
  }
  if (!port.empty()) {
    auto p = parse_port(port);
    if (!p) return say<HostPort>(why, "port is not a number in 1..65535");
    out.port = *p;
  }
  if (auto addr = IpAddress::parse(host)) {
    out.host = addr->str();
  } else if (is_hostname(host)) {
    out.host = lower(host);
  } else {
    return say<HostPort>(why, "not an address or a host name");
  }
  return out;
}

std::optional<SipUri> parse_sip_uri(std::string_view text, std::string* why) {
  if (!text.empty() && text.front() == '<') {
    const auto close = text.find('>');
    if (close == std::string_view::npos) return say<SipUri>(why, "no closing '>'");
    text = text.substr(1, close - 1);
  }
  SipUri out;
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return say<SipUri>(why, "no sip: or sips: scheme");
  const auto scheme = lower(text.substr(0, colon));
  if (scheme == "sips") {
    out.secure = true;
  } else if (scheme != "sip") {
    return say<SipUri>(why, "scheme is neither sip: nor sips:");
  }
  std::string_view rest = text.substr(colon + 1);
  // Headers follow '?', parameters ';' (after the host part; a user part may hold ';' too,
  // but it is ended by '@', so the user is split off first).
  if (const auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto user = rest.substr(0, at);
    out.user = std::string(user.substr(0, user.find(':')));
    rest = rest.substr(at + 1);
  }
  std::string_view params;
  if (const auto semi = rest.find(';'); semi != std::string_view::npos) {
    params = rest.substr(semi + 1);
    rest = rest.substr(0, semi);
  }
  if (rest.empty()) return say<SipUri>(why, "no host");
  auto hp = parse_host_port(rest, why);
  if (!hp) return std::nullopt;
  out.host = *hp;
  while (!params.empty()) {
    const auto semi = params.find(';');
    auto param = params.substr(0, semi);
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && lower(param.substr(0, eq)) == "transport") out.transport = lower(param.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi + 1);
  }
  return out;
}

std::optional<Cidr> parse_acl_network(std::string_view text, std::string* why) {
  const auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return say<Cidr>(why, "not an IPv4 or IPv6 address");
  if (slash == std::string_view::npos) return Cidr(*addr, addr->bit_width());
  const auto mask_text = text.substr(slash + 1);
  int prefix = -1;
  if (mask_text.find_first_of(".:") != std::string_view::npos) {
    auto mask = IpAddress::parse(mask_text);
    if (!mask || mask->family() != addr->family()) return say<Cidr>(why, "netmask is not an address of the same family");
    int ones = 0;
    while (ones < mask->bit_width() && mask->bit(ones)) ++ones;
    for (int i = ones; i < mask->bit_width(); ++i)
      if (mask->bit(i)) return say<Cidr>(why, "netmask has non-contiguous bits");
    prefix = ones;
  } else {
    auto [end, ec] = std::from_chars(mask_text.data(), mask_text.data() + mask_text.size(), prefix);
    if (ec != std::errc() || end != mask_text.data() + mask_text.size() || mask_text.empty())
      return say<Cidr>(why, "prefix length is not a number");
    if (prefix < 0 || prefix > addr->bit_width()) return say<Cidr>(why, "prefix length out of range");
  }
  return Cidr(*addr, prefix);
}

}  // namespace pbxwall::pbx
