// Golden files: tests/data/ruleset/<case>.toml (+ optional <case>.state) renders byte for byte
// to <case>.nft. PBXWALL_UPDATE_GOLDEN=1 rewrites the .nft files instead of comparing; review
// the diff before committing. When run as root with nft installed, every golden script is also
// checked by the kernel (`nft -c`) inside a private network namespace.
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

TEST_P(Golden, KernelAcceptsIt) {
  if (::geteuid() != 0 || !std::filesystem::exists("/usr/sbin/nft") ||
      !std::filesystem::exists("/usr/bin/unshare"))
    GTEST_SKIP() << "needs root, /usr/sbin/nft and /usr/bin/unshare";
  const std::string rendered = render_case();
  ASSERT_FALSE(rendered.empty());
  char script[] = "/tmp/pbxwall-ruleset-XXXXXX";
  const int fd = ::mkstemp(script);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, rendered.data(), rendered.size()), static_cast<ssize_t>(rendered.size()));
  ::close(fd);
  const std::string log = std::string(script) + ".log";
  // A private network namespace that dies with the command: the host's ruleset is never touched.
  const std::string cmd = std::string("/usr/bin/unshare --net /usr/sbin/nft -c -f ") + script +
                          " > " + log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  const std::string output = read_file(log);
  ::unlink(script);
  ::unlink(log.c_str());
  EXPECT_EQ(rc, 0) << "nft -c rejected the " << GetParam() << " ruleset:\n" << output;
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden,
                         ::testing::Values("minimal", "example", "overlapping", "ipv6_only",
                                           "disabled", "reject", "responsive_off",
                                           "custom_services", "live_state", "no_log"),
                         [](const auto& case_info) { return case_info.param; });

}  // namespace
}  // namespace pbxwall::ruleset
