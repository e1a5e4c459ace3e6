#include <gtest/gtest.h>
#include <netinet/in.h>

#include "kernel/kernel.h"
#include "packets/nft_set_writer.h"
#include "packets/recording_set_updater.h"

namespace pbxwall::packets {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

TEST(NftSetWriter, KeysAndTimeoutsInNftSyntax) {
  EXPECT_EQ(nft_element_key(SetKey::blocked(ip("192.0.2.1"))), "192.0.2.1");
  EXPECT_EQ(nft_element_key(SetKey::validated(ip("2001:db8::1"))), "2001:db8::1");
  EXPECT_EQ(nft_element_key(SetKey::grant(ip("192.0.2.1"), IPPROTO_UDP, 5060)),
            "192.0.2.1 . udp . 5060");
  EXPECT_EQ(nft_element_key(SetKey::grant(ip("2001:db8::2"), IPPROTO_TCP, 443)),
            "2001:db8::2 . tcp . 443");
  EXPECT_EQ(nft_element_key(SetKey::grant(ip("192.0.2.1"), 132, 5060)), "192.0.2.1 . 132 . 5060");
  EXPECT_EQ(SetKey::blocked(ip("192.0.2.1")).set_name(), "blocked4");
  EXPECT_EQ(SetKey::validated(ip("2001:db8::1")).set_name(), "validated6");
  EXPECT_EQ(SetKey::grant(ip("2001:db8::1"), IPPROTO_UDP, 1).set_name(), "grants6");

  EXPECT_EQ(nft_timeout(seconds(900)), "900s");
  EXPECT_EQ(nft_timeout(milliseconds(1500)), "1500ms");
  EXPECT_EQ(nft_timeout(Duration(1)), "1ms");  // rounded up, never to zero
  EXPECT_EQ(nft_timeout(Duration(0)), "");
  EXPECT_EQ(nft_timeout(seconds(-5)), "");
}

TEST(NftSetWriter, OneTickIsOneScriptWithReplaceAndSafeDelete) {
  kernel::DryRunApplier applier;
  NftSetWriter writer(applier);
  writer.add({SetKey::blocked(ip("192.0.2.1")), seconds(900), "svwar fingerprint"});
  writer.add({SetKey::blocked(ip("192.0.2.2")), seconds(60), "say \"hi\""});
  writer.remove(SetKey::blocked(ip("192.0.2.3")));
  writer.add({SetKey::validated(ip("2001:db8::7")), seconds(3600), ""});
  EXPECT_EQ(writer.pending(), 4u);
  ASSERT_TRUE(writer.commit().ok());
  EXPECT_EQ(writer.pending(), 0u);
  ASSERT_EQ(applier.applied.size(), 1u);
  EXPECT_EQ(applier.applied[0],
            "add element inet pbxwall blocked4 { 192.0.2.1, 192.0.2.2, 192.0.2.3 }\n"
            "delete element inet pbxwall blocked4 { 192.0.2.1, 192.0.2.2, 192.0.2.3 }\n"
            "add element inet pbxwall blocked4 { 192.0.2.1 timeout 900s comment \"svwar "
            "fingerprint\", 192.0.2.2 timeout 60s comment \"say 'hi'\" }\n"
            "add element inet pbxwall validated6 { 2001:db8::7 }\n"
            "delete element inet pbxwall validated6 { 2001:db8::7 }\n"
            "add element inet pbxwall validated6 { 2001:db8::7 timeout 3600s }\n");
  EXPECT_EQ(writer.stats().commits, 1u);
  EXPECT_EQ(writer.stats().elements_added, 3u);
  EXPECT_EQ(writer.stats().elements_removed, 1u);
}

TEST(NftSetWriter, BlockedNetworksGoToTheIntervalSetAsPrefixes) {
  const SetKey net = SetKey::blocked_net(*Cidr::parse("2001:db8:3::/64"));
  EXPECT_EQ(net.set_name(), "blocked_nets6");
  EXPECT_EQ(nft_element_key(net), "2001:db8:3::/64");
  EXPECT_NE(net, SetKey::blocked_net(*Cidr::parse("2001:db8:3::/56")));
  EXPECT_NE(net, SetKey::blocked(ip("2001:db8:3::")));
  kernel::DryRunApplier applier;
  NftSetWriter writer(applier);
  writer.add({net, seconds(900), "3 addresses of 2001:db8:3::/64 blocked"});
  writer.add({SetKey::blocked(ip("2001:db8:3::9")), seconds(900), ""});
  ASSERT_TRUE(writer.commit().ok());
  ASSERT_EQ(applier.applied.size(), 1u);
  EXPECT_EQ(applier.applied[0],
            "add element inet pbxwall blocked6 { 2001:db8:3::9 }\n"
            "delete element inet pbxwall blocked6 { 2001:db8:3::9 }\n"
            "add element inet pbxwall blocked6 { 2001:db8:3::9 timeout 900s }\n"
            "add element inet pbxwall blocked_nets6 { 2001:db8:3::/64 }\n"
            "delete element inet pbxwall blocked_nets6 { 2001:db8:3::/64 }\n"
            "add element inet pbxwall blocked_nets6 { 2001:db8:3::/64 timeout 900s comment \"3 addresses of "
            "2001:db8:3::/64 blocked\" }\n");
}

TEST(NftSetWriter, LaterOperationOnAKeyWins) {
  kernel::DryRunApplier applier;
  NftSetWriter writer(applier);
  writer.add({SetKey::blocked(ip("192.0.2.1")), seconds(10), "first"});
  writer.add({SetKey::blocked(ip("192.0.2.1")), seconds(20), "second"});
  writer.add({SetKey::blocked(ip("192.0.2.2")), seconds(10), "gone"});
  writer.remove(SetKey::blocked(ip("192.0.2.2")));
  EXPECT_EQ(writer.pending(), 2u);
  const std::string script = writer.render();
  EXPECT_EQ(script.find("first"), std::string::npos);
  EXPECT_NE(script.find("192.0.2.1 timeout 20s comment \"second\""), std::string::npos);
  EXPECT_EQ(script.find("gone"), std::string::npos);
  EXPECT_EQ(script.find("192.0.2.2 timeout"), std::string::npos);
}

TEST(NftSetWriter, RemovalsOnlyHaveNoFinalAdd) {
  kernel::DryRunApplier applier;
  NftSetWriter writer(applier);
  writer.remove(SetKey::grant(ip("192.0.2.1"), IPPROTO_UDP, 5060));
  EXPECT_EQ(writer.render(),
            "add element inet pbxwall grants4 { 192.0.2.1 . udp . 5060 }\n"
            "delete element inet pbxwall grants4 { 192.0.2.1 . udp . 5060 }\n");
}

TEST(NftSetWriter, LargeBatchesSplitIntoCommandsInOneScript) {
  kernel::DryRunApplier applier;
  SetWriterOptions options;
  options.max_elements_per_command = 1000;
  NftSetWriter writer(applier, options);
  for (std::uint32_t i = 0; i < 2500; ++i)
    writer.add({SetKey::blocked(IpAddress::v4(0xC6336400u + i)), seconds(60), "flood"});  // 198.51.100.0 on
  ASSERT_TRUE(writer.commit().ok());
  ASSERT_EQ(applier.applied.size(), 1u);
  const std::string& script = applier.applied[0];
  std::size_t lines = 0, elements_in_final_adds = 0;
  for (std::size_t at = 0, next; at < script.size(); at = next + 1) {
    next = script.find('\n', at);
    const std::string line = script.substr(at, next - at);
    ++lines;
    if (line.find(" timeout ") != std::string::npos) {
      std::size_t count = 1;
      for (char c : line) count += c == ',' ? 1 : 0;
      EXPECT_LE(count, 1000u);
      elements_in_final_adds += count;
    }
  }
  EXPECT_EQ(lines, 9u);  // 3 chunks (1000, 1000, 500) of add/delete/add
  EXPECT_EQ(elements_in_final_adds, 2500u);
}

TEST(NftSetWriter, CustomTableAndFailureReported) {
  kernel::DryRunApplier applier;
  SetWriterOptions options;
  options.table = "lab";
  NftSetWriter writer(applier, options);
  writer.add({SetKey::blocked(ip("192.0.2.1")), seconds(1), "x"});
  applier.fail_next = "Error: No such file or directory; did you mean table 'pbxwall'?";
  auto st = writer.commit();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("inet lab"), std::string::npos);
  EXPECT_NE(st.error().find("No such file"), std::string::npos);
  EXPECT_EQ(writer.pending(), 0u);
  EXPECT_EQ(writer.stats().failed_commits, 1u);
  EXPECT_EQ(writer.stats().elements_added, 0u);
  // An empty tick sends nothing.
  ASSERT_TRUE(writer.commit().ok());
  EXPECT_TRUE(applier.applied.empty());
}

