// Whole conversations from real messages (tests/data/sip/real: Kamailio, sipp, SIPVicious),
// parsed by the SIP parser and fed through the adapter, as replay and the daemon do.
#include <gmock/gmock.h>

#include <fstream>
#include <sstream>

#include "engine_fixture.h"
#include "iax/iax.h"
#include "sip/sip.h"

namespace pbxwall::responsive::testing {
namespace {

using ::testing::HasSubstr;

const IpAddress kAttacker = addr("192.0.2.66");
const IpAddress kPhoneA = addr("198.51.100.10");
const IpAddress kPhoneB = addr("198.51.100.11");

std::string real(const std::string& name) {
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/sip/real/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string iax_file(const std::string& name) {
  std::ifstream in(std::string(PBXWALL_TEST_DATA) + "/iax/" + name + ".bin", std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string replaced(std::string s, const std::vector<std::pair<std::string, std::string>>& edits) {
  for (const auto& [from, to] : edits)
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  return s;
}

class Scenario : public EngineFixture {
 protected:
  // Parses `text` as one datagram between `remote` and the PBX and feeds it.
  std::vector<Decision> wire(const std::string& text, const IpAddress& remote, Direction dir) {
    auto m = sip::parse(std::string_view(text));
    EXPECT_TRUE(m.ok()) << text;
    if (!m.ok()) return feed(from_sip_error(m.error(), dir == Direction::to_pbx ? to_pbx(remote) : from_pbx(remote)));
    return feed(from_sip(*m, dir == Direction::to_pbx ? to_pbx(remote) : from_pbx(remote)));
  }

  // svwar's REGISTER for `ext` and Kamailio's 404, with the tool's own headers unless `disguise`.
  std::vector<Decision> svwar_probe(int ext, bool disguise) {
    std::vector<std::pair<std::string, std::string>> edits = {{"100", std::to_string(ext)},
                                                              {"4060125004", std::to_string(4060125004LL + ext)}};
    if (disguise) {
      edits.push_back({"friendly-scanner", "Grandstream GXP2170 1.0.11.23"});
      edits.push_back({"127.0.0.1", "192.0.2.66"});
    }
    std::vector<Decision> out;
    append(out, wire(replaced(real("svwar-register.sip"), edits), kAttacker, Direction::to_pbx));
    append(out, wire(replaced(real("kamailio-404-register.sip"), edits), kAttacker, Direction::from_pbx));
    return out;
  }

  // Phone B: REGISTER, challenge, REGISTER with a wrong password, challenge again.
  std::vector<Decision> phone_b_attempt(int n) {
    const std::vector<std::pair<std::string, std::string>> id = {{"1-18345@", std::to_string(n) + "-18345@"}};
    auto first = replaced(real("sipp-register.sip"),
                          {{"300", "333"}, {"18343", "18345"}, {"198.51.100.10", "198.51.100.11"}});
    auto challenge = replaced(real("kamailio-401-wrong-password.sip"), {{"CSeq: 2", "CSeq: 1"}});
    std::vector<Decision> out;
    append(out, wire(replaced(first, id), kPhoneB, Direction::to_pbx));
    append(out, wire(replaced(challenge, id), kPhoneB, Direction::from_pbx));
    append(out, wire(replaced(real("sipp-register-wrong-password.sip"), id), kPhoneB, Direction::to_pbx));
    append(out, wire(replaced(real("kamailio-401-wrong-password.sip"), id), kPhoneB, Direction::from_pbx));
    return out;
  }
};

TEST_F(Scenario, SvwarIsBlockedByItsFirstRequest) {
  std::vector<Decision> ds;
  for (int ext = 100; ext < 120; ++ext) append(ds, svwar_probe(ext, false));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::fingerprint);
  EXPECT_EQ(ds[0].addr, kAttacker);
  EXPECT_EQ(ds[0].reason, "attack tool fingerprint: User-Agent friendly-scanner");
  EXPECT_EQ(engine().source(kAttacker)->packets_while_blocked, 39u);
}

TEST_F(Scenario, DisguisedSvwarIsBlockedByItsBehaviour) {
  std::vector<Decision> ds;
  for (int ext = 100; ext < 120; ++ext) append(ds, svwar_probe(ext, true));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::user_enumeration);
  EXPECT_EQ(ds[0].reason, "4 usernames tried in 1 s: 100, 101, 102, \u2026");
  EXPECT_EQ(engine().source(kAttacker)->requests, 4u) << "blocked at the fourth REGISTER";
}

TEST_F(Scenario, SvcrackWithAnotherUserAgentIsBlockedAtTheThirdGuess) {
  // A fresh Call-ID per guess, 50 ms apart: the third wrong password within a second of the
  // previous one blocks.
  std::vector<Decision> ds;
  for (int guess = 0; guess < 10; ++guess) {
    const std::vector<std::pair<std::string, std::string>> edits = {
        {"friendly-scanner", "Linphone/5.0"}, {"127.0.0.1", "192.0.2.66"}, {"2106418100", std::to_string(2106418100 + guess)}};
    append(ds, wire(replaced(real("svcrack-register-auth.sip"), edits), kAttacker, Direction::to_pbx));
    append(ds, wire(replaced(real("kamailio-401-svcrack-wrong.sip"), edits), kAttacker, Direction::from_pbx));
    advance(50ms);
  }
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::password_guessing);
  EXPECT_EQ(ds[0].user, "301");
  EXPECT_EQ(engine().source(kAttacker)->requests, 3u);
}

TEST_F(Scenario, SippPhoneRegistersAndIsValidated) {
  std::vector<Decision> ds;
  append(ds, wire(real("sipp-register-auth.sip"), kPhoneA, Direction::to_pbx));
  append(ds, wire(real("kamailio-200-register.sip"), kPhoneA, Direction::from_pbx));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
  EXPECT_EQ(ds[0].user, "300");
  EXPECT_EQ(ds[0].until, now() + 60s + 60s) << "Contact expires=60 plus the grace";
}

TEST_F(Scenario, SippPhoneRegisteringFromOutsideItsAllowFromIsBlocked) {
  const std::vector<Cidr> office = {*Cidr::parse("198.51.100.10")};
  reset(Settings{}, nullptr, [&](std::string_view user) {
    return user == "300" ? std::span<const Cidr>(office) : std::span<const Cidr>{};
  });
  std::vector<Decision> ds;
  append(ds, wire(real("sipp-register-auth.sip"), kPhoneB, Direction::to_pbx));
  append(ds, wire(real("kamailio-200-register.sip"), kPhoneB, Direction::from_pbx));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::block);
  EXPECT_EQ(ds[0].rule, Rule::outside_allow_from);
  EXPECT_EQ(ds[0].reason, "extension 300 registered from 198.51.100.11, outside its allow_from 198.51.100.10");
  ds.clear();
  append(ds, wire(real("sipp-register-auth.sip"), kPhoneA, Direction::to_pbx));
  append(ds, wire(real("kamailio-200-register.sip"), kPhoneA, Direction::from_pbx));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
}

TEST_F(Scenario, SippPhoneWithAWrongPasswordEvery20SecondsIsOnlyFlagged) {
  std::vector<Decision> ds;
  for (int n = 1; n <= 180; ++n) {  // one hour
    append(ds, phone_b_attempt(n));
    advance(20s);
  }
  EXPECT_EQ(count(ds, Action::block), 0);
  ASSERT_GE(count(ds, Action::flag), 1);
  EXPECT_EQ(find(ds, Action::flag)->user, "333");
}

TEST_F(Scenario, SippPhoneWithAWrongPasswordEvery2SecondsIsBlocked) {
  std::vector<Decision> ds;
  for (int n = 1; n <= 20; ++n) {
    append(ds, phone_b_attempt(n));
    advance(2s);
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
  EXPECT_THAT(find(ds, Action::block)->reason, HasSubstr("wrong passwords for user 333"));
}

TEST_F(Scenario, StaleNonceChallengesAreNotWrongPasswords) {
  // A phone that reuses its last nonce is re-challenged with stale=true on each refresh: its
  // password was right. Ten in a row must not look like guessing.
  std::vector<Decision> ds;
  for (int n = 1; n <= 10; ++n) {
    const std::vector<std::pair<std::string, std::string>> id = {{"1-18345@", std::to_string(n) + "-18345@"}};
    append(ds, wire(replaced(real("sipp-register-wrong-password.sip"), id), kPhoneB, Direction::to_pbx));
    append(ds, wire(replaced(real("kamailio-401-wrong-password.sip"), {id[0], {"qop=\"auth\"", "qop=\"auth\", stale=TRUE"}}),
                    kPhoneB, Direction::from_pbx));
  }
  EXPECT_TRUE(ds.empty());
}

TEST_F(Scenario, StaleIsReadFromTheChallengeOnly) {
  auto check = [](const std::string& challenge_params) {
    const std::string text = replaced(real("kamailio-401-wrong-password.sip"), {{"qop=\"auth\"", challenge_params}});
    auto m = sip::parse(std::string_view(text));
    EXPECT_TRUE(m.ok());
    auto o = from_sip(*m, from_pbx(kPhoneB));
    return std::get<SipResponse>(o.body).stale_nonce;
  };
  EXPECT_TRUE(check("qop=\"auth\", stale=true"));
  EXPECT_TRUE(check("stale = \"TRUE\", qop=\"auth\""));
  EXPECT_FALSE(check("qop=\"auth\", stale=false"));
  EXPECT_FALSE(check("qop=\"auth\""));
}

TEST_F(Scenario, InviteSweepAgainstKamailio) {
  // svwar -m INVITE with a neutral User-Agent: 404 for unknown targets.
  std::vector<Decision> ds;
  for (int ext = 100; ext < 110; ++ext) {
    const std::vector<std::pair<std::string, std::string>> edits = {{"friendly-scanner", "x"}, {"127.0.0.1", "192.0.2.66"}};
    auto inv = replaced(real("svwar-invite.sip"), edits);
    auto ans = replaced(real("kamailio-404-invite.sip"), edits);
    auto m = sip::parse(std::string_view(inv));
    ASSERT_TRUE(m.ok());
    const std::string user(m->request_uri.user), call(m->call_id);
    const std::vector<std::pair<std::string, std::string>> id = {{call, call + "-" + std::to_string(ext)},
                                                                 {"sip:" + user + "@", "sip:" + std::to_string(ext) + "@"}};
    append(ds, wire(replaced(inv, id), kAttacker, Direction::to_pbx));
    append(ds, wire(replaced(ans, id), kAttacker, Direction::from_pbx));
  }
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].rule, Rule::call_probing);
  EXPECT_EQ(engine().source(kAttacker)->requests, 3u);
}

