#include "crowdsec/settings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace pbxwall::crowdsec {
namespace {

class CrowdsecSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pbxwall-crowdsec-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    write("bouncer.key", "0123456789abcdef\n", 0600);
    write("machine.secret", "s3cret-password\n", 0640);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& name, const std::string& text, mode_t mode) {
    std::ofstream(dir_ / name) << text;
    ::chmod((dir_ / name).c_str(), mode);
  }
  Result<CrowdsecSettings, Diagnostics> parse(const std::string& text) {
    auto t = toml::parse(text, (dir_ / "pbxwall.toml").string());
    return crowdsec_settings_from_toml(t, (dir_ / "pbxwall.toml").string());
  }
  static std::string all(const Diagnostics& ds) {
    std::string s;
    for (const auto& d : ds) s += d.str() + "\n";
    return s;
  }
  std::filesystem::path dir_;
};

TEST_F(CrowdsecSettingsTest, AbsentIsDisabled) {
  auto s = parse("[firewall]\n");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->enabled);
  EXPECT_FALSE(s->pulls());
  EXPECT_FALSE(s->pushes());
}

TEST_F(CrowdsecSettingsTest, BothHalves) {
  auto s = parse(R"([crowdsec]
url = "http://127.0.0.1:8080/"
bouncer_key_file = "bouncer.key"
machine_id = "pbx-a"
password_file = "machine.secret"
pull_interval = "1s"
scenarios_not_containing = ["ssh"]
origins = ["crowdsec", "cscli", "pbxwall"]
)");
  ASSERT_TRUE(s.ok()) << all(s.error());
  EXPECT_EQ(s->url, "http://127.0.0.1:8080");
  EXPECT_EQ(s->bouncer_key, "0123456789abcdef");
  EXPECT_EQ(s->password, "s3cret-password");
  EXPECT_EQ(s->pull_interval, std::chrono::seconds(1));
  EXPECT_EQ(s->filter.origins.size(), 3u);
  EXPECT_TRUE(s->pulls());
  EXPECT_TRUE(s->pushes());
}

TEST_F(CrowdsecSettingsTest, EitherHalfAlone) {
  auto pull = parse("[crowdsec]\nurl = \"http://192.0.2.1:8080\"\nbouncer_key_file = \"bouncer.key\"\n");
  ASSERT_TRUE(pull.ok()) << all(pull.error());
  EXPECT_TRUE(pull->pulls());
  EXPECT_FALSE(pull->pushes());
  EXPECT_EQ(pull->pull_interval, std::chrono::seconds(10));
  auto push = parse("[crowdsec]\nurl = \"https://lapi.example:8080\"\nmachine_id = \"a\"\npassword_file = \"machine.secret\"\n");
  ASSERT_TRUE(push.ok()) << all(push.error());
  EXPECT_FALSE(push->pulls());
  EXPECT_TRUE(push->pushes());
}

TEST_F(CrowdsecSettingsTest, SecretReadableByOthersIsRefusedAndNotPrinted) {
  write("open.key", "leaky-key-value\n", 0644);
  auto s = parse("[crowdsec]\nurl = \"http://127.0.0.1:8080\"\nbouncer_key_file = \"open.key\"\n");
  ASSERT_FALSE(s.ok());
  const std::string text = all(s.error());
  EXPECT_NE(text.find("pbxwall.toml:3:20: error: crowdsec.bouncer_key_file:"), std::string::npos) << text;
  EXPECT_NE(text.find("mode 0644"), std::string::npos) << text;
  EXPECT_EQ(text.find("leaky-key-value"), std::string::npos) << text;
}

TEST_F(CrowdsecSettingsTest, EveryMistakeAtItsPlace) {
  auto s = parse(R"([crowdsec]
url = "127.0.0.1:8080"
machine_id = "pbx-a"
pull_interval = "fast"
origins = "cscli"
colour = "blue"
bouncer_key_file = "missing.key"
)");
  ASSERT_FALSE(s.ok());
  const std::string text = all(s.error());
  for (const char* expected :
       {":2:7: error: crowdsec.url: expected http://", ":3:14: error: crowdsec.password_file: missing",
        ":4:17: error: crowdsec.pull_interval:", ":5:11: error: crowdsec.origins: expected an array",
        ":6:10: error: crowdsec.colour: unknown key", ":7:20: error: crowdsec.bouncer_key_file: cannot read"})
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
}

TEST_F(CrowdsecSettingsTest, NothingToDoIsAnError) {
  auto s = parse("[crowdsec]\nurl = \"http://127.0.0.1:8080\"\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(all(s.error()).find("crowdsec.bouncer_key_file: missing"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::crowdsec
