// The message corpus in tests/data/sip: RFC 4475 torture messages and messages in the formats
// of the tools the firewall meets (SIPVicious, sipp, Kamailio, phones).
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "sip/sip.h"
#include "test_text.h"

namespace pbxwall::sip {
namespace {

namespace fs = std::filesystem;
using test::read_file;

const std::string kData = PBXWALL_TEST_DATA "/sip";

Message sample(const std::string& name) {
  static std::deque<std::string> keep;  // messages view their buffer
  keep.push_back(read_file(kData + "/samples/" + name + ".sip"));
  EXPECT_FALSE(keep.back().empty()) << name;
  auto r = parse(keep.back());
  if (!r.ok()) {
    ADD_FAILURE() << name << ": " << anomaly_name(r.error().anomaly) << " at " << r.error().offset;
    return Message{};
  }
  return *r;
}

// tests/data/sip/rfc4475/expected.txt: one line per message file:
//   <file> valid                    must parse
//   <file> invalid <anomaly>        must fail with that anomaly
//   <file> incomplete <anomaly>     must fail as incomplete with that anomaly
//   <file> accepted                 the RFC calls it invalid for a part the parser does not
//                                   interpret; it must parse (the reason is in the file)
// Lines starting with '#' are comments.
TEST(SipCorpus, Rfc4475TortureMessages) {
  std::ifstream in(kData + "/rfc4475/expected.txt");
  ASSERT_TRUE(in) << "missing expected.txt";
  std::set<std::string> listed;
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string file, verdict, anomaly;
    fields >> file >> verdict >> anomaly;
    listed.insert(file);
    std::string bytes = read_file(kData + "/rfc4475/" + file);
    ASSERT_FALSE(bytes.empty()) << file;
    auto r = parse(bytes);
    ++checked;
    if (verdict == "valid" || verdict == "accepted") {
      EXPECT_TRUE(r.ok()) << file << ": " << (r.ok() ? "" : anomaly_name(r.error().anomaly)) << " at "
                          << (r.ok() ? 0 : r.error().offset);
    } else if (verdict == "invalid" || verdict == "incomplete") {
      ASSERT_FALSE(r.ok()) << file << " should fail with " << anomaly;
      EXPECT_EQ(anomaly_name(r.error().anomaly), anomaly) << file;
      EXPECT_EQ(r.error().kind, verdict == "invalid" ? ParseError::invalid : ParseError::incomplete) << file;
    } else {
      ADD_FAILURE() << "bad verdict in expected.txt: " << line;
    }
  }
  EXPECT_GE(checked, 20);
  for (const auto& entry : fs::directory_iterator(kData + "/rfc4475")) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".dat") {
      EXPECT_TRUE(listed.count(name)) << name << " not in expected.txt";
    }
  }
}

Message torture(const std::string& name) {
  static std::deque<std::string> keep;
  keep.push_back(read_file(kData + "/rfc4475/" + name + ".dat"));
  auto r = parse(keep.back());
  if (!r.ok()) {
    ADD_FAILURE() << name << ": " << anomaly_name(r.error().anomaly);
    return Message{};
  }
  return *r;
}

TEST(SipCorpus, TortureFieldsExtracted) {
  Message wsinv = torture("wsinv");
  EXPECT_EQ(wsinv.request_uri.user, "vivekg");
  EXPECT_EQ(wsinv.to.tag, "1918181833n");
  EXPECT_EQ(wsinv.from.display, "J Rosenberg \\\\\\\"");
  EXPECT_EQ(wsinv.from.tag, "98asjd8");
  EXPECT_EQ(*wsinv.max_forwards, 68u);
  EXPECT_EQ(wsinv.cseq, 9u);
  EXPECT_EQ(wsinv.via_count, 3);
  EXPECT_EQ(wsinv.top_via.host, "192.0.2.2");
  EXPECT_EQ(wsinv.top_via.branch, "390skdjuw");
  EXPECT_EQ(wsinv.contact.uri.user, "jdrosen");
  EXPECT_EQ(wsinv.body.size(), 150u);
  EXPECT_EQ(wsinv.header("NewFangledHeader"), "newfangled value\r\n continued newfangled value");

  Message intmeth = torture("intmeth");
  EXPECT_EQ(intmeth.method, Method::unknown);
  EXPECT_EQ(intmeth.method_token, "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(intmeth.request_uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(intmeth.request_uri.host, "example.com");
  EXPECT_EQ(intmeth.from.display, "token1~` token2'+_ token3*%!.-");
  EXPECT_EQ(intmeth.from.tag, "_token~1'+`*%!-.");
  EXPECT_EQ(intmeth.call_id, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  EXPECT_EQ(intmeth.to.display.size(), 20u);  // BEL, NUL and DEL kept as quoted pairs

  Message longreq = torture("longreq");
  EXPECT_EQ(longreq.via_count, 34);
  EXPECT_EQ(longreq.top_via.host, "sip33.example.com");
  EXPECT_EQ(*longreq.to.uri.port, 6000);

  EXPECT_EQ(torture("escnull").contact.count, 2);
  Message esc02 = torture("esc02");
  EXPECT_EQ(esc02.contact.count, 2);  // C%6Fntact is another header
  EXPECT_EQ(esc02.method_token, "RE%47IST%45R");
  EXPECT_EQ(torture("semiuri").request_uri.user, "user;par=u%40example.net");
  EXPECT_EQ(torture("transports").via_count, 5);
  EXPECT_EQ(torture("lwsdisp").from.display, "caller");
  EXPECT_EQ(torture("noreason").reason_phrase, "");
  EXPECT_EQ(torture("unreason").status_code, 200);
  Message dblreq = torture("dblreq");
  EXPECT_EQ(dblreq.method, Method::register_);
  EXPECT_EQ(dblreq.body, "");
  EXPECT_TRUE(dblreq.anomalies.has(Anomaly::body_longer_than_content_length));
  EXPECT_EQ(torture("unksm2").to.uri.scheme, "isbn");
  EXPECT_EQ(torture("regaut01").authorization.scheme, "NoOneKnowsThisScheme");
  EXPECT_TRUE(torture("inv2543").anomalies.has(Anomaly::missing_content_length));
}

TEST(SipCorpus, EverySampleParses) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(kData + "/samples")) {
    std::string bytes = read_file(entry.path().string());
    auto r = parse(bytes);
    EXPECT_TRUE(r.ok()) << entry.path();
    if (r.ok()) {
      EXPECT_TRUE(r->anomalies.empty()) << entry.path() << " anomalies " << r->anomalies.bits();
    }
    ++n;
  }
  EXPECT_GE(n, 10);
}