class IaxScenario : public EngineFixture {
 protected:
  // Parses an IAX2 test frame (tests/data/iax) between `remote` and the PBX and feeds it.
  std::vector<Decision> wire(const std::string& name, const IpAddress& remote, Direction dir) {
    const std::string bytes = iax_file(name);
    PacketMeta m = dir == Direction::to_pbx ? to_pbx(remote) : from_pbx(remote);
    m.sport = m.dport = 4569;
    auto f = iax::parse(std::string_view(bytes));
    if (!f.ok()) return feed(from_iax_error(f.error(), m));
    auto o = from_iax(*f, m);
    if (!o) {
      ++ignored;
      return {};
    }
    return feed(*o);
  }
  int ignored = 0;
};

TEST_F(IaxScenario, ChanIax2RegistrationValidates) {
  const IpAddress peer = addr("192.0.2.20");
  std::vector<Decision> ds;
  append(ds, wire("regreq", peer, Direction::to_pbx));
  append(ds, wire("regauth", peer, Direction::from_pbx));
  append(ds, wire("regreq_md5", peer, Direction::to_pbx));
  append(ds, wire("regack", peer, Direction::from_pbx));
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
  EXPECT_EQ(ds[0].user, "100");
  EXPECT_EQ(ds[0].until, now() + 60s + 60s) << "REFRESH 60 plus the grace";
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
}

