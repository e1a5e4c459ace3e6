// The wire parser: banner, CRLF framing, partial reads at every byte, malformed and oversized
// lines, disconnects.
#include "ami/message.h"

#include <cstdint>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "transcript.h"

namespace pbxwall::ami {
namespace {

using test::transcript;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> flatten(const std::vector<Message>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) {
    std::string s;
    for (const auto& f : m.fields) s += f.key + "=" + f.value + "|";
    out.push_back(s);
  }
  return out;
}

std::vector<Message> parse_all(const std::string& bytes, Parser& p) {
  std::vector<Message> out;
  p.feed(bytes, out);
  return out;
}

TEST(AmiParser, BannerAndOneMessage) {
  Parser p;
  auto ms = parse_all("Asterisk Call Manager/5.0.1\r\nResponse: Success\r\nActionID: 1\r\nMessage: Authentication "
                      "accepted\r\n\r\n",
                      p);
  ASSERT_TRUE(p.banner());
  EXPECT_EQ(*p.banner(), "Asterisk Call Manager/5.0.1");
  EXPECT_THAT(flatten(ms), ElementsAre("Response=Success|ActionID=1|Message=Authentication accepted|"));
  EXPECT_EQ(ms[0].get("actionid").value_or(""), "1");  // keys compare case-insensitively
  EXPECT_FALSE(ms[0].get("Event"));
  EXPECT_EQ(p.counters().messages, 1u);
  EXPECT_EQ(p.counters().missing_banners, 0u);
}

TEST(AmiParser, ValuesKeepColonsAndInnerSpaces) {
  Parser p;
  auto ms = parse_all("Asterisk Call Manager/5.0.1\r\nEvent: X\r\nURI: sip:101@[2001:db8::1]:5060\r\nCallerIDName:  "
                      "Front  Desk \r\nEmpty:\r\n\r\n",
                      p);
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_EQ(ms[0].get_or("URI"), "sip:101@[2001:db8::1]:5060");
  EXPECT_EQ(ms[0].get_or("CallerIDName"), "Front  Desk");
  ASSERT_TRUE(ms[0].get("Empty"));
  EXPECT_EQ(*ms[0].get("Empty"), "");
}

TEST(AmiParser, BareLineFeedsAndExtraBlankLines) {
  Parser p;
  auto ms = parse_all("Asterisk Call Manager/2.10.6\n\n\nEvent: A\nK: 1\n\n\r\n\r\nEvent: B\n\n", p);
  EXPECT_THAT(flatten(ms), ElementsAre("Event=A|K=1|", "Event=B|"));
}

TEST(AmiParser, MissingBannerIsCountedAndTheLineKept) {
  Parser p;
  auto ms = parse_all("Event: A\r\n\r\n", p);
  EXPECT_FALSE(p.banner());
  EXPECT_EQ(p.counters().missing_banners, 1u);
  EXPECT_THAT(flatten(ms), ElementsAre("Event=A|"));
}

TEST(AmiParser, SplitAtEveryByteGivesTheSameMessages) {
  for (const auto* name : {"security_pjsip.txt", "registrations.txt", "malformed.txt"}) {
    const auto bytes = transcript(name);
    ASSERT_FALSE(bytes.empty()) << name;
    Parser whole;
    const auto expected = flatten(parse_all(bytes, whole));
    for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
      Parser p;
      std::vector<Message> got;
      p.feed(std::string_view(bytes).substr(0, cut), got);
      p.feed(std::string_view(bytes).substr(cut), got);
      ASSERT_EQ(flatten(got), expected) << name << " cut at " << cut;
      ASSERT_EQ(p.counters().malformed_lines, whole.counters().malformed_lines) << name << " cut at " << cut;
    }
    Parser bytewise;
    std::vector<Message> got;
    for (char c : bytes) bytewise.feed(std::string_view(&c, 1), got);
    EXPECT_EQ(flatten(got), expected) << name;
  }
}

