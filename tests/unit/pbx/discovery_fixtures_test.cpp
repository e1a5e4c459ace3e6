// Discovery over configuration trees modelled on what FreePBX 16 and 17 write to /etc/asterisk
// (tests/data/asterisk/<case>/), read from disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "pbx/discovery.h"

namespace pbxwall::pbx {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string fixture(const std::string& name) { return std::string(PBXWALL_TEST_DATA) + "/asterisk/" + name; }

// "file:line" with the file relative to the fixture root, so expectations stay readable.
std::string where(const Discovery& d, const Origin& o) {
  std::string file = o.file;
  if (file.rfind(d.root + "/", 0) == 0) file = file.substr(d.root.size() + 1);
  return file + ":" + std::to_string(o.line);
}

std::vector<std::string> ports(const Discovery& d, const std::vector<ListeningPort>& list) {
  std::vector<std::string> out;
  for (const auto& p : list) {
    std::string binds;
    for (const auto& b : p.bind_addresses) binds += (binds.empty() ? "" : ",") + b;
    out.push_back(std::string(to_string(p.role)) + " " + p.protocol + "/" + std::to_string(p.port) + " " + p.driver + " " +
                  binds + " " + where(d, p.origin));
  }
  return out;
}

std::vector<std::string> trunks(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& t : d.trunks) {
    std::string s = t.host + (t.port ? ":" + std::to_string(t.port) : "") + " " + to_string(t.kind) + " " +
                    t.references[0].trunk + " " + where(d, t.references[0].origin);
    if (t.references.size() > 1) s += " +" + std::to_string(t.references.size() - 1);
    out.push_back(s);
  }
  return out;
}

std::vector<std::string> accounts(const Discovery& d) {
  std::vector<std::string> out;
  for (const auto& a : d.accounts) out.push_back(a.name + " " + a.via + " " + where(d, a.origin));
  return out;
}

TEST(DiscoveryFixtures, FreePbx16WithPjsipChanSipAndIax) {
  DiskFileSystem fs;
  const auto d = discover(fs, fixture("freepbx16"));
  EXPECT_THAT(d.diagnostics, IsEmpty());
  EXPECT_THAT(ports(d, d.signalling),
              ElementsAre("sip udp/5060 pjsip 0.0.0.0 pjsip.transports.conf:9",
                          "sip tcp/5060 pjsip 0.0.0.0 pjsip.transports.conf:20",
                          "sip tls/5061 pjsip 0.0.0.0 pjsip.transports.conf:31",
                          "sip udp/5160 chan_sip 0.0.0.0 sip_general_additional.conf:24",
                          "sip tcp/5160 chan_sip 0.0.0.0 sip_general_additional.conf:27",
                          "iax udp/4569 chan_iax2 0.0.0.0 iax_general_additional.conf:4"));
  ASSERT_TRUE(d.rtp);
  EXPECT_EQ(d.rtp->first, 10000);
  EXPECT_EQ(d.rtp->last, 20000);
  EXPECT_EQ(where(d, d.rtp->origin), "rtp_additional.conf:4");
  EXPECT_FALSE(d.webrtc);
  EXPECT_THAT(ports(d, d.web), ElementsAre("http http/8088 http :: http_additional.conf:7"));
  EXPECT_THAT(ports(d, d.ami), ElementsAre("ami ami/5038 manager 0.0.0.0 manager.conf:14"));
  EXPECT_THAT(trunks(d), ElementsAre("proxy.voipprovider.example name voipprovider pjsip.endpoint.conf:14 +2",
                                     "sip.voipprovider.example:5060 name voipprovider pjsip.aor.conf:9 +2",
                                     "198.51.100.20:5060 address branch pjsip.aor.conf:15",
                                     "sip.voipprovider.example name voipprovider pjsip.identify.conf:9",
                                     "203.0.113.64/26 network voipprovider pjsip.identify.conf:10",
                                     "203.0.113.10 address voipprovider pjsip.identify.conf:10",
                                     "198.51.100.0/24 network branch pjsip.identify.conf:15",
                                     "sip.legacy.example:5080 name legacytrunk sip_registrations.conf:4 +1",
                                     "203.0.113.50 address officegw sip_additional.conf:19",
                                     "203.0.113.48/28 network officegw sip_additional.conf:22",
                                     "iax.branch.example name register iax_registrations.conf:4 +1"));
  // Extensions (host=dynamic, permit=0.0.0.0/0.0.0.0) never become trunk hosts.
  for (const auto& t : d.trunks) EXPECT_NE(t.network ? t.network->prefix() : 1, 0) << t.host;
  // Everything read is listed for the file watcher, includes in the order Asterisk reads them.
  EXPECT_EQ(d.files_read.size(), 48u);  // every file of the tree
  EXPECT_EQ(d.files_read[0], fixture("freepbx16") + "/modules.conf");
  EXPECT_EQ(d.files_read[1], fixture("freepbx16") + "/pjsip.conf");
  EXPECT_EQ(d.files_read[2], fixture("freepbx16") + "/pjsip_custom.conf");
  // Accounts: pjsip endpoints, aors and auth usernames (the provider's outbound username too),
  // chan_sip and chan_iax2 peers and friends.
  EXPECT_THAT(account_names(d), ElementsAre("101", "102", "103", "4420123456", "branch", "branchiax", "legacytrunk",
                                            "officegw", "voipprovider"));
  EXPECT_THAT(accounts(d), ::testing::Contains("102 chan_sip friend sip_additional.conf:26"));
  EXPECT_THAT(accounts(d), ::testing::Contains("4420123456 pjsip auth username pjsip.auth.conf:10"));
}