TEST_F(IaxScenario, AuthenticatedCallMediaAndBrokenFrames) {
  const IpAddress peer = addr("192.0.2.21");
  std::vector<Decision> ds;
  for (const char* name : {"new", "authreq", "authrep", "accept"})
    append(ds, wire(name, peer, std::string(name) == "new" || std::string(name) == "authrep" ? Direction::to_pbx : Direction::from_pbx));
  EXPECT_TRUE(ds.empty());
  EXPECT_EQ(engine().counters().unmatched_responses, 0u);
  wire("mini_voice", peer, Direction::to_pbx);
  wire("meta_trunk", peer, Direction::to_pbx);
  EXPECT_EQ(ignored, 2) << "media frames are not observations";
  wire("invalid_truncated_ie", peer, Direction::to_pbx);
  wire("lagrq", peer, Direction::to_pbx);
  const auto c = engine().counters();
  EXPECT_EQ(c.observations[static_cast<int>(ObservationKind::malformed)], 1u);
  EXPECT_EQ(c.retransmissions, 1u) << "the LAGRQ frame has its R bit set";
}

TEST_F(IaxScenario, SecondUnauthenticatedInternationalCallIsProbing) {
  // The test call dials 0044207946000 and its credentials are rejected: the second such call
  // from a source that never authenticated is a toll-fraud probe.
  const IpAddress peer = addr("192.0.2.22");
  std::vector<Decision> ds;
  for (int i = 0; i < 4; ++i) {
    append(ds, wire("new", peer, Direction::to_pbx));
    append(ds, wire("authreq", peer, Direction::from_pbx));
    append(ds, wire("authrep", peer, Direction::to_pbx));
    append(ds, wire("reject", peer, Direction::from_pbx));
  }
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::call_probing);
  EXPECT_EQ(engine().source(peer)->requests, 3u) << "NEW, AUTHREP, then the second NEW";
}

}  // namespace
}  // namespace pbxwall::responsive::testing
