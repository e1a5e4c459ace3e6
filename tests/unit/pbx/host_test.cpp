#include "pbx/host.h"

#include <gtest/gtest.h>

namespace pbxwall::pbx {
namespace {

TEST(SipUri, HostPortUserAndTransport) {
  auto u = parse_sip_uri("sip:4420123456@SIP.Provider.example:5080;transport=TCP;lr?X-Foo=1");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->secure);
  EXPECT_EQ(u->user, "4420123456");
  EXPECT_EQ(u->host.host, "sip.provider.example");
  EXPECT_EQ(u->host.port, 5080);
  EXPECT_EQ(u->transport, "tcp");
}

TEST(SipUri, Forms) {
  EXPECT_EQ(parse_sip_uri("sip:proxy.example;lr")->host.host, "proxy.example");
  EXPECT_EQ(parse_sip_uri("sip:proxy.example;lr")->host.port, 0);
  EXPECT_TRUE(parse_sip_uri("sips:secure.example")->secure);
  EXPECT_EQ(parse_sip_uri("<sip:203.0.113.9:5060>")->host.host, "203.0.113.9");
  EXPECT_EQ(parse_sip_uri("sip:user:pw@[2001:db8::5]:5062")->host.host, "2001:db8::5");
  EXPECT_EQ(parse_sip_uri("sip:user:pw@[2001:db8::5]:5062")->host.port, 5062);
  EXPECT_EQ(parse_sip_uri("sip:user;x=1@host.example")->host.host, "host.example");
}

TEST(SipUri, Errors) {
  std::string why;
  EXPECT_FALSE(parse_sip_uri("host.example", &why));
  EXPECT_EQ(why, "no sip: or sips: scheme");
  EXPECT_FALSE(parse_sip_uri("http://host.example", &why));
  EXPECT_EQ(why, "scheme is neither sip: nor sips:");
  EXPECT_FALSE(parse_sip_uri("sip:user@", &why));
  EXPECT_EQ(why, "no host");
  EXPECT_FALSE(parse_sip_uri("sip:host.example:99999", &why));
  EXPECT_EQ(why, "port is not a number in 1..65535");
  EXPECT_FALSE(parse_sip_uri("sip:ho st", &why));
  EXPECT_EQ(why, "not an address or a host name");
  EXPECT_FALSE(parse_sip_uri("<sip:x", &why));
}

TEST(HostPort, Forms) {
  EXPECT_EQ(parse_host_port("0.0.0.0:5060")->port, 5060);
  EXPECT_EQ(parse_host_port("0.0.0.0")->port, 0);
  EXPECT_EQ(parse_host_port("[::]:5060")->host, "::");
  EXPECT_EQ(parse_host_port("[::]:5060")->port, 5060);
  EXPECT_EQ(parse_host_port("::")->host, "::");
  EXPECT_EQ(parse_host_port("2001:db8::1")->host, "2001:db8::1");
  EXPECT_EQ(parse_host_port("Gw.Example:5070")->host, "gw.example");
  std::string why;
  EXPECT_FALSE(parse_host_port("host:", &why));
  EXPECT_FALSE(parse_host_port("[::1", &why));
  EXPECT_FALSE(parse_host_port("[203.0.113.1]", &why));
  EXPECT_FALSE(parse_host_port("host:0", &why));
  EXPECT_FALSE(parse_host_port("", &why));
}

TEST(AclNetwork, PrefixAndNetmaskForms) {
  EXPECT_EQ(parse_acl_network("203.0.113.64/255.255.255.192")->str(), "203.0.113.64/26");
  EXPECT_EQ(parse_acl_network("203.0.113.64/26")->str(), "203.0.113.64/26");
  EXPECT_EQ(parse_acl_network("203.0.113.10")->str(), "203.0.113.10");
  EXPECT_EQ(parse_acl_network("203.0.113.77/24")->str(), "203.0.113.0/24");  // masked, as Asterisk does
  EXPECT_EQ(parse_acl_network("2001:db8:1::/48")->str(), "2001:db8:1::/48");
  EXPECT_EQ(parse_acl_network("0.0.0.0/0.0.0.0")->prefix(), 0);
  std::string why;
  EXPECT_FALSE(parse_acl_network("203.0.113.0/255.0.255.0", &why));
  EXPECT_EQ(why, "netmask has non-contiguous bits");
  EXPECT_FALSE(parse_acl_network("203.0.113.0/33", &why));
  EXPECT_FALSE(parse_acl_network("gw.example/24", &why));
  EXPECT_FALSE(parse_acl_network("203.0.113.0/ffff::", &why));
}

}  // namespace
}  // namespace pbxwall::pbx
