// StreamFramer: message boundaries on a byte stream, whatever the segmentation.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sip/sip.h"
#include "test_text.h"

namespace pbxwall::sip {
namespace {

using test::crlf;

std::string request(const std::string& call_id, const std::string& body) {
  return crlf("INVITE sip:100@example.com SIP/2.0\n"
              "Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK" + call_id + "\n"
              "From: <sip:a@example.com>;tag=1\n"
              "To: <sip:100@example.com>\n"
              "Call-ID: " + call_id + "\n"
              "CSeq: 1 INVITE\n"
              "Content-Length: " + std::to_string(body.size()) + "\n\n") + body;
}

// Feeds the pieces and collects the Call-IDs of the messages that come out (copied, since
// the views die on the next feed), or "error:<anomaly>" for errors.
std::vector<std::string> run(StreamFramer& framer, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& piece : pieces) {
    framer.feed(piece);
    while (auto m = framer.next()) {
      if (m->ok()) out.push_back(std::string((*m)->call_id) + "/" + std::string((*m)->body));
      else out.push_back(std::string("error:") + anomaly_name(m->error().anomaly));
      if (framer.broken()) break;
    }
  }
  return out;
}

TEST(SipStreamFramer, SeveralMessagesInOneSegment) {
  StreamFramer framer;
  auto out = run(framer, {request("a", "v=0\r\n") + request("b", "") + request("c", "xyz")});
  EXPECT_EQ(out, (std::vector<std::string>{"a/v=0\r\n", "b/", "c/xyz"}));
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(SipStreamFramer, SplitAtEveryOffsetOfTwoMessages) {
  const std::string stream = request("first", "body-1") + request("second", "body-two");
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer framer;
    auto out = run(framer, {stream.substr(0, cut), stream.substr(cut)});
    EXPECT_EQ(out, (std::vector<std::string>{"first/body-1", "second/body-two"})) << "cut at " << cut;
  }
}

TEST(SipStreamFramer, SplitAtEveryPairOfOffsets) {
  const std::string stream = request("first", "b1") + "\r\n\r\n" + request("second", "b2");
  for (std::size_t a = 0; a <= stream.size(); a += 3) {
    for (std::size_t b = a; b <= stream.size(); b += 7) {
      StreamFramer framer;
      auto out = run(framer, {stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)});
      ASSERT_EQ(out, (std::vector<std::string>{"first/b1", "second/b2"})) << a << "," << b;
    }
  }
}

TEST(SipStreamFramer, OneByteAtATime) {
  const std::string stream = request("x", "0123456789") + request("y", "");
  std::vector<std::string> pieces;
  for (char c : stream) pieces.emplace_back(1, c);
  StreamFramer framer;
  EXPECT_EQ(run(framer, pieces), (std::vector<std::string>{"x/0123456789", "y/"}));
}

TEST(SipStreamFramer, KeepAlivesSkipped) {
  StreamFramer framer;
  auto out = run(framer, {"\r\n\r\n", "\r\n", request("a", "") + "\r\n\r\n" + request("b", ""), "\r\n"});
  EXPECT_EQ(out, (std::vector<std::string>{"a/", "b/"}));
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(SipStreamFramer, WaitsForTheBody) {
  StreamFramer framer;
  std::string m = request("a", "0123456789");
  framer.feed(m.substr(0, m.size() - 3));
  EXPECT_FALSE(framer.next().has_value());
  EXPECT_FALSE(framer.next().has_value());
  framer.feed(m.substr(m.size() - 3));
  auto r = framer.next();
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->ok());
  EXPECT_EQ((*r)->body, "0123456789");
}

TEST(SipStreamFramer, MissingContentLengthMeansNoBody) {
  StreamFramer framer;
  std::string m = crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
                       "To: <sip:a@b>\nCall-ID: nocl\nCSeq: 1 OPTIONS\n\n");
  auto out = run(framer, {m + request("next", "")});
  EXPECT_EQ(out, (std::vector<std::string>{"nocl/", "next/"}));
}

TEST(SipStreamFramer, InvalidMessageIsReportedAndSkipped) {
  StreamFramer framer;
  std::string bad = crlf("OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
                         "To: <sip:a@b>\nCSeq: 1 OPTIONS\nContent-Length: 2\n\nxx");
  auto out = run(framer, {bad + request("good", "")});
  EXPECT_EQ(out, (std::vector<std::string>{"error:missing_call_id", "good/"}));
  EXPECT_FALSE(framer.broken());
}

TEST(SipStreamFramer, OversizedHeaderSectionBreaksTheStream) {
  StreamFramer framer(1024);
  std::string junk = "OPTIONS sip:a@b SIP/2.0\r\n" + std::string(2000, 'X');
  auto out = run(framer, {junk});
  EXPECT_EQ(out, (std::vector<std::string>{"error:header_section_too_large"}));
  EXPECT_TRUE(framer.broken());
  // Stays broken and ignores input until reset.
  framer.feed(request("ignored", ""));
  auto again = framer.next();
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->ok());
  framer.reset();
  EXPECT_EQ(run(framer, {request("after", "")}), (std::vector<std::string>{"after/"}));
}

TEST(SipStreamFramer, OversizedBodyBreaksTheStream) {
  StreamFramer framer(1024, 100);
  auto out = run(framer, {request("big", std::string(101, 'b'))});
  EXPECT_EQ(out, (std::vector<std::string>{"error:bad_content_length"}));
}

TEST(SipStreamFramer, UnusableContentLengthBreaksTheStream) {
  for (const char* cl : {"Content-Length: ten", "Content-Length: 3\r\nl: 4"}) {
    StreamFramer framer;
    std::string m = request("x", "");
    m.replace(m.find("Content-Length: 0"), 17, cl);
    auto out = run(framer, {m});
    EXPECT_EQ(out, (std::vector<std::string>{"error:bad_content_length"})) << cl;
    EXPECT_TRUE(framer.broken());
  }
}

TEST(SipStreamFramer, HeaderEndSplitAcrossFeedsIsFound) {
  std::string m = request("s", "");
  StreamFramer framer;
  // Feed up to the middle of the terminating CRLFCRLF, then the rest.
  auto out = run(framer, {m.substr(0, m.size() - 2), m.substr(m.size() - 2)});
  EXPECT_EQ(out, (std::vector<std::string>{"s/"}));
}

}  // namespace
}  // namespace pbxwall::sip
