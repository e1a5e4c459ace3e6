// Header lookup on a parsed message, and the URI splitter.
#include <gtest/gtest.h>

#include "sip/sip.h"
#include "sip/syntax.h"
#include "test_text.h"

namespace pbxwall::sip {
namespace {

using test::crlf;

const std::string kOptions = crlf(
    "OPTIONS sip:100@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
    "From: <sip:a@example.com>;tag=1\n"
    "To: <sip:100@example.com>\n"
    "Call-ID: h\n"
    "CSeq: 1 OPTIONS\n"
    "X-Scanner: first\n"
    "Accept: application/sdp\n"
    "x-scanner: second\n"
    " continued\n"
    "Content-Length: 0\n\n");

TEST(SipHeaders, LookupByNameIsCaseInsensitive) {
  auto m = parse(kOptions);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header("accept"), "application/sdp");
  EXPECT_EQ(m->header("X-SCANNER"), "first");
  EXPECT_EQ(m->header("Absent"), "");
}

TEST(SipHeaders, LookupMatchesCompactForms) {
  auto m = parse(kOptions);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header("i"), "h");
  EXPECT_EQ(m->header("Call-ID"), "h");
  EXPECT_EQ(m->header("l"), "0");
  EXPECT_EQ(m->header("v"), "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
}

TEST(SipHeaders, AllValuesInOrderWithFoldsKept) {
  auto m = parse(kOptions);
  ASSERT_TRUE(m.ok());
  auto values = m->header_values("X-Scanner");
  ASSERT_EQ(values.size(), 2u);
  EXPECT_EQ(values[0], "first");
  EXPECT_EQ(values[1], "second\r\n continued");
}

TEST(SipUri, SipWithUserPasswordHostPortParams) {
  Uri u;
  ASSERT_TRUE(detail::parse_uri("sips:alice:pw@example.com:5061;transport=tls?subject=x", &u));
  EXPECT_EQ(u.scheme, "sips");
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.host, "example.com");
  EXPECT_EQ(*u.port, 5061);
}

TEST(SipUri, UserWithReservedCharacters) {
  Uri u;
  ASSERT_TRUE(detail::parse_uri("sip:user;par=u%40example.net@example.com", &u));
  EXPECT_EQ(u.user, "user;par=u%40example.net");
  EXPECT_EQ(u.host, "example.com");
}

TEST(SipUri, TelAndOtherSchemes) {
  Uri tel;
  ASSERT_TRUE(detail::parse_uri("tel:+1-201-555-0123;phone-context=example.com", &tel));
  EXPECT_EQ(tel.user, "+1-201-555-0123");
  EXPECT_EQ(tel.host, "");
  Uri other;
  ASSERT_TRUE(detail::parse_uri("urn:service:sos", &other));
  EXPECT_EQ(other.scheme, "urn");
  EXPECT_EQ(other.whole, "urn:service:sos");
}

TEST(SipUri, Rejected) {
  Uri u;
  EXPECT_FALSE(detail::parse_uri("", &u));
  EXPECT_FALSE(detail::parse_uri("sip:", &u));
  EXPECT_FALSE(detail::parse_uri("sip:@example.com", &u));
  EXPECT_FALSE(detail::parse_uri("sip:a@", &u));
  EXPECT_FALSE(detail::parse_uri("sip:a@ex ample.com", &u));
  EXPECT_FALSE(detail::parse_uri("sip:a@[2001:db8::1", &u));
  EXPECT_FALSE(detail::parse_uri("sip:a@example.com:65536", &u));
  EXPECT_FALSE(detail::parse_uri("sip:a@example.com:50x", &u));
  EXPECT_FALSE(detail::parse_uri("1sip:a@example.com", &u));
  EXPECT_FALSE(detail::parse_uri("example.com", &u));
}

}  // namespace
}  // namespace pbxwall::sip
