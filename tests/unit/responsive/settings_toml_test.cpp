// [responsive] in pbxwall.toml: defaults, overrides, and located errors.
#include <gmock/gmock.h>

#include "responsive/settings_toml.h"

namespace pbxwall::responsive {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Result<Settings, Diagnostics> load(std::string_view text) {
  static toml::table doc;  // the section must outlive the call; keep the last document
  doc = toml::parse(text, std::string_view("pbxwall.toml"));
  const toml::table* section = doc["responsive"].as_table();
  static const toml::table empty;
  return settings_from_toml(section ? *section : empty, "pbxwall.toml");
}

TEST(SettingsToml, EmptySectionGivesTheDefaults) {
  auto s = load("[responsive]\n");
  ASSERT_TRUE(s.ok());
  const Settings d;
  EXPECT_EQ(s->max_sources, d.max_sources);
  EXPECT_EQ(s->fingerprints, d.fingerprints);
  EXPECT_EQ(s->guessing.count, 4u);
  EXPECT_EQ(s->guessing.window, 60s);
  EXPECT_EQ(s->block_ladder, d.block_ladder);
  EXPECT_EQ(validate(*s), "");
}

TEST(SettingsToml, KeysReadElsewhereAreLeftToTheirReaders) {
  auto s = load("[responsive]\nenabled = true\nprotocols = [\"sip\"]\npacket_path = \"log\"\nqueue_num = 3\n");
  ASSERT_TRUE(s.ok()) << s.error().front().str();
  auto bad = load("[responsive]\npacket_pat = \"log\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().front().str(), HasSubstr("known: enabled, protocols, packet_path, queue_num,"));
}

TEST(SettingsToml, EveryKeyOverrides) {
  auto s = load(R"([responsive]
enabled = true
protocols = ["sip"]
max_sources = 5000
extra_fingerprints = ["evil-dialer"]
fingerprint_loopback_via = false
fingerprint_block = "2d"
enumeration_users = 6
enumeration_window = "2m"
enumeration_unanswered = 20
enumeration_ignored = 6
challenge_answer_time = "50ms"
guessing_failures = 5
guessing_window = 90
probing_destinations = 4
probing_international = 3
international_prefixes = ["00", "+"]
flood_requests = 100
flood_window = "10s"
registration_grace = "0s"
default_registration = "30m"
misconfigured_after = 5
reflag_interval = "6h"
block_ladder = ["10m", "1h30m", "3d"]
escalation_memory = "48h"
guessing_fast_failures = 4
guessing_fast_gap = "500ms"
flood_port_requests = 20
flood_port_window = "10s"
extension_alarm_sources = 8
extension_alarm_window = "30m"
extension_alarm_hold = "2h"
)");
  ASSERT_TRUE(s.ok()) << s.error().front().str();
  EXPECT_EQ(s->max_sources, 5000u);
  EXPECT_EQ(s->fingerprints.size(), default_fingerprints().size() + 1);
  EXPECT_EQ(s->fingerprints.back(), "evil-dialer");
  EXPECT_FALSE(s->fingerprint_loopback_via);
  EXPECT_EQ(s->fingerprint_block, 48h);
  EXPECT_EQ(s->enumeration.count, 6u);
  EXPECT_EQ(s->enumeration.window, 120s);
  EXPECT_EQ(s->enumeration_unanswered, 20u);
  EXPECT_EQ(s->enumeration_ignored, 6u);
  EXPECT_EQ(s->challenge_answer_time, 50ms);
  EXPECT_EQ(s->guessing.count, 5u);
  EXPECT_EQ(s->guessing.window, 90s);
  EXPECT_EQ(s->probing_destinations, 4u);
  EXPECT_EQ(s->probing_international, 3u);
  EXPECT_EQ(s->international_prefixes, (std::vector<std::string>{"00", "+"}));
  EXPECT_EQ(s->flood.count, 100u);
  EXPECT_EQ(s->flood.window, 10s);
  EXPECT_EQ(s->registration_grace, 0s);
  EXPECT_EQ(s->default_registration, 30min);
  EXPECT_EQ(s->misconfigured_after, 5u);
  EXPECT_EQ(s->reflag_interval, 6h);
  EXPECT_EQ(s->block_ladder, (std::vector<Duration>{10min, 90min, 72h}));
  EXPECT_EQ(s->escalation_memory, 48h);
  EXPECT_EQ(s->guessing_fast_failures, 4u);
  EXPECT_EQ(s->guessing_fast_gap, 500ms);
  EXPECT_EQ(s->flood_port.count, 20u);
  EXPECT_EQ(s->flood_port.window, 10s);
  EXPECT_EQ(s->extension_alarm_sources, 8u);
  EXPECT_EQ(s->extension_alarm_window, 30min);
  EXPECT_EQ(s->extension_alarm_hold, 2h);
}

TEST(SettingsToml, BehaviourRulesCanBeTurnedOffButNotHalfWay) {
  auto off = load("[responsive]\nguessing_fast_failures = 0\nextension_alarm_sources = 0\n");
  ASSERT_TRUE(off.ok()) << off.error().front().str();
  EXPECT_EQ(off->guessing_fast_failures, 0u);
  EXPECT_EQ(off->extension_alarm_sources, 0u);
  auto bad = load("[responsive]\nguessing_fast_failures = 1\nextension_alarm_sources = 9\n");
  ASSERT_FALSE(bad.ok());
  ASSERT_EQ(bad.error().size(), 2u);
  EXPECT_EQ(bad.error()[0].str(), "pbxwall.toml:2:26: error: responsive.guessing_fast_failures: must be 0 (off) or between 2 and 255");
  EXPECT_EQ(bad.error()[1].str(), "pbxwall.toml:3:27: error: responsive.extension_alarm_sources: must be between 0 and 8");
}

TEST(SettingsToml, IgnoredChallengesCanBeTurnedOffAndTheAnswerTimeIsBounded) {
  auto off = load("[responsive]\nenumeration_ignored = 0\nchallenge_answer_time = 0\n");
  ASSERT_TRUE(off.ok()) << off.error().front().str();
  EXPECT_EQ(off->enumeration_ignored, 0u);
  EXPECT_EQ(off->challenge_answer_time, Duration(0));
  auto bad = load("[responsive]\nenumeration_ignored = -1\nchallenge_answer_time = \"11s\"\n");
  ASSERT_FALSE(bad.ok());
  ASSERT_EQ(bad.error().size(), 2u);
  EXPECT_EQ(bad.error()[0].str(), "pbxwall.toml:2:23: error: responsive.enumeration_ignored: must be between 0 and 10000");
  EXPECT_EQ(bad.error()[1].str(), "pbxwall.toml:3:25: error: responsive.challenge_answer_time: must be at most 10s");
}

TEST(SettingsToml, ErrorsNameFileLineColumnAndKey) {
  auto s = load("[responsive]\nguessing_failures = 0\nflood_window = \"5 parsecs\"\nblock_ladder = []\nbogus = 1\n");
  ASSERT_FALSE(s.ok());
  const auto& e = s.error();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].str(), "pbxwall.toml:2:21: error: responsive.guessing_failures: must be between 1 and 10000");
  EXPECT_THAT(e[1].str(), HasSubstr("pbxwall.toml:3:16: error: responsive.flood_window: bad duration '5 parsecs'"));
  EXPECT_THAT(e[2].str(), HasSubstr("pbxwall.toml:4:16: error: responsive.block_ladder: expected a non-empty array"));
  EXPECT_THAT(e[3].str(), HasSubstr("pbxwall.toml:5:1: error: responsive.bogus: unknown key (known: enabled, protocols,"));
}

TEST(SettingsToml, WrongTypesAreReported) {
  auto s = load("[responsive]\nfingerprints = \"sipvicious\"\nfingerprint_loopback_via = 1\nmax_sources = \"many\"\n"
                "extra_fingerprints = [\"ok\", 3]\n");
  ASSERT_FALSE(s.ok());
  const auto& e = s.error();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_THAT(e[0].str(), HasSubstr("responsive.fingerprints: expected an array of strings"));
  EXPECT_THAT(e[1].str(), HasSubstr("responsive.fingerprint_loopback_via: expected true or false"));
  EXPECT_THAT(e[2].str(), HasSubstr("responsive.max_sources: expected an integer"));
  EXPECT_THAT(e[3].str(), HasSubstr("pbxwall.toml:5:29: error: responsive.extra_fingerprints[1]: expected a string"));
}

TEST(SettingsToml, ZeroDurationsWhereTheyMakeNoSense) {
  auto s = load("[responsive]\nguessing_window = \"0s\"\n");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error()[0].str(), HasSubstr("responsive.guessing_window: must be positive"));
}

}  // namespace
}  // namespace pbxwall::responsive