TEST(DiscoveryFixtures, FreePbx17PjsipOnlyWithHandEditedFiles) {
  DiskFileSystem fs;
  const auto d = discover(fs, fixture("freepbx17"));
  EXPECT_THAT(d.diagnostics, IsEmpty());
  // chan_sip and chan_iax2 are noload in modules.conf: sip.conf and iax.conf are ignored.
  EXPECT_THAT(ports(d, d.signalling),
              ElementsAre("sip udp/5060 pjsip 0.0.0.0,:: pjsip.transports.conf:9",
                          "sip tls/5061 pjsip 0.0.0.0 pjsip.transports.conf:25"));
  EXPECT_TRUE(d.signalling[1].is_default);
  EXPECT_TRUE(d.webrtc);  // the wss transport
  EXPECT_THAT(ports(d, d.web), ElementsAre("http http/8088 http 0.0.0.0 http_additional.conf:3",
                                           "https https/8089 http :: http_additional.conf:5"));
  EXPECT_THAT(ports(d, d.ami), ElementsAre("ami ami/5038 manager 127.0.0.1 manager.conf:3"));
  EXPECT_TRUE(d.ami[0].loopback_only());
  ASSERT_TRUE(d.rtp);
  EXPECT_EQ(d.rtp->first, 10000);
  EXPECT_EQ(d.rtp->last, 20000);
  EXPECT_EQ(where(d, d.rtp->origin), "rtp_additional.conf:4");
  // The template's type reaches carrier2, the (+) addition adds its second gateway, the block
  // comment hides oldcarrier, and the quoted glob include brings the branch and IPv6 files.
  EXPECT_THAT(trunks(d), ElementsAre("gw1.carrier2.example name carrier2 pjsip_custom.conf:8 +1",
                                     "gw2.carrier2.example:5070 name carrier2 pjsip.aor_custom_post.conf:3",
                                     "198.51.100.30:5062 address leeds pjsip.d/10-branch.conf:10",
                                     "198.51.100.30 address leeds pjsip.d/10-branch.conf:15",
                                     "2001:db8::5:5060 address v6carrier pjsip.d/20-ipv6.conf:3",
                                     "2001:db8:1::/48 network v6carrier pjsip.d/20-ipv6.conf:8",
                                     "gw2.carrier2.example name carrier2 pjsip.identify.conf:6"));
  EXPECT_EQ(d.trunks[2].transport, "tcp");
  // Optional files that may appear later: a watcher re-reads when they do.
  EXPECT_THAT(d.files_missing, ElementsAre(fixture("freepbx17") + "/pjsip_local_extra.conf",
                                           fixture("freepbx17") + "/pjsip_wizard.conf",
                                           fixture("freepbx17") + "/http_custom.conf"));
}

TEST(DiscoveryFixtures, MinimalPjsipOnly) {
  DiskFileSystem fs;
  const auto d = discover(fs, fixture("minimal"));
  EXPECT_THAT(d.diagnostics, IsEmpty());
  EXPECT_THAT(ports(d, d.signalling), ElementsAre("sip udp/5060 pjsip 0.0.0.0 pjsip.conf:3"));
  ASSERT_TRUE(d.rtp);
  EXPECT_TRUE(d.rtp->is_default);
  EXPECT_EQ(d.rtp->first, 5000);
  EXPECT_EQ(d.rtp->last, 31000);
  EXPECT_THAT(d.trunks, IsEmpty());
}

TEST(DiscoveryFixtures, AsteriskLabAccounts) {
  DiskFileSystem fs;
  const auto d = discover(fs, std::string(PBXWALL_TEST_DATA) + "/asterisk-lab");
  // The lab's FreePBX-style extensions (endpoint, aor and auth username each) and its IAX2 friend.
  EXPECT_THAT(account_names(d), ElementsAre("300", "301", "302", "333", "400"));
  // A name is listed once per driver, where it first appears (the endpoint before its auth).
  EXPECT_THAT(accounts(d), ElementsAre("300 pjsip endpoint pjsip.endpoint.conf:5", "301 pjsip endpoint pjsip.endpoint.conf:22",
                                       "333 pjsip endpoint pjsip.endpoint.conf:39", "302 pjsip endpoint pjsip.endpoint.conf:56",
                                       "400 chan_iax2 friend iax.conf:13"));
}

}  // namespace
}  // namespace pbxwall::pbx
