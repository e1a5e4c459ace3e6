#include "ami/actions.h"

#include <gtest/gtest.h>

#include "ami/message.h"

namespace pbxwall::ami {
namespace {

TEST(AmiActions, LoginOnTheWire) {
  auto bytes = serialize(login_action("pbxwall", "s3cret", kFirewallEventMask, "1"));
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes,
            "Action: Login\r\nActionID: 1\r\nUsername: pbxwall\r\nSecret: s3cret\r\nEvents: security,system\r\n\r\n");
}

TEST(AmiActions, EventsPingLogoff) {
  EXPECT_EQ(*serialize(events_action("security", "2")), "Action: Events\r\nActionID: 2\r\nEventMask: security\r\n\r\n");
  EXPECT_EQ(*serialize(ping_action("3")), "Action: Ping\r\nActionID: 3\r\n\r\n");
  EXPECT_EQ(*serialize(logoff_action("")), "Action: Logoff\r\n\r\n");
}

TEST(AmiActions, LineBreaksCannotInjectActions) {
  auto r = serialize(login_action("pbxwall", "x\r\nAction: Originate", "security", "1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), "Secret holds a line break");
  EXPECT_FALSE(serialize(ping_action("1\n")).ok());
  EXPECT_FALSE(serialize(Action{"Ping", "", {{"Bad: key", "v"}}}).ok());
  EXPECT_FALSE(serialize(Action{"", "", {}}).ok());
}

TEST(AmiActions, SerializedActionsParseBack) {
  Parser p;
  std::vector<Message> out;
  p.feed("Asterisk Call Manager/5.0.1\r\n", out);
  p.feed(*serialize(login_action("u", "p", "security,system", "9")), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].get_or("Action"), "Login");
  EXPECT_EQ(out[0].get_or("Events"), "security,system");
  EXPECT_EQ(out[0].get_or("ActionID"), "9");
}

}  // namespace
}  // namespace pbxwall::ami