TEST(SipCorpus, SvmapOptions) {
  Message m = sample("svmap_options");
  EXPECT_EQ(m.method, Method::options);
  EXPECT_EQ(m.user_agent, "friendly-scanner");
  EXPECT_EQ(m.from.display, "sipvicious");
  EXPECT_EQ(m.from.uri.host, "1.1.1.1");
  EXPECT_EQ(m.from.tag, "6135653736333538313363340131353036383534373335");
  EXPECT_TRUE(m.top_via.has_rport);
}

TEST(SipCorpus, SvwarRegisterAndInvite) {
  Message reg = sample("svwar_register");
  EXPECT_EQ(reg.method, Method::register_);
  EXPECT_EQ(reg.top_via.host, "127.0.0.1");
  EXPECT_EQ(reg.to.uri.user, "101");
  EXPECT_EQ(reg.user_agent, "friendly-scanner");
  Message inv = sample("svwar_invite");
  EXPECT_EQ(inv.method, Method::invite);
  EXPECT_EQ(inv.request_uri.user, "102");
  EXPECT_FALSE(inv.authorization.present);
}

TEST(SipCorpus, SvcrackRegisterWithCredentials) {
  Message m = sample("svcrack_register_auth");
  EXPECT_TRUE(m.authorization.present);
  EXPECT_EQ(m.authorization.username, "100");
  EXPECT_EQ(m.authorization.realm, "pbxwall-lab");
  EXPECT_EQ(m.authorization.uri, "sip:100@198.51.100.10");
  EXPECT_TRUE(m.authorization.has_response);
  EXPECT_EQ(m.cseq, 2u);
}

TEST(SipCorpus, SippRegister) {
  Message m = sample("sipp_register");
  EXPECT_EQ(*m.expires, 3600u);
  EXPECT_EQ(m.contact.uri.user, "alice");
  EXPECT_FALSE(m.authorization.present);
  Message auth = sample("sipp_register_auth");
  EXPECT_EQ(auth.authorization.username, "alice");
  EXPECT_TRUE(auth.authorization.has_nonce);
}

TEST(SipCorpus, KamailioResponses) {
  Message challenge = sample("kamailio_401");
  EXPECT_EQ(challenge.status_code, 401);
  EXPECT_TRUE(challenge.www_authenticate.present);
  EXPECT_EQ(challenge.www_authenticate.realm, "pbxwall-lab");
  EXPECT_EQ(challenge.www_authenticate.qop, "auth");
  EXPECT_EQ(*challenge.top_via.rport, 5060);
  EXPECT_EQ(challenge.top_via.received, "192.0.2.20");
  Message ok = sample("kamailio_200_register");
  EXPECT_EQ(ok.status_code, 200);
  EXPECT_EQ(*ok.contact.expires, 3600u);
  EXPECT_EQ(ok.cseq_method, Method::register_);
  EXPECT_EQ(sample("kamailio_403").status_code, 403);
  Message not_found = sample("kamailio_404");
  EXPECT_EQ(not_found.status_code, 404);
  EXPECT_EQ(not_found.cseq_method, Method::invite);
}

TEST(SipCorpus, PhoneMessages) {
  Message inv = sample("phone_invite_sdp");
  EXPECT_EQ(inv.request_uri.user, "0044207946000");
  EXPECT_EQ(inv.body.substr(0, 4), "v=0\r");
  EXPECT_EQ(inv.body.size(), *inv.content_length);
  Message v6 = sample("phone_register_ipv6_compact");
  EXPECT_EQ(v6.top_via.host, "2001:db8::20");
  EXPECT_EQ(v6.call_id, "a84b4c76e66710@2001:db8::20");
  EXPECT_EQ(*v6.contact.expires, 600u);
}

}  // namespace
}  // namespace pbxwall::sip
