#include "crowdsec/decision.h"

#include <gtest/gtest.h>

namespace pbxwall::crowdsec {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

TEST(GoDuration, ParsesWhatTheLapiWrites) {
  EXPECT_EQ(parse_go_duration("4h"), hours(4));
  EXPECT_EQ(parse_go_duration("3h59m58.5s"), hours(3) + minutes(59) + milliseconds(58500));
  EXPECT_EQ(parse_go_duration("150ms"), milliseconds(150));
  EXPECT_EQ(parse_go_duration("1.5h"), minutes(90));
  EXPECT_EQ(parse_go_duration("-2m"), -minutes(2));
  EXPECT_EQ(parse_go_duration("0s"), Duration(0));
  EXPECT_EQ(parse_go_duration("0"), Duration(0));
  EXPECT_EQ(parse_go_duration("12\xC2\xB5s"), Duration(12));
  for (const char* bad : {"", "h", "4", "4x", "1..5s", "-", "4h-3m"}) EXPECT_FALSE(parse_go_duration(bad)) << bad;
}

TEST(GoDuration, SecondsForTheLapi) {
  EXPECT_EQ(go_duration_seconds(hours(1)), "3600s");
  EXPECT_EQ(go_duration_seconds(milliseconds(200)), "1s");  // never zero: LAPI would drop it
}

TEST(Stream, ParsesNewAndDeletedAndNull) {
  auto delta = parse_stream(R"({"new":[{"id":7,"origin":"cscli","scenario":"manual 'ban' from 'x'","scope":"Ip",
    "type":"ban","value":"203.0.113.9","duration":"59m59.9s"}],"deleted":null})");
  ASSERT_TRUE(delta.ok()) << delta.error();
  ASSERT_EQ(delta->added.size(), 1u);
  EXPECT_TRUE(delta->deleted.empty());
  EXPECT_EQ(delta->added[0].id, 7);
  EXPECT_EQ(delta->added[0].origin, "cscli");
  EXPECT_EQ(delta->added[0].duration, minutes(59) + milliseconds(59900));
  auto empty = parse_stream(R"({"new":null,"deleted":null})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->added.empty());
}

TEST(Stream, BrokenAnswersNameTheElement) {
  EXPECT_FALSE(parse_stream("<html>").ok());
  EXPECT_FALSE(parse_stream("[]").ok());
  auto r = parse_stream(R"({"new":[{"id":1,"value":"203.0.113.1"},{"id":2}]})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("new[1]"), std::string::npos) << r.error();
  auto d = parse_stream(R"({"deleted":[{"value":"203.0.113.1","duration":"soon"}]})");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().find("deleted[0]"), std::string::npos) << d.error();
}

LapiDecision ban(std::string scope, std::string value, Duration d = hours(1)) {
  return LapiDecision{1, "crowdsec", "crowdsecurity/asterisk_bf", std::move(scope), "ban", std::move(value), d};
}

TEST(BanTarget, IpAndRangeBansOnly) {
  auto ip = ban_target(ban("Ip", "203.0.113.9"));
  ASSERT_TRUE(ip.ok());
  EXPECT_TRUE(ip->net.is_host());
  EXPECT_EQ(ip->remaining, hours(1));
  auto range = ban_target(ban("range", "2001:db8:1::/48"));
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->net.prefix(), 48);
  EXPECT_FALSE(ban_target(ban("Country", "FR")).ok());
  EXPECT_FALSE(ban_target(ban("Ip", "not-an-address")).ok());
  EXPECT_FALSE(ban_target(ban("Range", "0.0.0.0/0")).ok());
  EXPECT_FALSE(ban_target(ban("Ip", "203.0.113.9", seconds(-3))).ok());
  auto captcha = ban("Ip", "203.0.113.9");
  captcha.type = "captcha";
  EXPECT_FALSE(ban_target(captcha).ok());
}

TEST(Filter, LikeTheFirewallBouncer) {
  DecisionFilter f;
  auto d = ban("Ip", "203.0.113.9");
  EXPECT_TRUE(f.accepts(d));
  EXPECT_EQ(f.query(), "");
  f.origins = {"cscli", "CrowdSec"};
  EXPECT_TRUE(f.accepts(d));
  d.origin = "CAPI";
  EXPECT_FALSE(f.accepts(d));
  f.origins.clear();
  f.scenarios_containing = {"asterisk"};
  EXPECT_TRUE(f.accepts(d));
  d.scenario = "crowdsecurity/ssh-bf";
  EXPECT_FALSE(f.accepts(d));
  f.scenarios_containing.clear();
  f.scenarios_not_containing = {"ssh"};
  EXPECT_FALSE(f.accepts(d));
  f.origins = {"a b"};
  EXPECT_EQ(f.query(), "&origins=a%20b&scenarios_not_containing=ssh");
}

TEST(Label, NamesOriginAndScenario) {
  EXPECT_EQ(origin_label(ban("Ip", "203.0.113.9")), "crowdsec:crowdsec/crowdsecurity/asterisk_bf");
}

}  // namespace
}  // namespace pbxwall::crowdsec
