// IAX2 frame parser: headers, commands, information elements, mini/meta frames, bad input.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "iax/iax.h"

namespace pbxwall::iax {
namespace {

const std::string& read_frame(const std::string& name) {
  static std::deque<std::string> keep;  // frames view their buffer
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/iax/" + name + ".bin", std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return keep.emplace_back(s.str());
}

Frame frame(const std::string& name) {
  const std::string& bytes = read_frame(name);
  auto r = parse(bytes);
  if (!r.ok()) {
    ADD_FAILURE() << name << ": " << anomaly_name(r.error().anomaly);
    return Frame{};
  }
  return *r;
}

std::vector<std::uint8_t> full_header(std::uint8_t frame_type, std::uint8_t subclass) {
  return {0x80, 0x01, 0x00, 0x02, 0, 0, 0, 9, 3, 4, frame_type, subclass};
}

Result<Frame, ParseError> parse_bytes(const std::vector<std::uint8_t>& b) { return parse(std::span<const std::uint8_t>(b)); }

TEST(IaxParse, FullFrameHeader) {
  Frame f = frame("regauth");
  EXPECT_EQ(f.kind, FrameKind::full);
  EXPECT_EQ(f.source_call, 1);
  EXPECT_EQ(f.dest_call, 2);
  EXPECT_FALSE(f.retransmitted);
  EXPECT_EQ(f.timestamp, 5u);
  EXPECT_EQ(f.oseqno, 0);
  EXPECT_EQ(f.iseqno, 1);
  EXPECT_EQ(f.frame_type, frame_type::iax);
  EXPECT_EQ(f.subclass, 14u);
  EXPECT_EQ(f.command, Command::regauth);
  EXPECT_TRUE(f.is_iax(Command::regauth));
}

TEST(IaxParse, RetransmittedBit) {
  Frame f = frame("lagrq");
  EXPECT_TRUE(f.retransmitted);
  EXPECT_EQ(f.dest_call, 7);
  EXPECT_EQ(f.command, Command::lagrq);
}

TEST(IaxParse, RegistrationSequence) {
  Frame req = frame("regreq");
  EXPECT_EQ(req.command, Command::regreq);
  EXPECT_EQ(req.ies.username, "100");
  EXPECT_EQ(*req.ies.refresh, 60);
  EXPECT_FALSE(req.ies.has_md5_result);

  Frame auth = frame("regauth");
  EXPECT_EQ(*auth.ies.authmethods, authmethod::md5);
  EXPECT_TRUE(auth.ies.has_challenge);
  EXPECT_EQ(auth.ies.username, "100");

  Frame md5 = frame("regreq_md5");
  EXPECT_TRUE(md5.ies.has_md5_result);
  EXPECT_FALSE(md5.ies.has_rsa_result);
  EXPECT_EQ(md5.ies.username, "100");

  Frame ack = frame("regack");
  EXPECT_EQ(ack.command, Command::regack);
  EXPECT_EQ(*ack.ies.refresh, 60);
  EXPECT_EQ(ack.ies.calling_name, "Alice");
  EXPECT_EQ(ack.ies.count, 6);

  Frame rej = frame("regrej");
  EXPECT_EQ(rej.command, Command::regrej);
  EXPECT_EQ(rej.ies.cause, "Registration Refused");
  EXPECT_EQ(*rej.ies.causecode, 29);
}

TEST(IaxParse, CallSetup) {
  Frame n = frame("new");
  EXPECT_EQ(n.command, Command::new_);
  EXPECT_EQ(n.dest_call, 0);
  EXPECT_EQ(*n.ies.version, 2);
  EXPECT_EQ(n.ies.called_number, "0044207946000");
  EXPECT_EQ(n.ies.calling_number, "100");
  EXPECT_EQ(n.ies.calling_name, "Alice");
  EXPECT_EQ(n.ies.username, "100");
  EXPECT_TRUE(n.ies.has_calltoken);

  Frame authreq = frame("authreq");
  EXPECT_EQ(authreq.command, Command::authreq);
  EXPECT_EQ(*authreq.ies.authmethods, authmethod::plaintext | authmethod::md5);
  Frame authrep = frame("authrep");
  EXPECT_EQ(authrep.command, Command::authrep);
  EXPECT_TRUE(authrep.ies.has_md5_result);
  EXPECT_EQ(frame("accept").command, Command::accept);

  Frame reject = frame("reject");
  EXPECT_EQ(reject.command, Command::reject);
  EXPECT_EQ(reject.ies.cause, "No authority found");
  EXPECT_EQ(*reject.ies.causecode, 21);

  Frame hangup = frame("hangup");
  EXPECT_EQ(hangup.command, Command::hangup);
  EXPECT_EQ(*hangup.ies.causecode, 16);
}

TEST(IaxParse, QualifyAndAcks) {
  Frame poke = frame("poke");
  EXPECT_EQ(poke.command, Command::poke);
  EXPECT_EQ(poke.ies.count, 0);
  EXPECT_TRUE(poke.payload.empty());
  EXPECT_EQ(frame("pong").command, Command::pong);
  EXPECT_EQ(frame("ack").command, Command::ack);
}

TEST(IaxParse, NonIaxFullFrameKeepsPayloadUnwalked) {
  Frame f = frame("voice_full");
  EXPECT_EQ(f.frame_type, frame_type::voice);
  EXPECT_EQ(f.command, Command::unknown);
  EXPECT_EQ(f.payload.size(), 160u);
  EXPECT_EQ(f.ies.count, 0);
}

TEST(IaxParse, MiniFrame) {
  Frame f = frame("mini_voice");
  EXPECT_EQ(f.kind, FrameKind::mini);
  EXPECT_EQ(f.source_call, 5);
  EXPECT_EQ(f.timestamp, 40u);
  EXPECT_EQ(f.payload.size(), 160u);
}

TEST(IaxParse, MetaFrame) {
  Frame f = frame("meta_trunk");
  EXPECT_EQ(f.kind, FrameKind::meta);
  EXPECT_FALSE(f.is_iax(Command::new_));
}

TEST(IaxParse, CompressedSubclass) {
  auto r = parse_bytes(full_header(frame_type::voice, 0x80 + 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subclass, 32u);
  auto huge = parse_bytes(full_header(frame_type::voice, 0x80 + 40));
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->subclass, 0u);
}

TEST(IaxParse, UnknownCommandKeptAsNumber) {
  for (int value : {0, 31, 41, 99}) {
    const auto sc = static_cast<std::uint8_t>(value);
    auto r = parse_bytes(full_header(frame_type::iax, sc));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->command, Command::unknown) << int(sc);
    EXPECT_EQ(r->subclass, sc);
  }
  EXPECT_STREQ(command_name(Command::unknown), "UNKNOWN");
  EXPECT_STREQ(command_name(Command::regreq), "REGREQ");
}

TEST(IaxParse, TruncatedIeIsInvalid) {
  const std::string& bytes = read_frame("invalid_truncated_ie");
  auto r = parse(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().anomaly, Anomaly::truncated_ie);
  EXPECT_EQ(r.error().kind, ParseError::invalid);
  EXPECT_EQ(r.error().offset, 12u);
  // A lone IE identifier byte with no length.
  auto lone = full_header(frame_type::iax, 13);
  lone.push_back(ie::username);
  auto r2 = parse_bytes(lone);
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().anomaly, Anomaly::truncated_ie);
}

