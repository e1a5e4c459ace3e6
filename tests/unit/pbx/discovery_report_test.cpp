#include "pbx/discovery_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pbxwall::pbx {
namespace {

using ::testing::HasSubstr;

Discovery sample() {
  MemoryFileSystem fs;
  fs.add("/etc/asterisk/pjsip.conf",
         "[t]\ntype=transport\nbind=0.0.0.0:5060\n"
         "[prov]\ntype=aor\ncontact=sip:gw.prov.example:5060\n"
         "[prov]\ntype=identify\nendpoint=prov\nmatch=203.0.113.0/24,sip.prov.example\nmatch=bad value\n"
         "[300]\ntype=endpoint\n");
  fs.add("/etc/asterisk/rtp.conf", "[general]\nrtpstart=10000\nrtpend=20000\n");
  return discover(fs, "/etc/asterisk");
}

TEST(DiscoveryReport, TextShowsEveryItemWithItsOrigin) {
  const auto text = discovery_to_text(sample());
  EXPECT_THAT(text, HasSubstr("Asterisk configuration under /etc/asterisk"));
  EXPECT_THAT(text, HasSubstr("sip  udp/5060  udp  pjsip  0.0.0.0  /etc/asterisk/pjsip.conf:3 [t] bind"));
  EXPECT_THAT(text, HasSubstr("udp/10000-20000  /etc/asterisk/rtp.conf:2 [general] rtpstart"));
  EXPECT_THAT(text, HasSubstr("gw.prov.example   port 5060  name     -  prov  pjsip aor contact     "
                              "/etc/asterisk/pjsip.conf:6 [prov] contact"));
  EXPECT_THAT(text, HasSubstr("203.0.113.0/24    any port   network  -  prov  pjsip identify match"));
  EXPECT_THAT(text, HasSubstr("Problems\n  /etc/asterisk/pjsip.conf:11: warning: prov.match: 'bad value'"));
  EXPECT_THAT(text, HasSubstr("AMI ports\n  (none)"));
  EXPECT_THAT(text, HasSubstr("Extensions and accounts (usernames the PBX has): 2\n  300 prov\n"));
}

TEST(DiscoveryReport, JsonHasStableFields) {
  const auto j = nlohmann::json::parse(discovery_to_json(sample()));
  EXPECT_EQ(j["root"], "/etc/asterisk");
  ASSERT_EQ(j["signalling"].size(), 1u);
  EXPECT_EQ(j["signalling"][0]["port"], 5060);
  EXPECT_EQ(j["signalling"][0]["protocol"], "udp");
  EXPECT_EQ(j["signalling"][0]["origin"]["file"], "/etc/asterisk/pjsip.conf");
  EXPECT_EQ(j["signalling"][0]["origin"]["line"], 3);
  EXPECT_EQ(j["rtp"]["first"], 10000);
  EXPECT_EQ(j["rtp"]["last"], 20000);
  ASSERT_EQ(j["trunks"].size(), 3u);
  EXPECT_EQ(j["trunks"][0]["host"], "gw.prov.example");
  EXPECT_EQ(j["trunks"][0]["port"], 5060);
  EXPECT_TRUE(j["trunks"][1]["port"].is_null());
  EXPECT_EQ(j["trunks"][1]["kind"], "network");
  EXPECT_EQ(j["trunks"][1]["references"][0]["trunk"], "prov");
  EXPECT_EQ(j["trunks"][1]["references"][0]["origin"]["line"], 10);
  ASSERT_EQ(j["diagnostics"].size(), 1u);
  EXPECT_EQ(j["diagnostics"][0]["severity"], "warning");
  EXPECT_EQ(j["diagnostics"][0]["line"], 11);
  EXPECT_TRUE(j["web"].empty());
  EXPECT_FALSE(j["webrtc"]);
  EXPECT_EQ(j["account_names"], nlohmann::json::parse(R"(["300", "prov"])"));
  ASSERT_EQ(j["accounts"].size(), 2u);
  EXPECT_EQ(j["accounts"][0]["name"], "prov");
  EXPECT_EQ(j["accounts"][0]["via"], "pjsip aor");
  EXPECT_EQ(j["accounts"][1]["via"], "pjsip endpoint");
  EXPECT_EQ(j["accounts"][1]["origin"]["line"], 12);
}

}  // namespace
}  // namespace pbxwall::pbx
