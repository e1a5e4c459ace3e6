// Rule 11: an extension that registers (the PBX accepts its credentials) from outside its
// allow_from networks gets its source blocked instead of validated.
#include <gmock/gmock.h>

#include <map>

#include "engine_fixture.h"

namespace pbxwall::responsive::testing {
namespace {

const IpAddress kOffice = addr("198.51.100.7");
const IpAddress kElsewhere = addr("203.0.113.9");

class AllowFromRule : public EngineFixture {
 protected:
  AllowFromRule() { use_lists(); }

  void use_lists(Engine::NeverBlock nb = nullptr) {
    reset(Settings{}, std::move(nb), [this](std::string_view user) -> std::span<const Cidr> {
      ++lookups_;
      const auto it = lists_.find(user);
      return it == lists_.end() ? std::span<const Cidr>{} : std::span<const Cidr>(it->second);
    });
  }
  static std::vector<Cidr> nets(std::initializer_list<const char*> texts) {
    std::vector<Cidr> out;
    for (const char* t : texts) out.push_back(*Cidr::parse(t));
    return out;
  }
  std::uint64_t decisions_of(Rule r) const { return engine_->counters().decisions[static_cast<std::size_t>(r)]; }

  // IAX2: REGREQ → REGAUTH → REGREQ with MD5 → REGACK.
  std::vector<Decision> iax_registration(const IpAddress& remote, std::string_view user, std::uint16_t call) {
    auto frame = [&](Direction dir, IaxCommand c, std::uint16_t scall, std::uint16_t dcall, bool md5) {
      IaxFrame f;
      f.command = c;
      f.source_call = scall;
      f.dest_call = dcall;
      f.username = user;
      f.has_md5_result = md5;
      f.refresh = 60;
      PacketMeta m = dir == Direction::to_pbx ? to_pbx(remote) : from_pbx(remote);
      m.sport = m.dport = 4569;
      return feed(Observation{m, f});
    };
    std::vector<Decision> out;
    append(out, frame(Direction::to_pbx, IaxCommand::regreq, call, 0, false));
    append(out, frame(Direction::from_pbx, IaxCommand::regauth, 900, call, false));
    append(out, frame(Direction::to_pbx, IaxCommand::regreq, call, 900, true));
    append(out, frame(Direction::from_pbx, IaxCommand::regack, 900, call, false));
    return out;
  }