TEST(RecordingSetUpdater, RecordsBatchesAndContents) {
  RecordingSetUpdater sets;
  SetUpdater& updater = sets;
  updater.add({SetKey::blocked(ip("192.0.2.1")), seconds(60), "a"});
  updater.add({SetKey::validated(ip("198.51.100.1")), seconds(60), ""});
  ASSERT_TRUE(updater.commit().ok());
  updater.remove(SetKey::blocked(ip("192.0.2.1")));
  ASSERT_TRUE(updater.commit().ok());
  ASSERT_TRUE(updater.commit().ok());  // empty: not recorded
  ASSERT_EQ(sets.commits.size(), 2u);
  EXPECT_EQ(sets.commits[0].added.size(), 2u);
  EXPECT_EQ(sets.commits[1].removed, std::vector<SetKey>{SetKey::blocked(ip("192.0.2.1"))});
  ASSERT_EQ(sets.contents().size(), 1u);
  EXPECT_EQ(sets.contents().begin()->first, SetKey::validated(ip("198.51.100.1")));

  sets.fail_next = "kernel said no";
  updater.add({SetKey::blocked(ip("192.0.2.9")), seconds(60), "b"});
  auto st = updater.commit();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error(), "kernel said no");
  EXPECT_EQ(sets.commits.size(), 2u);
  EXPECT_EQ(sets.contents().size(), 1u);
}

}  // namespace
}  // namespace pbxwall::packets