TEST(AmiParser, TranscriptWithMalformedLinesAndADisconnect) {
  Parser p;
  auto ms = parse_all(transcript("malformed.txt"), p);
  EXPECT_EQ(ms.size(), 5u);
  EXPECT_EQ(p.counters().malformed_lines, 3u);  // no colon, empty key, --END COMMAND--
  EXPECT_EQ(p.counters().incomplete_messages, 0u);
  p.end_of_stream();  // the last InvalidAccountID was cut off
  EXPECT_EQ(p.counters().incomplete_messages, 1u);
  EXPECT_EQ(ms[0].get_or("AccountID"), "1000");  // the message around the bad lines survives
}

TEST(AmiParser, DisconnectMidMessageDropsOnlyThatMessage) {
  Parser p;
  std::vector<Message> out;
  p.feed("Asterisk Call Manager/5.0.1\r\nEvent: A\r\n\r\nEvent: B\r\nAccountID: 1", out);
  EXPECT_EQ(out.size(), 1u);
  p.end_of_stream();
  EXPECT_EQ(p.counters().incomplete_messages, 1u);
  EXPECT_FALSE(p.banner());  // a new connection starts with a new banner
  p.feed("Asterisk Call Manager/5.0.2\r\nEvent: C\r\n\r\n", out);
  EXPECT_THAT(flatten(out), ElementsAre("Event=A|", "Event=C|"));
  EXPECT_EQ(*p.banner(), "Asterisk Call Manager/5.0.2");
}

TEST(AmiParser, OversizedLinesAreSkippedWhateverTheSplit) {
  const std::string huge(Parser::kMaxLineBytes + 10, 'x');
  const std::string bytes = "Asterisk Call Manager/5.0.1\r\nEvent: A\r\nJunk: " + huge + "\r\nK: 1\r\n\r\n";
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, bytes.size()}) {
    Parser p;
    std::vector<Message> out;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) p.feed(std::string_view(bytes).substr(i, chunk), out);
    EXPECT_THAT(flatten(out), ElementsAre("Event=A|K=1|")) << "chunk " << chunk;
    EXPECT_EQ(p.counters().oversized_lines, 1u) << "chunk " << chunk;
  }
}

TEST(AmiParser, MessagesWithTooManyFieldsAreTruncated) {
  std::string bytes = "Asterisk Call Manager/5.0.1\r\nEvent: Big\r\n";
  for (std::size_t i = 0; i < Parser::kMaxFields + 5; ++i) bytes += "ChanVariable: v" + std::to_string(i) + "\r\n";
  bytes += "\r\nEvent: Next\r\n\r\n";
  Parser p;
  auto ms = parse_all(bytes, p);
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].fields.size(), Parser::kMaxFields);
  EXPECT_EQ(p.counters().truncated_messages, 1u);
  EXPECT_THAT(flatten({ms[1]}), ElementsAre("Event=Next|"));
}

TEST(AmiParser, NothingBeforeTheEndOfAMessage) {
  Parser p;
  auto ms = parse_all("Asterisk Call Manager/5.0.1\r\nEvent: A\r\nK: 1\r\n", p);
  EXPECT_THAT(ms, IsEmpty());
  EXPECT_EQ(p.counters().bytes, 45u);
}

}  // namespace
}  // namespace pbxwall::ami

namespace pbxwall::ami {
namespace {

// Arbitrary bytes from the wire's own punctuation never crash the parser (run under the
// sanitizer preset) and every byte is accounted for.
TEST(AmiParser, ArbitraryInputIsSafe) {
  const std::string alphabet = "Event: \r\n:ActionID\tx";
  std::uint32_t state = 4242;
  auto next = [&] {
    state = state * 1103515245u + 12345u;
    return state >> 16;
  };
  for (int round = 0; round < 2000; ++round) {
    std::string bytes;
    const auto length = next() % 300;
    for (std::uint32_t i = 0; i < length; ++i) bytes += alphabet[next() % alphabet.size()];
    Parser p;
    std::vector<Message> out;
    const auto cut = bytes.empty() ? 0 : next() % bytes.size();
    p.feed(std::string_view(bytes).substr(0, cut), out);
    p.feed(std::string_view(bytes).substr(cut), out);
    p.end_of_stream();
    EXPECT_EQ(p.counters().bytes, bytes.size());
    for (const auto& m : out) EXPECT_FALSE(m.fields.empty());
  }
}

}  // namespace
}  // namespace pbxwall::ami