  std::map<std::string, std::vector<Cidr>, std::less<>> lists_{{"301", nets({"198.51.100.0/24"})}};
  int lookups_ = 0;
};

TEST_F(AllowFromRule, RegistrationFromInsideTheListValidates) {
  auto ds = register_cycle(kOffice, "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::validate);
  EXPECT_EQ(ds[0].rule, Rule::registration);
  EXPECT_EQ(ds[0].user, "301");
  EXPECT_EQ(decisions_of(Rule::outside_allow_from), 0u);
}

TEST_F(AllowFromRule, RegistrationFromOutsideBlocksWithoutValidating) {
  auto ds = register_cycle(kElsewhere, "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  const Decision& d = ds[0];
  EXPECT_EQ(d.action, Action::block);
  EXPECT_EQ(d.rule, Rule::outside_allow_from);
  EXPECT_EQ(d.addr, kElsewhere);
  EXPECT_EQ(d.user, "301");
  EXPECT_EQ(d.reason, "extension 301 registered from 203.0.113.9, outside its allow_from 198.51.100.0/24");
  EXPECT_EQ(d.until, now() + Settings{}.block_ladder[0]);  // first step of the ladder
  EXPECT_FALSE(d.network.has_value());

  const auto view = engine().source(kElsewhere);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->state, SourceState::blocked);
  EXPECT_EQ(view->last_rule, Rule::outside_allow_from);
  EXPECT_TRUE(view->user.empty());
  EXPECT_EQ(decisions_of(Rule::outside_allow_from), 1u);
  EXPECT_EQ(decisions_of(Rule::registration), 0u);

  // Its next registration is ignored while blocked: no validation sneaks in.
  EXPECT_TRUE(register_cycle(kElsewhere, "301", 200, 3600).empty());
  EXPECT_GT(engine().counters().while_blocked, 0u);
}

TEST_F(AllowFromRule, OnlyTheExtensionWithAListIsRestricted) {
  EXPECT_EQ(count(register_cycle(kElsewhere, "302", 200, 3600), Action::validate), 1);
  reset();  // no lists at all: anywhere, as before the rule
  EXPECT_EQ(count(register_cycle(kElsewhere, "301", 200, 3600), Action::validate), 1);
}

TEST_F(AllowFromRule, AnEmptyListMeansAnywhere) {
  lists_["301"] = {};
  EXPECT_EQ(count(register_cycle(kElsewhere, "301", 200, 3600), Action::validate), 1);
}

TEST_F(AllowFromRule, SeveralNetworksAndHostAddresses) {
  lists_["301"] = nets({"192.0.2.0/28", "198.51.100.7"});
  EXPECT_EQ(count(register_cycle(kOffice, "301", 200, 3600), Action::validate), 1);
  auto ds = register_cycle(addr("198.51.100.8"), "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].reason, "extension 301 registered from 198.51.100.8, outside its allow_from 192.0.2.0/28, 198.51.100.7");
}

TEST_F(AllowFromRule, ALongListIsShortenedInTheReason) {
  lists_["301"] = nets({"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"});
  auto ds = register_cycle(kElsewhere, "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].reason,
            "extension 301 registered from 203.0.113.9, outside its allow_from 192.0.2.1, 192.0.2.2, 192.0.2.3, "
            "192.0.2.4, \u2026");
}

TEST_F(AllowFromRule, IPv6Networks) {
  lists_["301"] = nets({"2001:db8:1::/48"});
  EXPECT_EQ(count(register_cycle(addr("2001:db8:1:5::20"), "301", 200, 3600), Action::validate), 1);
  auto ds = register_cycle(addr("2001:db8:2::20"), "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].action, Action::block);
  EXPECT_EQ(ds[0].reason, "extension 301 registered from 2001:db8:2::20, outside its allow_from 2001:db8:1::/48");
  // An IPv4 source is outside an IPv6-only list.
  EXPECT_EQ(count(register_cycle(kOffice, "301", 200, 3600), Action::block), 1);
}

TEST_F(AllowFromRule, FailedRegistrationsFromOutsideAreLeftToTheOtherRules) {
  // A wrong password proves nothing leaked: rule 11 stays out, rule 3 counts as usual.
  EXPECT_TRUE(register_cycle(kElsewhere, "301", 403).empty());
  EXPECT_EQ(decisions_of(Rule::outside_allow_from), 0u);
  std::vector<Decision> ds;
  for (int i = 0; i < 4; ++i) append(ds, register_cycle(kElsewhere, "301", 403));
  ASSERT_EQ(count(ds, Action::block), 1);
  EXPECT_EQ(find(ds, Action::block)->rule, Rule::password_guessing);
}

TEST_F(AllowFromRule, OnlyCredentialedRegistersAskForTheList) {
  // A scanner's probes without credentials cost no lookups.
  for (int i = 0; i < 3; ++i) probe(kElsewhere, "301", 401);
  EXPECT_EQ(lookups_, 0);
  register_cycle(kOffice, "301", 200, 3600);
  EXPECT_EQ(lookups_, 1);
}

TEST_F(AllowFromRule, AValidatedSourceRegisteringAnotherExtensionFromOutsideLosesItsValidation) {
  ASSERT_EQ(count(register_cycle(kElsewhere, "302", 200, 3600), Action::validate), 1);
  auto ds = register_cycle(kElsewhere, "301", 200, 3600);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].action, Action::forget);
  EXPECT_EQ(ds[0].user, "302");
  EXPECT_EQ(ds[0].rule, Rule::outside_allow_from);
  EXPECT_EQ(ds[1].action, Action::block);
  EXPECT_EQ(ds[1].rule, Rule::outside_allow_from);
}

TEST_F(AllowFromRule, BlockedAgainClimbsTheLadder) {
  register_cycle(kElsewhere, "301", 200, 3600);
  advance(Settings{}.block_ladder[0] + 1s);
  auto ds = register_cycle(kElsewhere, "301", 200, 3600);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds[0].until, now() + Settings{}.block_ladder[1]);
  EXPECT_THAT(ds[0].reason, ::testing::EndsWith("(blocked again within 24 h)"));
}

TEST_F(AllowFromRule, NeverBlockSourcesAreNeitherBlockedNorValidated) {
  use_lists([](const IpAddress& a) { return a == kElsewhere; });
  EXPECT_TRUE(register_cycle(kElsewhere, "301", 200, 3600).empty());
  EXPECT_EQ(engine().counters().never_block_spared, 1u);
  const auto view = engine().source(kElsewhere);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->state, SourceState::none);
}

TEST_F(AllowFromRule, IaxRegackFromOutsideBlocks) {
  lists_["iaxphone"] = nets({"198.51.100.0/24"});
  auto inside = iax_registration(kOffice, "iaxphone", 11);
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside[0].action, Action::validate);
  auto outside = iax_registration(kElsewhere, "iaxphone", 12);
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_EQ(outside[0].action, Action::block);
  EXPECT_EQ(outside[0].rule, Rule::outside_allow_from);
  EXPECT_EQ(outside[0].reason, "extension iaxphone registered from 203.0.113.9, outside its allow_from 198.51.100.0/24");
}

