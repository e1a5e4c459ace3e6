// Golden files: tests/data/ruleset/<case>.toml (+ optional <case>.state) renders byte for byte
// to <case>.nft. PBXWALL_UPDATE_GOLDEN=1 rewrites the .nft files instead of comparing; review
// the diff before committing. When run as root with nft installed, every golden script is also
// loaded by the kernel inside a private network namespace.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "golden_inputs.h"

namespace pbxwall::ruleset {
namespace {

using testing::read_file;

const std::string kDir = PBXWALL_TEST_DATA "/ruleset/";

// Whether the nftables `queue` statement loads here (checked in a private namespace).
bool kernel_has_nft_queue() {
  return std::system("/usr/bin/unshare --net /bin/sh -c \"nft 'add table inet probe; add chain inet probe c; "
                     "add rule inet probe c meta l4proto udp queue num 0 bypass'\" > /dev/null 2>&1") == 0;
}

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  std::string render_case() {
    const std::string base = kDir + GetParam();
    auto loaded = model::load_file(base + ".toml");
    if (!loaded.ok()) {
      ADD_FAILURE() << loaded.error().front().str();
      return {};
    }
    auto extra = testing::read_extra_inputs(base + ".state");
    RenderInput in{loaded->policy, extra.resolved, extra.discovered, extra.trunks, extra.live,
                   extra.options};
    return render(in);
  }
};

TEST_P(Golden, MatchesFile) {
  const std::string path = kDir + GetParam() + ".nft";
  const std::string rendered = render_case();
  ASSERT_FALSE(rendered.empty());
  const char* update = std::getenv("PBXWALL_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << rendered;
    GTEST_SKIP() << "rewrote " << path;
  }
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing; run with PBXWALL_UPDATE_GOLDEN=1";
  EXPECT_EQ(rendered, read_file(path)) << "rendering of " << GetParam() << " changed; if intended, "
                                       << "rerun with PBXWALL_UPDATE_GOLDEN=1 and review the diff";
}

// Loads the script for real in a private network namespace (it dies with the command, so the
// host's ruleset is never touched): applied over nothing, applied again over itself, removed,
// and removed again, while an unrelated table keeps its rule throughout.
TEST_P(Golden, KernelLoadsReplacesAndRemovesIt) {
  if (::geteuid() != 0 || !std::filesystem::exists("/usr/sbin/nft") ||
      !std::filesystem::exists("/usr/bin/unshare"))
    GTEST_SKIP() << "needs root, /usr/sbin/nft and /usr/bin/unshare";
  const std::string rendered = render_case();
  ASSERT_FALSE(rendered.empty());
  if (rendered.find(" queue num ") != std::string::npos && !kernel_has_nft_queue())
    GTEST_SKIP() << "this kernel does not load the nftables queue statement";
  char dir_template[] = "/tmp/pbxwall-ruleset-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  std::ofstream(dir / "table.nft", std::ios::binary) << rendered;
  std::ofstream(dir / "remove.nft", std::ios::binary) << render_remove();
  std::ofstream(dir / "run.sh") << R"(set -e
nft add table ip bystander
nft add chain ip bystander keep '{ type filter hook input priority 10; policy accept; }'
nft add rule ip bystander keep tcp dport 9 counter
nft -f table.nft
nft -f table.nft
nft list table inet pbxwall > listed.nft
nft -f remove.nft
if nft list table inet pbxwall > /dev/null 2>&1; then echo "table still present"; exit 1; fi
nft -f remove.nft
nft list table ip bystander | grep -q 'tcp dport 9 counter'
)";
  const std::string cmd = "cd " + dir.string() + " && /usr/bin/unshare --net /bin/sh run.sh > log 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string log = read_file((dir / "log").string());
  std::error_code ec;
  const bool listed = std::filesystem::file_size(dir / "listed.nft", ec) > 0 && !ec;
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << "the kernel refused the " << GetParam() << " ruleset:\n" << log;
  EXPECT_TRUE(listed);
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden,
                         ::testing::Values("minimal", "example", "overlapping", "ipv6_only",
                                           "disabled", "reject", "responsive_off",
                                           "custom_services", "live_state", "no_log", "queue",
                                           "external_queue"),
                         [](const auto& case_info) { return case_info.param; });

}  // namespace
}  // namespace pbxwall::ruleset
