// session_refused: whether a policy still lets the administrator's own connection in.
#include <gtest/gtest.h>

#include "model/model.h"

namespace pbxwall::model {
namespace {

Policy policy_of(const std::string& text) {
  auto loaded = load_string(text, "t.toml");
  EXPECT_TRUE(loaded.ok());
  return loaded.ok() ? loaded->policy : Policy{};
}

Session ssh_from(const std::string& addr, std::uint16_t port = 22, std::string ifname = "") {
  return Session{.client = *IpAddress::parse(addr), .proto = Proto::tcp, .port = port, .ifname = std::move(ifname),
                 .kind = "SSH session"};
}

TEST(SessionTest, TrustedNetworkKeepsTheSession) {
  const auto p = policy_of("[networks]\n\"198.51.100.0/24\" = \"trusted\"\n");
  EXPECT_FALSE(session_refused(p, ssh_from("198.51.100.5")));
}

TEST(SessionTest, InternetZoneWithoutSshCutsIt) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n");
  const auto why = session_refused(p, ssh_from("198.51.100.5"));
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "198.51.100.5 would be in zone internet, where no service opens tcp/22");
}

TEST(SessionTest, ServiceOpenToTheZoneKeepsIt) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n");  // ssh is open to local
  EXPECT_FALSE(session_refused(p, ssh_from("192.0.2.9")));
  // Another port (sshd moved to 2222) is not opened by the ssh service's tcp/22.
  EXPECT_TRUE(session_refused(p, ssh_from("192.0.2.9", 2222)));
  const auto custom = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n[[custom_services]]\nname = \"ssh2\"\n"
                                "ports = [\"tcp/2222\"]\nzones = [\"local\"]\n");
  EXPECT_FALSE(session_refused(custom, ssh_from("192.0.2.9", 2222)));
}

TEST(SessionTest, RejectZoneCutsEvenAnOpenService) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n\"192.0.2.9\" = \"reject\"\n");
  const auto why = session_refused(p, ssh_from("192.0.2.9"));
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "192.0.2.9 would be in zone reject, which reaches nothing");
}

TEST(SessionTest, InterfaceZoneAppliesWhenNoNetworkMatches) {
  const auto p = policy_of("[interfaces]\neth1 = \"local\"\n");
  EXPECT_FALSE(session_refused(p, ssh_from("198.51.100.5", 22, "eth1")));
  EXPECT_TRUE(session_refused(p, ssh_from("198.51.100.5", 22, "eth0")));
}

TEST(SessionTest, LoopbackAndADisabledFirewallNeverCut) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"reject\"\n");
  EXPECT_FALSE(session_refused(p, ssh_from("127.0.0.1")));
  EXPECT_FALSE(session_refused(p, ssh_from("::1")));
  const auto off = policy_of("[firewall]\nenabled = false\n[networks]\n\"192.0.2.0/24\" = \"reject\"\n");
  EXPECT_FALSE(session_refused(off, ssh_from("192.0.2.9")));
}

TEST(SessionTest, UnknownPortMeansAnyAdminService) {
  const auto p = policy_of("[networks]\n\"192.0.2.0/24\" = \"local\"\n");
  Session web = ssh_from("192.0.2.9", 0);
  web.kind = "web UI session";
  EXPECT_FALSE(session_refused(p, web));
  EXPECT_EQ(web.describe(), "web UI session from 192.0.2.9");
  web.client = *IpAddress::parse("198.51.100.7");
  EXPECT_EQ(*session_refused(p, web), "198.51.100.7 would be in zone internet, where neither ssh nor http(s) is open");
}

TEST(SessionTest, IPv6SessionsAreCheckedAlike) {
  const auto p = policy_of("[networks]\n\"2001:db8:5::/48\" = \"trusted\"\n");
  EXPECT_FALSE(session_refused(p, ssh_from("2001:db8:5::10")));
  EXPECT_TRUE(session_refused(p, ssh_from("2001:db8:6::10")));
}

}  // namespace
}  // namespace pbxwall::model
