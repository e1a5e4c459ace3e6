// IAX2: answers matched by call number; registrations validate, rejections count as failures.
#include <gmock/gmock.h>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

const IpAddress kPeer = addr("198.51.100.20");
const IpAddress kScanner = addr("203.0.113.40");

class Iax : public EngineFixture {
 protected:
  std::vector<Decision> frame(const IpAddress& remote, Direction dir, IaxCommand c, std::uint16_t scall,
                              std::uint16_t dcall, std::string_view user = {}, bool md5 = false,
                              std::optional<std::uint16_t> refresh = std::nullopt, std::string_view called = {},
                              std::optional<std::uint8_t> cause = std::nullopt) {
    IaxFrame f;
    f.command = c;
    f.source_call = scall;
    f.dest_call = dcall;
    f.username = user;
    f.has_md5_result = md5;
    f.refresh = refresh;
    f.called_number = called;
    f.cause_code = cause;
    PacketMeta m = dir == Direction::to_pbx ? to_pbx(remote) : from_pbx(remote);
    m.sport = m.dport = 4569;
    return feed(Observation{m, f});
  }

  // REGREQ → REGAUTH → REGREQ with MD5 → REGACK or REGREJ.
  std::vector<Decision> registration(const IpAddress& remote, std::string_view user, bool accepted, std::uint16_t call) {
    std::vector<Decision> out;
    append(out, frame(remote, Direction::to_pbx, IaxCommand::regreq, call, 0, user, false, 60));
    append(out, frame(remote, Direction::from_pbx, IaxCommand::regauth, 900, call, user));
    append(out, frame(remote, Direction::to_pbx, IaxCommand::regreq, call, 900, user, true, 60));
    append(out, accepted ? frame(remote, Direction::from_pbx, IaxCommand::regack, 900, call, user, false, 60)
                         : frame(remote, Direction::from_pbx, IaxCommand::regrej, 900, call, user));
    return out;
  }
};

TEST_F(Iax, RegackValidatesForTheRefreshPlusGrace) {
  auto ds = registration(kPeer, "iaxphone", true, 11);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
  EXPECT_EQ(ds[0].user, "iaxphone");
  EXPECT_EQ(ds[0].until, now() + 60s + 60s);
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

TEST_F(Iax, RegrelForgets) {
  registration(kPeer, "iaxphone", true, 11);
  frame(kPeer, Direction::to_pbx, IaxCommand::regrel, 12, 0, "iaxphone", true);
  auto ds = frame(kPeer, Direction::from_pbx, IaxCommand::regack, 901, 12, "iaxphone");
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::forget);
}

TEST_F(Iax, FastRegrejsAreGuessing) {
  std::vector<Decision> ds;
  // Three in a row within a second of each other: no phone retries that fast.
  for (std::uint16_t i = 0; i < 2; ++i) append(ds, registration(kScanner, "iaxphone", false, static_cast<std::uint16_t>(20 + i)));
  EXPECT_TRUE(ds.empty());
  ds = registration(kScanner, "iaxphone", false, 23);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::password_guessing);
  EXPECT_EQ(ds[0].user, "iaxphone");
  EXPECT_NE(ds[0].reason.find("each within 1 s of the last"), std::string::npos) << ds[0].reason;
}

TEST_F(Iax, RegrejWithoutCredentialsIsAnUnknownUser) {
  std::vector<Decision> ds;
  for (int i = 0; i < 4; ++i) {
    const auto call = static_cast<std::uint16_t>(30 + i);
    const std::string user = "u" + std::to_string(i);
    append(ds, frame(kScanner, Direction::to_pbx, IaxCommand::regreq, call, 0, strings_.keep(user)));
    append(ds, frame(kScanner, Direction::from_pbx, IaxCommand::regrej, 900, call));
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::user_enumeration);
  EXPECT_EQ(find(ds, Action::block)->reason, "4 usernames tried in 1 s: u0, u1, u2, \u2026");
}

TEST_F(Iax, CallsToThreeNumbersWithoutAuthentication) {
  std::vector<Decision> ds;
  const char* numbers[] = {"100", "101", "102"};
  for (int i = 0; i < 3; ++i) {
    const auto call = static_cast<std::uint16_t>(40 + i);
    append(ds, frame(kScanner, Direction::to_pbx, IaxCommand::new_, call, 0, {}, false, std::nullopt, numbers[i]));
    append(ds, frame(kScanner, Direction::from_pbx, IaxCommand::reject, 900, call, {}, false, std::nullopt, {}, 3));
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::call_probing);
}

TEST_F(Iax, AuthenticatedCallIsAccepted) {
  std::vector<Decision> ds;
  append(ds, frame(kPeer, Direction::to_pbx, IaxCommand::new_, 50, 0, "peer", false, std::nullopt, "0044123"));
  append(ds, frame(kPeer, Direction::from_pbx, IaxCommand::authreq, 901, 50, "peer"));
  append(ds, frame(kPeer, Direction::to_pbx, IaxCommand::authrep, 50, 901, {}, true));
  append(ds, frame(kPeer, Direction::from_pbx, IaxCommand::accept, 901, 50));
  // Later calls to international numbers: the peer has authenticated, not a probe.
  for (std::uint16_t i = 0; i < 3; ++i)
    append(ds, frame(kPeer, Direction::to_pbx, IaxCommand::new_, static_cast<std::uint16_t>(60 + i), 0, "peer", false,
                     std::nullopt, "00449876"));
  EXPECT_TRUE(ds.empty());
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

TEST_F(Iax, RejectedAuthrepIsAWrongPassword) {
  std::vector<Decision> ds;
  for (std::uint16_t i = 0; i < 4; ++i) {
    const auto call = static_cast<std::uint16_t>(70 + i);
    append(ds, frame(kScanner, Direction::to_pbx, IaxCommand::new_, call, 0, "peer", false, std::nullopt, "100"));
    append(ds, frame(kScanner, Direction::from_pbx, IaxCommand::authreq, 901, call, "peer"));
    append(ds, frame(kScanner, Direction::to_pbx, IaxCommand::authrep, call, 901, {}, true));
    append(ds, frame(kScanner, Direction::from_pbx, IaxCommand::reject, 901, call, {}, false, std::nullopt, {}, 29));
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_EQ(find(ds, Action::block)->user, "peer");
}

// Security events from the PBX (AMI) feed the same rules.
TEST_F(Iax, SecurityEventsCountLikeAnswers) {
  std::vector<Decision> ds;
  for (int i = 0; i < 4; ++i) append(ds, feed(Observation{to_pbx(kScanner), SecurityEvent{SecurityEventKind::auth_failed, "101"}}));
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_EQ(find(ds, Action::block)->user, "101");
}

}  // namespace
}  // namespace pbxwall::responsive::testing