TEST(IaxParse, WrongSizedFixedIeIsSkippedAndCounted) {
  auto b = full_header(frame_type::iax, 13);
  for (std::uint8_t x : {ie::refresh, std::uint8_t{3}, std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{2},
                         ie::causecode, std::uint8_t{2}, std::uint8_t{0}, std::uint8_t{1}})
    b.push_back(x);
  auto r = parse_bytes(b);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ies.refresh.has_value());
  EXPECT_FALSE(r->ies.causecode.has_value());
  EXPECT_EQ(r->ies.malformed, 2);
  EXPECT_EQ(r->ies.count, 2);
}

TEST(IaxParse, ShortHeaders) {
  EXPECT_EQ(parse_bytes({}).error().anomaly, Anomaly::empty);
  EXPECT_EQ(parse(read_frame("invalid_short_full_header")).error().anomaly, Anomaly::truncated_full_header);
  EXPECT_EQ(parse_bytes({0x00, 0x05, 0x01}).error().anomaly, Anomaly::truncated_mini_header);
  EXPECT_EQ(parse_bytes({0x05}).error().anomaly, Anomaly::truncated_mini_header);
  EXPECT_EQ(parse_bytes({0x00, 0x00, 0x01}).error().anomaly, Anomaly::truncated_meta_header);
}

TEST(IaxParse, EveryPrefixOfEveryFrameIsSafe) {
  // Each prefix is copied into its own allocation so AddressSanitizer sees any over-read.
  for (const char* name : {"regreq", "regack", "new", "hangup", "mini_voice", "meta_trunk"}) {
    const std::string& bytes = read_frame(name);
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
      std::vector<std::uint8_t> copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      auto r = parse(std::span<const std::uint8_t>(copy));
      if (r.ok() && r->kind == FrameKind::full && r->frame_type == frame_type::iax) {
        EXPECT_LE(r->ies.count, 8) << name;
      }
    }
  }
}

TEST(IaxParse, AnomalyNamesAreDistinct) {
  std::set<std::string> names;
  for (unsigned i = 0; i < static_cast<unsigned>(Anomaly::count_); ++i)
    EXPECT_TRUE(names.insert(anomaly_name(static_cast<Anomaly>(i))).second);
  EXPECT_EQ(names.count("unknown_anomaly"), 0u);
}

}  // namespace
}  // namespace pbxwall::iax
