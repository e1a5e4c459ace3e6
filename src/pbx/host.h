// The address forms found in Asterisk configuration: SIP URIs (contact=, server_uri=,
// outbound_proxy=), host[:port] (bind=, host=, match=) and ACL networks (permit=, match=)
// with a prefix length or a dotted netmask.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/address.h"

namespace pbxwall::pbx {

struct HostPort {
  std::string host;        // lower-case name, or an address without brackets
  std::uint16_t port = 0;  // 0: not written
};

struct SipUri {
  bool secure = false;     // sips:
  std::string user;
  HostPort host;
  std::string transport;   // ";transport=" parameter, lower-case; empty if absent
};

// "sip:[user[:password]@]host[:port][;params][?headers]", also inside <...>. Errors say what
// is wrong ("no host", "port out of range").
std::optional<SipUri> parse_sip_uri(std::string_view text, std::string* why = nullptr);

// "host", "host:port", "a.b.c.d:port", "[v6]", "[v6]:port", a bare IPv6 address.
std::optional<HostPort> parse_host_port(std::string_view text, std::string* why = nullptr);

// "a.b.c.d", "a.b.c.d/24", "a.b.c.d/255.255.255.0", IPv6 forms. Host bits beyond the prefix
// are cleared, as Asterisk's ACLs do.
std::optional<Cidr> parse_acl_network(std::string_view text, std::string* why = nullptr);

// A DNS name as hosts are written in configuration: letters, digits, '-', '_', '.'.
bool is_hostname(std::string_view text);

}  // namespace pbxwall::pbx
