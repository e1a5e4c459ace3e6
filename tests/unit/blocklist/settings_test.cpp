#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "blocklist/blocklist.h"

namespace pbxwall::blocklist {
namespace {

class BlocklistSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("pbxwall-blocklist-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "apiban.key") << "0123456789abcdef\n";
    ::chmod((dir_ / "apiban.key").c_str(), 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string config() const { return (dir_ / "pbxwall.toml").string(); }
  Result<std::vector<Source>, Diagnostics> parse(const std::string& text) {
    auto t = toml::parse(text, config());
    return sources_from_toml(t, config());
  }
  static std::string all(const Diagnostics& ds) {
    std::string s;
    for (const auto& d : ds) s += d.str() + "\n";
    return s;
  }
  std::filesystem::path dir_;
};

TEST_F(BlocklistSettingsTest, NoneIsAnEmptyList) {
  auto r = parse("[networks]\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST_F(BlocklistSettingsTest, FileAndUrlListsWithDefaults) {
  auto r = parse(R"([[blocklists]]
name = "voipbl"
url = "https://voipbl.org/update/"

[[blocklists]]
name = "own"
file = "lists/own.txt"
refresh = "15m"

[[blocklists]]
name = "apiban"
url = "https://apiban.org/api"
format = "apiban"
key_file = "apiban.key"
refresh = "5m"
)");
  ASSERT_TRUE(r.ok()) << all(r.error());
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].name, "voipbl");
  EXPECT_EQ((*r)[0].url, "https://voipbl.org/update");
  EXPECT_EQ((*r)[0].format, Format::plain);
  EXPECT_EQ((*r)[0].refresh, std::chrono::hours(1));
  EXPECT_EQ((*r)[1].file, (dir_ / "lists/own.txt").string());
  EXPECT_EQ((*r)[1].refresh, std::chrono::minutes(15));
  EXPECT_EQ((*r)[2].format, Format::apiban);
  EXPECT_EQ((*r)[2].key, "0123456789abcdef");
  EXPECT_EQ((*r)[2].where(), "https://apiban.org/api");
}

TEST_F(BlocklistSettingsTest, EveryMistakeNamesItsKeyAndLine) {
  auto r = parse(R"([[blocklists]]
name = "Bad_Name"
file = "a.txt"

[[blocklists]]
name = "x"
file = "a.txt"
url = "https://example.org/list"

[[blocklists]]
name = "y"

[[blocklists]]
name = "z"
url = "ftp://example.org/list"
format = "csv"
refresh = "10s"
colour = "red"

[[blocklists]]
name = "z"
file = "b.txt"
)");
  ASSERT_FALSE(r.ok());
  const auto text = all(r.error());
  EXPECT_NE(text.find("pbxwall.toml:2:8: error: blocklists[0].name: expected up to 16 characters"), std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[1].url: give either file or url, not both"), std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[2].file: missing: file (a local list) or url"), std::string::npos) << text;
  EXPECT_NE(text.find(":15:7: error: blocklists[3].url: expected http://... or https://..."), std::string::npos) << text;
  EXPECT_NE(text.find(":16:10: error: blocklists[3].format: expected \"plain\" or \"apiban\", got \"csv\""), std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[3].refresh: expected a duration from \"1m\" to \"7d\""), std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[3].colour: unknown key"), std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[4].name: another blocklist is already called \"z\""), std::string::npos) << text;
}

TEST_F(BlocklistSettingsTest, KeyFileOnlyForApibanAndNeverReadableByOthers) {
  ::chmod((dir_ / "apiban.key").c_str(), 0644);
  auto r = parse(R"([[blocklists]]
name = "apiban"
url = "https://apiban.org/api"
format = "apiban"
key_file = "apiban.key"

[[blocklists]]
name = "plain"
url = "https://example.org/list"
key_file = "apiban.key"
)");
  ASSERT_FALSE(r.ok());
  const auto text = all(r.error());
  EXPECT_NE(text.find("blocklists[0].key_file: " + (dir_ / "apiban.key").string() + " may be read or written by any user"),
            std::string::npos) << text;
  EXPECT_NE(text.find("blocklists[1].key_file: only an apiban list fetched from a url has a key"), std::string::npos) << text;
  EXPECT_EQ(text.find("0123456789abcdef"), std::string::npos) << "the key is never printed";
}

TEST_F(BlocklistSettingsTest, NotAListOfTables) {
  auto r = parse("blocklists = \"voipbl\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all(r.error()).find("blocklists: expected a list of tables"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::blocklist
