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

TEST(PacketPath, ObserveModeSaysWhyAndHowToGetInlineDrops) {
  auto automatic = read("[firewall]\n");
  ASSERT_TRUE(automatic.ok());
  const auto observe = explain_packet_path(*automatic, PacketPath::log_group, false,
                                           "the kernel refuses `meta l4proto udp queue num 1 bypass`: No such file");
  EXPECT_EQ(observe.why,
            "[responsive] packet_path = \"auto\" (the default) and this kernel does not load the nftables queue "
            "statement (the kernel refuses `meta l4proto udp queue num 1 bypass`: No such file): the daemon sees "
            "copies of the packets (log groups) and blocks through the kernel sets, so a scanner's first packets "
            "reach the PBX");
  EXPECT_EQ(observe.inline_drops,
            "set [responsive] packet_path = \"external-queue\" with an NFQUEUE rule of your own feeding queue 1 (e.g. "
            "iptables-nft -I INPUT -p udp --dport 5060 -j NFQUEUE --queue-num 1 --queue-bypass) and restart "
            "pbxwalld, or use a kernel with nft_queue");

  auto log = read("[responsive]\npacket_path = \"log\"\nqueue_num = 4\n");
  ASSERT_TRUE(log.ok());
  const auto chosen = explain_packet_path(*log, PacketPath::log_group, true, "");
  EXPECT_TRUE(chosen.why.starts_with("[responsive] packet_path = \"log\": the daemon sees copies")) << chosen.why;
  EXPECT_NE(chosen.inline_drops.find("\"auto\" or \"queue\""), std::string::npos) << chosen.inline_drops;

  const auto inline_path = explain_packet_path(*automatic, PacketPath::queue, true, "");
  EXPECT_NE(inline_path.why.find("waits in queue 1"), std::string::npos) << inline_path.why;
  EXPECT_EQ(inline_path.inline_drops, "");
  auto external = read("[responsive]\npacket_path = \"external-queue\"\nqueue_num = 4\n");
  ASSERT_TRUE(external.ok());
  const auto fed = explain_packet_path(*external, PacketPath::external, false, "");
  EXPECT_NE(fed.why.find("queue 4"), std::string::npos) << fed.why;
  EXPECT_NE(fed.why.find("NFQUEUE"), std::string::npos) << fed.why;
  EXPECT_EQ(fed.inline_drops, "");
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
