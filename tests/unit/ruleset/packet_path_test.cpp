// [responsive] packet_path / queue_num: reading, errors with their place, and the choice made
// from the kernel probe's answer; and what each path renders on the responsive chain.
#include <gtest/gtest.h>

#include "ruleset/packet_path.h"

namespace pbxwall::ruleset {
namespace {

toml::table parse(std::string_view text) { return toml::parse(text, std::string_view("pbxwall.toml")); }

Result<PacketPathSetting, Diagnostics> read(std::string_view text) {
  const auto doc = parse(text);
  return packet_path_from_toml(doc["responsive"].as_table(), "pbxwall.toml");
}

TEST(PacketPath, DefaultsToAutoAndQueueOne) {
  auto s = read("[firewall]\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->choice, PacketPathChoice::automatic);
  EXPECT_EQ(s->queue_num, 1);
}

TEST(PacketPath, ReadsEachValue) {
  const std::pair<const char*, PacketPathChoice> cases[] = {{"auto", PacketPathChoice::automatic},
                                                            {"log", PacketPathChoice::log},
                                                            {"queue", PacketPathChoice::queue},
                                                            {"external-queue", PacketPathChoice::external_queue}};
  for (const auto& [text, choice] : cases) {
    auto s = read(std::string("[responsive]\npacket_path = \"") + text + "\"\nqueue_num = 7\n");
    ASSERT_TRUE(s.ok()) << text;
    EXPECT_EQ(s->choice, choice) << text;
    EXPECT_EQ(s->queue_num, 7);
  }
}

TEST(PacketPath, BadValuesNameTheirPlace) {
  auto s = read("[responsive]\nenabled = true\npacket_path = \"inline\"\nqueue_num = 70000\n");
  ASSERT_FALSE(s.ok());
  ASSERT_EQ(s.error().size(), 2u);
  EXPECT_EQ(s.error()[0].str(),
            "pbxwall.toml:3:15: error: responsive.packet_path: expected \"auto\", \"log\", \"queue\" or "
            "\"external-queue\"");
  EXPECT_EQ(s.error()[1].str(), "pbxwall.toml:4:13: error: responsive.queue_num: expected a queue number from 0 to 65535");
  EXPECT_FALSE(read("[responsive]\npacket_path = 1\n").ok());
  EXPECT_FALSE(read("[responsive]\nqueue_num = \"1\"\n").ok());
}

TEST(PacketPath, AutoFollowsTheKernel) {
  PacketPathSetting s;
  EXPECT_EQ(*resolve_packet_path(s, true, ""), PacketPath::queue);
  EXPECT_EQ(*resolve_packet_path(s, false, "No such file or directory"), PacketPath::log_group);
  s.choice = PacketPathChoice::log;
  EXPECT_EQ(*resolve_packet_path(s, true, ""), PacketPath::log_group);
  s.choice = PacketPathChoice::external_queue;
  EXPECT_EQ(*resolve_packet_path(s, false, ""), PacketPath::external);
}

TEST(PacketPath, QueueWithoutKernelSupportIsAnErrorAtTheKey) {
  auto s = read("[responsive]\npacket_path = \"queue\"\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*resolve_packet_path(*s, true, ""), PacketPath::queue);
  auto r = resolve_packet_path(*s, false, "Could not process rule: No such file or directory");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "pbxwall.toml:2:15: error: responsive.packet_path: \"queue\" needs the nftables queue statement, which "
            "this kernel does not load (Could not process rule: No such file or directory); use \"auto\" or "
            "\"log\", or \"external-queue\" with an xtables NFQUEUE rule");
}

std::string responsive_chain(const RenderOptions& options) {
  const auto loaded = model::load_string("", "pbxwall.toml");
  EXPECT_TRUE(loaded.ok());
  RenderInput in{.policy = loaded->policy};
  in.options = options;
  const std::string script = render(in);
  const auto begin = script.find("chain responsive {");
  return script.substr(begin, script.find("\n\t}", begin) - begin);
}

TEST(PacketPath, EachPathRendersItsLastRule) {
  RenderOptions log;
  EXPECT_NE(responsive_chain(log).find("log group 1\n\t\tcounter name \"responsive\" accept"), std::string::npos);
  RenderOptions queue;
  queue.packet_path = PacketPath::queue;
  queue.queue_num = 9;
  const auto q = responsive_chain(queue);
  EXPECT_NE(q.find("counter name \"responsive\" queue num 9 bypass"), std::string::npos) << q;
  EXPECT_EQ(q.find("log group"), std::string::npos) << q;
  RenderOptions external;
  external.packet_path = PacketPath::external;
  const auto e = responsive_chain(external);
  EXPECT_EQ(e.find("log group"), std::string::npos) << e;
  EXPECT_EQ(e.find("queue"), std::string::npos) << e;
  EXPECT_NE(e.find("counter name \"responsive\" accept"), std::string::npos) << e;
}

// TCP reaches the daemon only on answered connections: the rule that lets the rest of TCP pass
// comes before the copy (log or queue), after the flood meter.
TEST(PacketPath, OnlyEstablishedTcpIsCopiedToTheDaemon) {
  const std::string rule = "meta l4proto tcp ct state != established counter name \"responsive\" accept";
  RenderOptions log;
  const auto l = responsive_chain(log);
  ASSERT_NE(l.find(rule), std::string::npos) << l;
  EXPECT_LT(l.find("update @flood6"), l.find(rule));
  EXPECT_LT(l.find(rule), l.find("log group 1"));
  RenderOptions queue;
  queue.packet_path = PacketPath::queue;
  const auto q = responsive_chain(queue);
  ASSERT_NE(q.find(rule), std::string::npos) << q;
  EXPECT_LT(q.find(rule), q.find("queue num"));
  RenderOptions external;
  external.packet_path = PacketPath::external;
  EXPECT_EQ(responsive_chain(external).find("ct state"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::ruleset
