// parse(): start lines, extracted fields, and the errors for broken messages.
#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <string>
#include <vector>

#include "sip/sip.h"
#include "test_text.h"

namespace pbxwall::sip {
namespace {

using test::crlf;

const std::string kRegister = crlf(
    "REGISTER sip:pbx.example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-abc;rport\n"
    "Max-Forwards: 70\n"
    "From: \"Alice\" <sip:alice@pbx.example.com>;tag=f1\n"
    "To: <sip:alice@pbx.example.com>\n"
    "Call-ID: reg-1@192.0.2.20\n"
    "CSeq: 42 REGISTER\n"
    "Contact: <sip:alice@192.0.2.20:5062;transport=udp>;expires=300\n"
    "Expires: 3600\n"
    "User-Agent: Yealink SIP-T46S\n"
    "Content-Length: 0\n"
    "\n");

// Messages view their input: keep every parsed text alive for the whole test run.
const std::string& keep(const std::string& text) {
  static std::deque<std::string> texts;
  return texts.emplace_back(text);
}

Message parse_ok(const std::string& input) {
  const std::string& text = keep(input);
  auto r = parse(text);
  if (!r.ok()) {
    ADD_FAILURE() << "parse failed: " << anomaly_name(r.error().anomaly) << ": " << r.error().reason
                  << " at " << r.error().offset;
    return Message{};
  }
  return *r;
}

ParseError parse_error(const std::string& text) {
  auto r = parse(text);
  if (r.ok()) {
    ADD_FAILURE() << "parse succeeded but should fail";
    return ParseError{};
  }
  return r.error();
}

// Replaces the first occurrence of from (which must exist) in a message.
std::string with(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

TEST(SipParse, RequestLine) {
  Message m = parse_ok(kRegister);
  EXPECT_TRUE(m.is_request);
  EXPECT_EQ(m.method, Method::register_);
  EXPECT_EQ(m.method_token, "REGISTER");
  EXPECT_EQ(m.request_uri.whole, "sip:pbx.example.com");
  EXPECT_EQ(m.request_uri.scheme, "sip");
  EXPECT_EQ(m.request_uri.user, "");
  EXPECT_EQ(m.request_uri.host, "pbx.example.com");
  EXPECT_FALSE(m.request_uri.port.has_value());
}

TEST(SipParse, RequestUriUserHostPort) {
  Message m = parse_ok(with(kRegister, "REGISTER sip:pbx.example.com", "REGISTER sip:100:secret@192.0.2.1:5080;lr?X=1"));
  EXPECT_EQ(m.request_uri.user, "100");
  EXPECT_EQ(m.request_uri.host, "192.0.2.1");
  ASSERT_TRUE(m.request_uri.port.has_value());
  EXPECT_EQ(*m.request_uri.port, 5080);
}

TEST(SipParse, UnknownMethodKeepsToken) {
  std::string text = with(with(kRegister, "REGISTER sip:", "FOOBAR sip:"), "42 REGISTER", "42 FOOBAR");
  Message m = parse_ok(text);
  EXPECT_EQ(m.method, Method::unknown);
  EXPECT_EQ(m.method_token, "FOOBAR");
  EXPECT_EQ(m.cseq_method, Method::unknown);
  EXPECT_EQ(m.cseq_method_token, "FOOBAR");
}

TEST(SipParse, MethodsAreCaseSensitive) {
  EXPECT_EQ(method_from_token("INVITE"), Method::invite);
  EXPECT_EQ(method_from_token("invite"), Method::unknown);
  EXPECT_STREQ(method_name(Method::register_), "REGISTER");
}

TEST(SipParse, StatusLine) {
  Message m = parse_ok(crlf(
      "SIP/2.0 401 Unauthorized Here\n"
      "Via: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bK1\n"
      "From: <sip:a@example.com>;tag=1\n"
      "To: <sip:a@example.com>;tag=2\n"
      "Call-ID: x\n"
      "CSeq: 1 REGISTER\n"
      "Server: kamailio (5.6.3 (x86_64/linux))\n"
      "Content-Length: 0\n\n"));
  EXPECT_FALSE(m.is_request);
  EXPECT_EQ(m.status_code, 401);
  EXPECT_EQ(m.reason_phrase, "Unauthorized Here");
  EXPECT_EQ(m.cseq_method, Method::register_);
  EXPECT_EQ(m.server, "kamailio (5.6.3 (x86_64/linux))");
}

TEST(SipParse, BadStatusCodes) {
  std::string response = crlf(
      "SIP/2.0 200 OK\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>\n"
      "Call-ID: x\nCSeq: 1 OPTIONS\n\n");
  EXPECT_TRUE(parse(response).ok());
  EXPECT_EQ(parse_error(with(response, "200", "2000")).anomaly, Anomaly::bad_status_code);
  EXPECT_EQ(parse_error(with(response, "200", "099")).anomaly, Anomaly::bad_status_code);
  EXPECT_EQ(parse_error(with(response, "200", "7xx")).anomaly, Anomaly::bad_status_code);
  EXPECT_EQ(parse_error(with(response, "SIP/2.0 200", "SIP/7.0 200")).anomaly, Anomaly::bad_sip_version);
}

TEST(SipParse, BadRequestLines) {
  EXPECT_EQ(parse_error(with(kRegister, "REGISTER sip:pbx.example.com SIP/2.0", "REGISTER sip:pbx.example.com SIP/7.0")).anomaly,
            Anomaly::bad_sip_version);
  EXPECT_EQ(parse_error(with(kRegister, "REGISTER sip:pbx.example.com SIP/2.0", "REGISTER")).anomaly,
            Anomaly::bad_request_line);
  EXPECT_EQ(parse_error(with(kRegister, "sip:pbx.example.com", "<sip:pbx.example.com>")).anomaly,
            Anomaly::bad_request_uri);
  EXPECT_EQ(parse_error(with(kRegister, "sip:pbx.example.com", "sip:pbx.example.com:99999")).anomaly,
            Anomaly::bad_request_uri);
  EXPECT_EQ(parse_error(with(kRegister, "REGISTER sip:", "REG{STER sip:")).anomaly, Anomaly::bad_request_line);
}

TEST(SipParse, CallIdAndCSeq) {
  Message m = parse_ok(kRegister);
  EXPECT_EQ(m.call_id, "reg-1@192.0.2.20");
  EXPECT_EQ(m.cseq, 42u);
  EXPECT_EQ(m.cseq_method, Method::register_);
  EXPECT_EQ(m.cseq_method_token, "REGISTER");
}

TEST(SipParse, CSeqErrors) {
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 2147483648 REGISTER")).anomaly, Anomaly::bad_cseq);
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 42")).anomaly, Anomaly::bad_cseq);
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER", "CSeq: REGISTER")).anomaly, Anomaly::bad_cseq);
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 42 INVITE")).anomaly, Anomaly::cseq_method_mismatch);
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER\r\n", "CSeq: 42 REGISTER\r\nCSeq: 43 REGISTER\r\n")).anomaly,
            Anomaly::duplicate_cseq);
  EXPECT_EQ(parse_ok(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 2147483647 REGISTER")).cseq, 2147483647u);
}

TEST(SipParse, FromAndTo) {
  Message m = parse_ok(kRegister);
  EXPECT_TRUE(m.from.present);
  EXPECT_EQ(m.from.display, "Alice");
  EXPECT_EQ(m.from.uri.whole, "sip:alice@pbx.example.com");
  EXPECT_EQ(m.from.uri.user, "alice");
  EXPECT_EQ(m.from.uri.host, "pbx.example.com");
  EXPECT_EQ(m.from.tag, "f1");
  EXPECT_TRUE(m.to.present);
  EXPECT_EQ(m.to.display, "");
  EXPECT_EQ(m.to.uri.user, "alice");
  EXPECT_EQ(m.to.tag, "");
}

TEST(SipParse, AddrSpecWithoutAngleBrackets) {
  Message m = parse_ok(with(kRegister, "To: <sip:alice@pbx.example.com>", "To: sip:bob@pbx.example.com ; tag = t9"));
  EXPECT_EQ(m.to.uri.user, "bob");
  EXPECT_EQ(m.to.tag, "t9");
}

TEST(SipParse, TokenDisplayName) {
  Message m = parse_ok(with(kRegister, "From: \"Alice\" <", "From: Alice  Smith <"));
  EXPECT_EQ(m.from.display, "Alice  Smith");
  EXPECT_EQ(m.from.uri.user, "alice");
}

TEST(SipParse, UnquotedUtf8DisplayNameAccepted) {
  Message m = parse_ok(with(kRegister, "From: \"Alice\" <", "From: J\xc3\xbcrgen M\xc3\xbcller <"));
  EXPECT_EQ(m.from.display, "J\xc3\xbcrgen M\xc3\xbcller");
  EXPECT_EQ(m.from.uri.user, "alice");
  EXPECT_EQ(parse_error(with(kRegister, "From: \"Alice\" <", "From: Smith, Alice <")).anomaly, Anomaly::bad_from);
}

TEST(SipParse, QuotedStringsWithEscapes) {
  // Escaped quote and backslash, a comma and an angle bracket inside the quotes.
  Message m = parse_ok(with(kRegister, "From: \"Alice\" <", "From: \"A \\\"quoted\\\" \\\\ <name>, ok\"<"));
  EXPECT_EQ(m.from.display, "A \\\"quoted\\\" \\\\ <name>, ok");
  EXPECT_EQ(m.from.uri.user, "alice");
  EXPECT_EQ(m.from.tag, "f1");
}

TEST(SipParse, UnterminatedQuoteIsBadFrom) {
  EXPECT_EQ(parse_error(with(kRegister, "From: \"Alice\" <", "From: \"Alice <")).anomaly, Anomaly::bad_from);
  EXPECT_EQ(parse_error(with(kRegister, "To: <sip:alice@pbx.example.com>", "To: < sip:alice@pbx.example.com >")).anomaly,
            Anomaly::bad_to);
}

TEST(SipParse, TopViaFields) {
  Message m = parse_ok(kRegister);
  EXPECT_EQ(m.via_count, 1);
  EXPECT_EQ(m.top_via.protocol, "SIP/2.0/UDP");
  EXPECT_EQ(m.top_via.transport_token, "UDP");
  EXPECT_EQ(m.top_via.transport, Transport::udp);
  EXPECT_EQ(m.top_via.host, "192.0.2.20");
  ASSERT_TRUE(m.top_via.port.has_value());
  EXPECT_EQ(*m.top_via.port, 5062);
  EXPECT_EQ(m.top_via.branch, "z9hG4bK-abc");
  EXPECT_TRUE(m.top_via.has_rport);
  EXPECT_FALSE(m.top_via.rport.has_value());
  EXPECT_EQ(m.top_via.received, "");
}

TEST(SipParse, ViaReceivedAndRportValue) {
  Message m = parse_ok(with(kRegister, "branch=z9hG4bK-abc;rport", "rport=5062;received=203.0.113.5;branch=z9hG4bK-x"));
  EXPECT_EQ(m.top_via.received, "203.0.113.5");
  ASSERT_TRUE(m.top_via.rport.has_value());
  EXPECT_EQ(*m.top_via.rport, 5062);
  EXPECT_EQ(m.top_via.branch, "z9hG4bK-x");
}

TEST(SipParse, SeveralViaCommaSeparatedAndRepeated) {
  Message m = parse_ok(with(kRegister, "Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-abc;rport\r\n",
                            "Via: SIP/2.0/TLS proxy1.example.com;branch=z9hG4bK-1 , SIP/2.0/TCP 192.0.2.3:5060;branch=z9hG4bK-2\r\n"
                            "v: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-abc;rport\r\n"));
  EXPECT_EQ(m.via_count, 3);
  EXPECT_EQ(m.top_via.transport, Transport::tls);
  EXPECT_EQ(m.top_via.host, "proxy1.example.com");
  EXPECT_FALSE(m.top_via.port.has_value());
  EXPECT_EQ(m.top_via.branch, "z9hG4bK-1");
}

TEST(SipParse, ViaWithLwsAroundSlashes) {
  Message m = parse_ok(with(kRegister, "Via: SIP/2.0/UDP 192.0.2.20:5062;", "Via: SIP  /  2.0\r\n /UDP   192.0.2.20 : 5062 ;"));
  EXPECT_EQ(m.top_via.transport, Transport::udp);
  EXPECT_EQ(m.top_via.host, "192.0.2.20");
  EXPECT_EQ(*m.top_via.port, 5062);
}

TEST(SipParse, ViaUnknownTransportIsNotedNotFatal) {
  Message m = parse_ok(with(kRegister, "SIP/2.0/UDP 192", "SIP/2.0/FOO 192"));
  EXPECT_EQ(m.top_via.transport, Transport::unknown);
  EXPECT_EQ(m.top_via.transport_token, "FOO");
  EXPECT_TRUE(m.anomalies.has(Anomaly::unknown_via_transport));
}

TEST(SipParse, BadViaIsInvalid) {
  EXPECT_EQ(parse_error(with(kRegister, "SIP/2.0/UDP 192.0.2.20:5062", "SIP/2.0 192.0.2.20:5062")).anomaly, Anomaly::bad_via);
  EXPECT_EQ(parse_error(with(kRegister, "192.0.2.20:5062;", "192.0.2.20:70000;")).anomaly, Anomaly::bad_via);
  EXPECT_EQ(parse_error(with(kRegister, "192.0.2.20:5062;", "[2001:db8::1:5062;")).anomaly, Anomaly::bad_via);
}

TEST(SipParse, Ipv6References) {
  Message m = parse_ok(crlf(
      "REGISTER sip:[2001:db8::10]:5060 SIP/2.0\n"
      "Via: SIP/2.0/UDP [2001:db8::20]:5070;branch=z9hG4bK1;received=[2001:db8::99]\n"
      "From: <sip:bob@[2001:db8::10]>;tag=1\n"
      "To: <sip:bob@[2001:db8::10]>\n"
      "Call-ID: v6\n"
      "CSeq: 1 REGISTER\n"
      "Contact: <sip:bob@[2001:db8::20]:5070>\n\n"));
  EXPECT_EQ(m.request_uri.host, "2001:db8::10");
  EXPECT_EQ(*m.request_uri.port, 5060);
  EXPECT_EQ(m.top_via.host, "2001:db8::20");
  EXPECT_EQ(*m.top_via.port, 5070);
  EXPECT_EQ(m.top_via.received, "[2001:db8::99]");
  EXPECT_EQ(m.from.uri.host, "2001:db8::10");
  EXPECT_EQ(m.contact.uri.host, "2001:db8::20");
  EXPECT_EQ(*m.contact.uri.port, 5070);
}

TEST(SipParse, Contact) {
  Message m = parse_ok(kRegister);
  EXPECT_TRUE(m.contact.present);
  EXPECT_FALSE(m.contact.is_star);
  EXPECT_EQ(m.contact.uri.whole, "sip:alice@192.0.2.20:5062;transport=udp");
  EXPECT_EQ(m.contact.uri.user, "alice");
  EXPECT_EQ(m.contact.uri.host, "192.0.2.20");
  EXPECT_EQ(*m.contact.uri.port, 5062);
  ASSERT_TRUE(m.contact.expires.has_value());
  EXPECT_EQ(*m.contact.expires, 300u);
  EXPECT_EQ(m.contact.count, 1);
}

TEST(SipParse, ContactListAndStar) {
  Message list = parse_ok(with(kRegister, "Contact: <sip:alice@192.0.2.20:5062;transport=udp>;expires=300",
                               "m: \"A, B\" <sip:a@192.0.2.20>;expires=60, <sip:b@192.0.2.21>;expires=0\r\nContact: sip:c@192.0.2.22"));
  EXPECT_EQ(list.contact.count, 3);
  EXPECT_EQ(list.contact.uri.user, "a");
  EXPECT_EQ(*list.contact.expires, 60u);

  Message star = parse_ok(with(with(kRegister, "Contact: <sip:alice@192.0.2.20:5062;transport=udp>;expires=300", "Contact: *"),
                               "Expires: 3600", "Expires: 0"));
  EXPECT_TRUE(star.contact.is_star);
  EXPECT_EQ(*star.expires, 0u);
}

TEST(SipParse, BadContactIsNotedNotFatal) {
  Message m = parse_ok(with(kRegister, "Contact: <sip:alice@192.0.2.20:5062;transport=udp>", "Contact: <sip:alice@192.0.2.20"));
  EXPECT_TRUE(m.contact.present);
  EXPECT_TRUE(m.anomalies.has(Anomaly::bad_contact));
}

TEST(SipParse, ExpiresAndMaxForwards) {
  Message m = parse_ok(kRegister);
  EXPECT_EQ(*m.expires, 3600u);
  EXPECT_EQ(*m.max_forwards, 70u);
  Message odd = parse_ok(with(with(kRegister, "Expires: 3600", "Expires: Thu, 01 Dec 2044 16:00:00 GMT"),
                              "Max-Forwards: 70", "Max-Forwards: 300"));
  EXPECT_FALSE(odd.expires.has_value());
  EXPECT_TRUE(odd.anomalies.has(Anomaly::bad_expires));
  EXPECT_EQ(*odd.max_forwards, 300u);
  EXPECT_TRUE(odd.anomalies.has(Anomaly::bad_max_forwards));
  Message big = parse_ok(with(kRegister, "expires=300", "expires=280297596632815"));
  EXPECT_FALSE(big.contact.expires.has_value());
  EXPECT_TRUE(big.anomalies.has(Anomaly::bad_expires));
}

TEST(SipParse, UserAgent) {
  EXPECT_EQ(parse_ok(kRegister).user_agent, "Yealink SIP-T46S");
  EXPECT_EQ(parse_ok(with(kRegister, "User-Agent: Yealink SIP-T46S", "user-agent:friendly-scanner")).user_agent,
            "friendly-scanner");
}

TEST(SipParse, Authorization) {
  Message m = parse_ok(with(kRegister, "Content-Length: 0",
                            "Authorization: Digest username=\"al\\\"ice\", realm=\"pbx\",\r\n"
                            "  nonce=\"abc\", uri=\"sip:pbx.example.com\", response=\"0123\", algorithm=MD5,\r\n"
                            "  qop=auth, nc=00000001, cnonce=\"x\"\r\nContent-Length: 0"));
  EXPECT_TRUE(m.authorization.present);
  EXPECT_EQ(m.authorization.scheme, "Digest");
  EXPECT_EQ(m.authorization.username, "al\\\"ice");
  EXPECT_EQ(m.authorization.realm, "pbx");
  EXPECT_EQ(m.authorization.uri, "sip:pbx.example.com");
  EXPECT_TRUE(m.authorization.has_nonce);
  EXPECT_TRUE(m.authorization.has_response);
  EXPECT_FALSE(m.proxy_authorization.present);
  EXPECT_TRUE(m.anomalies.has(Anomaly::folded_header_line));
}

TEST(SipParse, ProxyAuthorizationWithoutResponse) {
  Message m = parse_ok(with(kRegister, "Content-Length: 0",
                            "Proxy-Authorization: Digest username=\"100\",realm=\"asterisk\",uri=\"sip:x\"\r\nContent-Length: 0"));
  EXPECT_TRUE(m.proxy_authorization.present);
  EXPECT_EQ(m.proxy_authorization.username, "100");
  EXPECT_FALSE(m.proxy_authorization.has_nonce);
  EXPECT_FALSE(m.proxy_authorization.has_response);
  EXPECT_FALSE(m.authorization.present);
}

TEST(SipParse, GarbledAuthorizationIsNoted) {
  Message m = parse_ok(with(kRegister, "Content-Length: 0", "Authorization: Digest username=\"x\" realm\r\nContent-Length: 0"));
  EXPECT_TRUE(m.authorization.present);
  EXPECT_TRUE(m.anomalies.has(Anomaly::bad_authorization));
}

TEST(SipParse, Challenges) {
  std::string response = crlf(
      "SIP/2.0 407 Proxy Authentication Required\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
      "From: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: x\nCSeq: 1 INVITE\n"
      "Proxy-Authenticate: Digest realm=\"asterisk\", nonce=\"5f\", qop=\"auth,auth-int\", algorithm=MD5\n"
      "WWW-Authenticate: Digest realm=\"second\", nonce=\"6a\"\n\n");
  Message m = parse_ok(response);
  EXPECT_TRUE(m.proxy_authenticate.present);
  EXPECT_EQ(m.proxy_authenticate.scheme, "Digest");
  EXPECT_EQ(m.proxy_authenticate.realm, "asterisk");
  EXPECT_EQ(m.proxy_authenticate.qop, "auth,auth-int");
  EXPECT_TRUE(m.www_authenticate.present);
  EXPECT_EQ(m.www_authenticate.realm, "second");
  EXPECT_EQ(m.www_authenticate.qop, "");
}

TEST(SipParse, ContentLengthAndBody) {
  std::string text = with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 5\r\n\r\nhello");
  Message m = parse_ok(text);
  EXPECT_EQ(*m.content_length, 5u);
  EXPECT_EQ(m.body, "hello");
  EXPECT_EQ(m.raw.size(), text.size());
  EXPECT_TRUE(m.anomalies.empty() || !m.anomalies.has(Anomaly::body_longer_than_content_length));
}

TEST(SipParse, BodyLongerThanContentLengthIsCut) {
  Message m = parse_ok(with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 2\r\n\r\nhello"));
  EXPECT_EQ(m.body, "he");
  EXPECT_TRUE(m.anomalies.has(Anomaly::body_longer_than_content_length));
}

TEST(SipParse, BodyShorterThanContentLengthIsIncomplete) {
  ParseError e = parse_error(with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 50\r\n\r\nhello"));
  EXPECT_EQ(e.kind, ParseError::incomplete);
  EXPECT_EQ(e.anomaly, Anomaly::truncated_body);
}

TEST(SipParse, WithoutContentLengthBodyIsTheRest) {
  Message m = parse_ok(with(kRegister, "Content-Length: 0\r\n\r\n", "\r\nrest"));
  EXPECT_FALSE(m.content_length.has_value());
  EXPECT_EQ(m.body, "rest");
  EXPECT_TRUE(m.anomalies.has(Anomaly::missing_content_length));
}

TEST(SipParse, BadContentLength) {
  EXPECT_EQ(parse_error(with(kRegister, "Content-Length: 0", "Content-Length: -999")).anomaly, Anomaly::bad_content_length);
  EXPECT_EQ(parse_error(with(kRegister, "Content-Length: 0", "Content-Length: 99999999999")).anomaly, Anomaly::bad_content_length);
  EXPECT_EQ(parse_error(with(kRegister, "Content-Length: 0", "Content-Length: 0\r\nl: 0")).anomaly,
            Anomaly::duplicate_content_length);
}

TEST(SipParse, CompactForms) {
  Message m = parse_ok(crlf(
      "INVITE sip:100@example.com SIP/2.0\n"
      "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
      "f: <sip:a@example.com>;tag=1\n"
      "t: <sip:100@example.com>\n"
      "i: compact@192.0.2.1\n"
      "CSeq: 1 INVITE\n"
      "m: <sip:a@192.0.2.1>\n"
      "c: application/sdp\n"
      "k: timer\n"
      "s: hello\n"
      "l: 3\n\nabc"));
  EXPECT_EQ(m.call_id, "compact@192.0.2.1");
  EXPECT_EQ(m.from.tag, "1");
  EXPECT_EQ(m.to.uri.user, "100");
  EXPECT_EQ(m.top_via.branch, "z9hG4bK1");
  EXPECT_EQ(m.contact.uri.user, "a");
  EXPECT_EQ(*m.content_length, 3u);
  EXPECT_EQ(m.body, "abc");
  EXPECT_EQ(m.header("Content-Type"), "application/sdp");
  EXPECT_EQ(m.header("supported"), "timer");
  EXPECT_EQ(m.header("Subject"), "hello");
}

TEST(SipParse, CaseInsensitiveHeaderNames) {
  Message m = parse_ok(crlf(
      "OPTIONS sip:100@example.com SIP/2.0\n"
      "VIA: SIP/2.0/udp 192.0.2.1;BRANCH=z9hG4bK1\n"
      "fRoM: <sip:a@example.com>;TAG=1\n"
      "tO: <sip:100@example.com>\n"
      "CALL-id: ci\n"
      "cseq: 1 OPTIONS\n"
      "MAX-FORWARDS: 0068\n"
      "CONTENT-LENGTH: 0\n\n"));
  EXPECT_EQ(m.call_id, "ci");
  EXPECT_EQ(m.from.tag, "1");
  EXPECT_EQ(m.top_via.branch, "z9hG4bK1");
  EXPECT_EQ(m.top_via.transport, Transport::udp);
  EXPECT_EQ(*m.max_forwards, 68u);
}

TEST(SipParse, FoldedLines) {
  Message m = parse_ok(crlf(
      "INVITE sip:100@example.com SIP/2.0\n"
      "TO :\n sip:100@example.com ;   tag    = 1918181833n\n"
      "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\n  ;\n  tag = 98asjd8\n"
      "Call-ID: folded\n"
      "cseq: 0009\n  INVITE\n"
      "Via  : SIP  /   2.0\n /UDP\n    192.0.2.2;branch=390skdjuw\n"
      "User-Agent: Long\n\tAgent\n"
      "Content-Length   : 0\n\n"));
  EXPECT_EQ(m.to.tag, "1918181833n");
  EXPECT_EQ(m.from.display, "J Rosenberg \\\\\\\"");
  EXPECT_EQ(m.from.tag, "98asjd8");
  EXPECT_EQ(m.cseq, 9u);
  EXPECT_EQ(m.cseq_method, Method::invite);
  EXPECT_EQ(m.top_via.host, "192.0.2.2");
  EXPECT_EQ(m.user_agent, "Long\r\n\tAgent");
  EXPECT_TRUE(m.anomalies.has(Anomaly::folded_header_line));
}

TEST(SipParse, BareLineFeedsAccepted) {
  Message m = parse_ok(
      "OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>\n"
      "Call-ID: lf\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");
  EXPECT_EQ(m.call_id, "lf");
}

TEST(SipParse, LeadingLineBreaksSkipped) {
  Message m = parse_ok("\r\n\r\n" + kRegister);
  EXPECT_EQ(m.method, Method::register_);
  EXPECT_EQ(m.raw, kRegister);
}

TEST(SipParse, MissingMandatoryHeaders) {
  struct Case {
    const char* line;
    Anomaly anomaly;
  } cases[] = {
      {"Call-ID: reg-1@192.0.2.20\r\n", Anomaly::missing_call_id},
      {"CSeq: 42 REGISTER\r\n", Anomaly::missing_cseq},
      {"From: \"Alice\" <sip:alice@pbx.example.com>;tag=f1\r\n", Anomaly::missing_from},
      {"To: <sip:alice@pbx.example.com>\r\n", Anomaly::missing_to},
      {"Via: SIP/2.0/UDP 192.0.2.20:5062;branch=z9hG4bK-abc;rport\r\n", Anomaly::missing_via},
  };
  for (const auto& c : cases) {
    ParseError e = parse_error(with(kRegister, c.line, ""));
    EXPECT_EQ(e.kind, ParseError::invalid) << c.line;
    EXPECT_EQ(e.anomaly, c.anomaly) << c.line;
    EXPECT_STRNE(e.reason, "");
  }
}

TEST(SipParse, DuplicateSingleValueHeaders) {
  EXPECT_EQ(parse_error(with(kRegister, "Call-ID: reg-1@192.0.2.20\r\n", "Call-ID: a\r\ni: b\r\n")).anomaly,
            Anomaly::duplicate_call_id);
  EXPECT_EQ(parse_error(with(kRegister, "To: <sip:alice@pbx.example.com>\r\n", "To: <sip:a@b>\r\nt: <sip:c@d>\r\n")).anomaly,
            Anomaly::duplicate_to);
  EXPECT_EQ(parse_error(with(kRegister, "From: \"Alice\"", "From: <sip:x@y>\r\nFrom: \"Alice\"")).anomaly,
            Anomaly::duplicate_from);
}

TEST(SipParse, BadHeaderLine) {
  ParseError e = parse_error(with(kRegister, "Max-Forwards: 70", "Max-Forwards 70"));
  EXPECT_EQ(e.anomaly, Anomaly::bad_header_line);
  EXPECT_EQ(e.kind, ParseError::invalid);
  EXPECT_EQ(parse_error(with(kRegister, "Max-Forwards: 70", "Max Forwards: 70")).anomaly, Anomaly::bad_header_line);
}

TEST(SipParse, ErrorOffsetPointsAtTheHeader) {
  std::string text = with(kRegister, "CSeq: 42 REGISTER", "CSeq: x REGISTER");
  ParseError e = parse_error(text);
  EXPECT_EQ(e.offset, text.find("CSeq: x"));
}

TEST(SipParse, EveryPrefixIsIncompleteOrInvalid) {
  // Parsing every prefix must never succeed (Content-Length says more is due) nor read past
  // the prefix (checked under AddressSanitizer by copying each prefix to its own allocation).
  std::string text = with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 4\r\n\r\nbody");
  for (std::size_t n = 0; n < text.size(); ++n) {
    std::vector<char> copy(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = parse(std::string_view(copy.data(), copy.size()));
    ASSERT_FALSE(r.ok()) << n;
    if (n > 0) {
      EXPECT_EQ(r.error().kind, ParseError::incomplete) << n;
    }
  }
  EXPECT_TRUE(parse(text).ok());
}

TEST(SipParse, EmptyAndKeepAlive) {
  EXPECT_EQ(parse_error("").anomaly, Anomaly::empty_message);
  EXPECT_EQ(parse_error("\r\n\r\n").anomaly, Anomaly::empty_message);
}

TEST(SipParse, ParseIntoReusesTheMessage) {
  Message m;
  ASSERT_FALSE(parse_into(kRegister, m).has_value());
  EXPECT_EQ(m.user_agent, "Yealink SIP-T46S");
  EXPECT_EQ(*m.expires, 3600u);
  // A second, different message leaves nothing of the first behind.
  const std::string& options = keep(crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\n"
                                         "From: <sip:a@b>;tag=1\nTo: <sip:a@b>\nCall-ID: second\nCSeq: 2 OPTIONS\n\n"));
  ASSERT_FALSE(parse_into(options, m).has_value());
  EXPECT_EQ(m.call_id, "second");
  EXPECT_EQ(m.user_agent, "");
  EXPECT_FALSE(m.expires.has_value());
  EXPECT_FALSE(m.contact.present);
  auto e = parse_into("garbage", m);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->kind, ParseError::incomplete);
}

TEST(SipParse, ByteSpanOverload) {
  std::vector<std::uint8_t> bytes(kRegister.begin(), kRegister.end());
  auto r = parse(std::span<const std::uint8_t>(bytes));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->call_id, "reg-1@192.0.2.20");
}

TEST(SipParse, ViewsPointIntoTheInput) {
  auto r = parse(kRegister);
  ASSERT_TRUE(r.ok());
  const char* begin = kRegister.data();
  const char* end = begin + kRegister.size();
  for (std::string_view v : {r->call_id, r->from.uri.user, r->top_via.branch, r->user_agent, r->headers}) {
    EXPECT_GE(v.data(), begin);
    EXPECT_LE(v.data() + v.size(), end);
  }
}

TEST(SipParse, AnomalyNamesAreDistinct) {
  std::set<std::string> names;
  for (unsigned i = 0; i < static_cast<unsigned>(Anomaly::count_); ++i) {
    std::string name = anomaly_name(static_cast<Anomaly>(i));
    EXPECT_NE(name, "unknown_anomaly") << i;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_TRUE(is_fatal(Anomaly::missing_call_id));
  EXPECT_FALSE(is_fatal(Anomaly::bad_contact));
  EXPECT_LT(static_cast<unsigned>(Anomaly::count_), 64u);  // AnomalySet is one 64-bit word
}

// ---- parse_datagram: what a PBX reads although it breaks the grammar ---------------------------

Message datagram_ok(const std::string& input) {
  const std::string& text = keep(input);
  auto r = parse_datagram(text);
  if (!r.ok()) {
    ADD_FAILURE() << "parse_datagram failed: " << r.error().reason;
    return Message{};
  }
  return *r;
}

TEST(SipDatagram, ContentLengthBeyondTheDatagramTakesTheRest) {
  Message m = datagram_ok(with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 500\r\n\r\nhello"));
  EXPECT_EQ(m.body, "hello");
  EXPECT_TRUE(m.anomalies.has(Anomaly::content_length_beyond_datagram));
  EXPECT_TRUE(is_evasive(Anomaly::content_length_beyond_datagram));
}

TEST(SipDatagram, CseqMethodOtherThanTheRequestsIsRead) {
  Message m = datagram_ok(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 42 INVITE"));
  EXPECT_EQ(m.method, Method::register_);
  EXPECT_TRUE(m.anomalies.has(Anomaly::cseq_method_differs));
  EXPECT_EQ(parse_error(with(kRegister, "CSeq: 42 REGISTER", "CSeq: 42 INVITE")).anomaly, Anomaly::cseq_method_mismatch)
      << "parse() of a framed message stays strict";
}

TEST(SipDatagram, EveryUserAgentIsKept) {
  Message m = datagram_ok(with(kRegister, "User-Agent: Yealink SIP-T46S\r\n",
                               "User-Agent: Yealink SIP-T46S\r\nUser-Agent: friendly-scanner\r\n"));
  EXPECT_EQ(m.user_agent, "Yealink SIP-T46S");
  EXPECT_EQ(m.user_agent_last, "friendly-scanner");
  EXPECT_TRUE(m.anomalies.has(Anomaly::repeated_user_agent));
  EXPECT_EQ(parse_ok(with(kRegister, "User-Agent: Yealink SIP-T46S\r\n", "User-Agent: a\r\nuser-agent: b\r\n")).user_agent_last, "b");
}

TEST(SipDatagram, UnbracketedIpv6RequestUriHostIsTheAddress) {
  Message m = datagram_ok(with(with(kRegister, "REGISTER sip:pbx.example.com SIP/2.0", "OPTIONS sip:100@2001:db8:1::1 SIP/2.0"),
                               "CSeq: 42 REGISTER", "CSeq: 42 OPTIONS"));
  EXPECT_EQ(m.method, Method::options);
  EXPECT_EQ(m.request_uri.user, "100");
  EXPECT_EQ(m.request_uri.host, "2001:db8:1::1");
  EXPECT_TRUE(m.anomalies.has(Anomaly::unbracketed_ipv6_uri));
  EXPECT_EQ(parse_error(with(kRegister, "REGISTER sip:pbx.example.com SIP/2.0", "REGISTER sip:100@2001:db8:1::1 SIP/2.0")).anomaly,
            Anomaly::bad_request_uri);
  auto garbage = parse_datagram(keep(with(kRegister, "REGISTER sip:pbx.example.com SIP/2.0", "REGISTER sip:100@zz:yy:xx SIP/2.0")));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().anomaly, Anomaly::bad_request_uri);
}

TEST(SipDatagram, HeadersWithoutTheEmptyLineAreStillIncomplete) {
  // The caller that can copy appends the empty line (capture::SignallingTap does).
  auto r = parse_datagram(keep(with(kRegister, "Content-Length: 0\r\n\r\n", "Content-Length: 0\r\n")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().anomaly, Anomaly::truncated_header_section);
}

TEST(SipDatagram, AWellFormedMessageHasNoEvasiveAnomaly) {
  Message m = datagram_ok(kRegister);
  for (std::size_t a = 0; a < static_cast<std::size_t>(Anomaly::count_); ++a)
    if (is_evasive(static_cast<Anomaly>(a))) {
      EXPECT_FALSE(m.anomalies.has(static_cast<Anomaly>(a))) << anomaly_name(static_cast<Anomaly>(a));
    }
}

}  // namespace
}  // namespace pbxwall::sip
