#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "model/model.h"

namespace pbxwall::model {
namespace {

using ::testing::HasSubstr;

const char* kConfig =
    "# pbxwall configuration for the office PBX\n"
    "[firewall]\n"
    "enabled = true  # on\n"
    "\n"
    "[networks]\n"
    "# head office\n"
    "\"198.51.100.0/24\" = \"trusted\"   # HQ LAN\n"
    "'192.0.2.7' = \"other\" # branch router\n"
    "\n"
    "# keep this comment\n"
    "[services.ssh]\n"
    "zones = [\"local\"]\n";

std::string must(Result<std::string> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
  return r.ok() ? *r : std::string();
}

TEST(SetNetwork, AppendsAfterLastEntryKeepingComments) {
  const auto out = must(set_network(kConfig, "203.0.113.9", Zone::trusted));
  EXPECT_EQ(out,
            "# pbxwall configuration for the office PBX\n"
            "[firewall]\n"
            "enabled = true  # on\n"
            "\n"
            "[networks]\n"
            "# head office\n"
            "\"198.51.100.0/24\" = \"trusted\"   # HQ LAN\n"
            "'192.0.2.7' = \"other\" # branch router\n"
            "\"203.0.113.9\" = \"trusted\"\n"
            "\n"
            "# keep this comment\n"
            "[services.ssh]\n"
            "zones = [\"local\"]\n");
  auto loaded = load_string(out, "t.toml");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->policy.networks.size(), 3u);
}

TEST(SetNetwork, ReplacesTheZoneOfTheSameNetworkKeepingItsComment) {
  // "192.0.2.7/32" denotes the same network as '192.0.2.7'.
  const auto out = must(set_network(kConfig, "192.0.2.7/32", Zone::trusted));
  EXPECT_THAT(out, HasSubstr("'192.0.2.7' = \"trusted\" # branch router\n"));
  EXPECT_EQ(out.size(), std::string(kConfig).size() + 2);  // "other" -> "trusted"
  const auto same = must(set_network(kConfig, "198.51.100.0/24", Zone::trusted));
  EXPECT_EQ(same, kConfig);
}

TEST(SetNetwork, CreatesTheSectionWhenAbsent) {
  const auto out = must(set_network("[firewall]\nenabled = true\n", "pbx.Example.com", Zone::other));
  EXPECT_EQ(out, "[firewall]\nenabled = true\n\n[networks]\n\"pbx.example.com\" = \"other\"\n");
  const auto v6 = must(set_network("", "2001:db8:0:0::/64", Zone::local));
  EXPECT_EQ(v6, "[networks]\n\"2001:db8::/64\" = \"local\"\n");
}

TEST(SetNetwork, EmptySectionGetsTheEntryRightAfterItsHeader) {
  const auto out = must(set_network("[networks]\n# none yet\n[firewall]\n", "192.0.2.1", Zone::local));
  EXPECT_EQ(out, "[networks]\n\"192.0.2.1\" = \"local\"\n# none yet\n[firewall]\n");
}

TEST(SetNetwork, Errors) {
  EXPECT_THAT(set_network(kConfig, "10.0.0.1/8", Zone::local).error(), HasSubstr("not an address"));
  EXPECT_THAT(set_network("networks = { \"192.0.2.1\" = \"local\" }\n", "192.0.2.2", Zone::local).error(),
              HasSubstr("not written as a [networks] section"));
  EXPECT_THAT(set_network("[firewall\n", "192.0.2.2", Zone::local).error(), HasSubstr("does not parse"));
}

TEST(RemoveNetwork, RemovesOnlyTheEntryLine) {
  const auto out = must(remove_network(kConfig, "198.51.100.0/24"));
  EXPECT_EQ(out,
            "# pbxwall configuration for the office PBX\n"
            "[firewall]\n"
            "enabled = true  # on\n"
            "\n"
            "[networks]\n"
            "# head office\n"
            "'192.0.2.7' = \"other\" # branch router\n"
            "\n"
            "# keep this comment\n"
            "[services.ssh]\n"
            "zones = [\"local\"]\n");
  EXPECT_THAT(remove_network(kConfig, "203.0.113.1").error(), HasSubstr("no [networks] entry for 203.0.113.1"));
  // Round trip: trust then untrust gives back the original text.
  EXPECT_EQ(must(remove_network(must(set_network(kConfig, "2001:db8::1", Zone::trusted)), "2001:db8::1")),
            kConfig);
}

class WriteAtomically : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "pbxwall-model-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::filesystem::path dir_;
};

TEST_F(WriteAtomically, KeepsPreviousVersionAsBak) {
  const auto path = (dir_ / "pbxwall.toml").string();
  ASSERT_TRUE(write_atomically(path, "one\n").ok());
  EXPECT_EQ(read(path), "one\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".bak"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(write_atomically(path, "two\n").ok());
  EXPECT_EQ(read(path), "two\n");
  EXPECT_EQ(read(path + ".bak"), "one\n");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);

  ASSERT_TRUE(write_atomically(path, "three\n").ok());
  EXPECT_EQ(read(path), "three\n");
  EXPECT_EQ(read(path + ".bak"), "two\n");
  // No temporary files left behind.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 2u);
}

TEST_F(WriteAtomically, FailsWithThePathWhenTheDirectoryIsMissing) {
  const auto path = (dir_ / "missing" / "pbxwall.toml").string();
  auto st = write_atomically(path, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error(), HasSubstr(path));
}

}  // namespace
}  // namespace pbxwall::model
