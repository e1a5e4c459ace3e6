#include "base/address.h"

#include <gtest/gtest.h>

namespace pbxwall {
namespace {

TEST(IpAddress, ParsesBothFamiliesAndNormalisesMappedV4) {
  auto a = IpAddress::parse("192.0.2.7");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->str(), "192.0.2.7");
  auto b = IpAddress::parse("2001:db8::1");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->is_v4());
  EXPECT_EQ(b->str(), "2001:db8::1");
  auto m = IpAddress::parse("::ffff:198.51.100.4");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, *IpAddress::parse("198.51.100.4"));
  EXPECT_EQ(IpAddress::parse("[2001:db8::2]")->str(), "2001:db8::2");
}

TEST(IpAddress, RejectsGarbage) {
  for (auto s : {"", "1.2.3", "1.2.3.4.5", "300.1.1.1", "2001:db8:::1", "host.example", "1.2.3.4 "}) {
    EXPECT_FALSE(IpAddress::parse(s)) << s;
  }
}

TEST(Cidr, ParsesAndContains) {
  auto n = Cidr::parse("198.51.100.0/24");
  ASSERT_TRUE(n);
  EXPECT_TRUE(n->contains(*IpAddress::parse("198.51.100.200")));
  EXPECT_FALSE(n->contains(*IpAddress::parse("198.51.101.1")));
  EXPECT_FALSE(n->contains(*IpAddress::parse("2001:db8::1")));
  auto v6 = Cidr::parse("2001:db8:10::/48");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:10:ffff::1")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("2001:db8:11::1")));
  auto odd = Cidr::parse("203.0.113.128/25");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->contains(*IpAddress::parse("203.0.113.129")));
  EXPECT_FALSE(odd->contains(*IpAddress::parse("203.0.113.127")));
  EXPECT_EQ(Cidr::parse("192.0.2.1")->str(), "192.0.2.1");
  EXPECT_EQ(Cidr::parse("0.0.0.0/0")->str(), "0.0.0.0/0");
}

TEST(Cidr, ExplainsErrors) {
  std::string why;
  EXPECT_FALSE(Cidr::parse("10.0.0.1/8", &why));
  EXPECT_NE(why.find("beyond the prefix"), std::string::npos);
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33", &why));
  EXPECT_NE(why.find("0..32"), std::string::npos);
  EXPECT_FALSE(Cidr::parse("10.0.0.0/x", &why));
  EXPECT_FALSE(Cidr::parse("2001:db8::/129", &why));
  EXPECT_NE(why.find("0..128"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall
