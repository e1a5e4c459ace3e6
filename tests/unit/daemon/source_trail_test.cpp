// The per-source trail behind the web UI's timeline: what each step says, the order, and the
// bounds on sources and steps.
#include "daemon/source_trail.h"

#include <gtest/gtest.h>

#include "../responsive/engine_fixture.h"

namespace pbxwall::daemon {
namespace {

using namespace std::chrono_literals;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
TimePoint at(int s) { return TimePoint(std::chrono::seconds(1'700'000'000 + s)); }

responsive::Observation request(const IpAddress& from, int t, responsive::SipMethod method, const char* user, bool credentials,
                                const char* agent) {
  responsive::Observation o;
  o.meta = responsive::testing::to_pbx(from);
  o.meta.t = at(t);
  responsive::SipRequest r;
  r.method = method;
  r.to_user = user;
  r.uri_user = user;
  r.has_credentials = credentials;
  r.user_agent = agent;
  o.body = r;
  return o;
}

responsive::Observation answer(const IpAddress& to, int t, int status, bool challenge) {
  responsive::Observation o;
  o.meta = responsive::testing::from_pbx(to);
  o.meta.t = at(t);
  responsive::SipResponse a;
  a.status = status;
  a.cseq_method = responsive::SipMethod::register_;
  a.has_challenge = challenge;
  o.body = a;
  return o;
}

TEST(SourceTrail, RequestsAndThePbxsAnswersInOrder) {
  const auto attacker = ip("192.0.2.66");
  SourceTrail trail;
  trail.record(request(attacker, 0, responsive::SipMethod::register_, "301", false, "friendly-scanner"));
  trail.record(answer(attacker, 1, 401, true));
  trail.record(request(attacker, 2, responsive::SipMethod::register_, "301", true, "friendly-scanner"));
  trail.record(answer(attacker, 3, 403, false));
  responsive::Decision block;
  block.action = responsive::Action::block;
  block.addr = attacker;
  block.rule = responsive::Rule::password_guessing;
  block.reason = "4 wrong passwords for 301 in 3 s";
  trail.record(block, at(3) + 1ms);
  trail.record(request(ip("192.0.2.67"), 4, responsive::SipMethod::options, "", false, ""));
  const auto steps = trail.of(attacker);
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[4].action, "block") << "the decision after the packets that led to it";
  EXPECT_EQ(steps[4].rule, "password-guessing");
  EXPECT_EQ(steps[4].what, "4 wrong passwords for 301 in 3 s");
  EXPECT_EQ(steps[0].what, "REGISTER for 301 (friendly-scanner)");
  EXPECT_FALSE(steps[0].from_pbx);
  EXPECT_EQ(steps[1].what, "401 to REGISTER, challenge");
  EXPECT_TRUE(steps[1].from_pbx) << "the PBX's answer is kept under the address it went to";
  EXPECT_EQ(steps[2].what, "REGISTER for 301 with credentials (friendly-scanner)");
  EXPECT_EQ(steps[3].what, "403 to REGISTER");
  EXPECT_EQ(steps[3].t, at(3));
  EXPECT_EQ(trail.of(ip("192.0.2.67")).at(0).what, "OPTIONS");
  const auto j = trail.json_of(attacker);
  EXPECT_EQ(j["steps"].size(), 5u);
  EXPECT_EQ(j["steps"][1]["from_pbx"], true);
  EXPECT_FALSE(j["steps"][1].contains("action"));
  EXPECT_EQ(j["steps"][4]["action"], "block");
  EXPECT_TRUE(trail.of(ip("198.51.100.1")).empty());
}

TEST(SourceTrail, BoundedInSourcesAndSteps) {
  SourceTrail trail(3, 5);
  const auto a = ip("192.0.2.1");
  for (int i = 0; i < 12; ++i) trail.record(answer(a, i, 400 + i, false));
  const auto steps = trail.of(a);
  ASSERT_EQ(steps.size(), 5u) << "the oldest steps after the first go";
  EXPECT_EQ(steps[0].what, "400 to REGISTER") << "the first step stays (a quarter of 5)";
  EXPECT_EQ(steps[1].what, "408 to REGISTER");
  EXPECT_EQ(steps.back().what, "411 to REGISTER");
  trail.record(answer(ip("192.0.2.2"), 20, 200, false));
  trail.record(answer(ip("192.0.2.3"), 21, 200, false));
  trail.record(answer(a, 22, 200, false));  // a is heard of again: the most recent
  trail.record(answer(ip("192.0.2.4"), 23, 200, false));
  EXPECT_EQ(trail.size(), 3u);
  EXPECT_TRUE(trail.of(ip("192.0.2.2")).empty()) << "the least recently heard of goes first";
  EXPECT_EQ(trail.of(a).size(), 5u);
  EXPECT_EQ(trail.of(ip("192.0.2.4")).size(), 1u);
}

}  // namespace
}  // namespace pbxwall::daemon