// The PBX's own word (AMI ContactStatus / PeerStatus) goes through registration_allowed.
TEST_F(AllowFromRule, RegistrationsReportedByThePbx) {
  std::vector<Decision> out;
  EXPECT_TRUE(engine().registration_allowed(kOffice, now(), "301", out));
  EXPECT_TRUE(engine().registration_allowed(kElsewhere, now(), "302", out));
  EXPECT_TRUE(out.empty());

  EXPECT_FALSE(engine().registration_allowed(kElsewhere, now(), "301", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action, Action::block);
  EXPECT_EQ(out[0].rule, Rule::outside_allow_from);
  EXPECT_EQ(out[0].reason, "extension 301 registered from 203.0.113.9, outside its allow_from 198.51.100.0/24");
  EXPECT_EQ(engine().source(kElsewhere)->state, SourceState::blocked);

  // Reported again while blocked: still refused, no second decision.
  out.clear();
  EXPECT_FALSE(engine().registration_allowed(kElsewhere, now() + 1s, "301", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(decisions_of(Rule::outside_allow_from), 1u);
}

TEST_F(AllowFromRule, RegistrationReportedByThePbxForAValidatedSourceForgetsFirst) {
  ASSERT_TRUE(engine().restore_validation(kElsewhere, now(), "302", now() + 1h));
  std::vector<Decision> out;
  EXPECT_FALSE(engine().registration_allowed(kElsewhere, now(), "301", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].action, Action::forget);
  EXPECT_EQ(out[1].action, Action::block);
}

TEST_F(AllowFromRule, RegistrationReportedByThePbxFromANeverBlockSource) {
  use_lists([](const IpAddress& a) { return a == kElsewhere; });
  std::vector<Decision> out;
  EXPECT_FALSE(engine().registration_allowed(kElsewhere, now(), "301", out));
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine().counters().never_block_spared, 1u);
  EXPECT_FALSE(engine().source(kElsewhere).has_value());
}

TEST(AllowFromRuleName, IsKeptByName) {
  EXPECT_STREQ(rule_name(Rule::outside_allow_from), "outside-allow-from");
  EXPECT_EQ(rule_from_name("outside-allow-from"), Rule::outside_allow_from);
}

}  // namespace
}  // namespace pbxwall::responsive::testing
