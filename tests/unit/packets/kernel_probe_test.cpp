#include "packets/kernel_probe.h"

#include <gtest/gtest.h>

namespace pbxwall::packets {
namespace {

TEST(KernelProbe, LoadsAndDeletesTheProbeTableInOneScript) {
  kernel::DryRunApplier applier;
  auto answer = probe_queue_support(applier);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->supported);
  ASSERT_EQ(applier.applied.size(), 1u);
  const std::string& script = applier.applied[0];
  EXPECT_NE(script.find("queue num 0 bypass"), std::string::npos);
  // The table is declared once and the script ends by deleting it.
  const std::string tail = "delete table inet pbxwall_probe\n";
  EXPECT_EQ(script.substr(script.size() - tail.size()), tail);
  EXPECT_EQ(script.find("pbxwall "), std::string::npos);  // never touches the real table
  EXPECT_EQ(script.find("hook"), std::string::npos);      // no packet can reach the rule
}

TEST(KernelProbe, MissingExpressionMeansUnsupported) {
  kernel::DryRunApplier applier;
  applier.fail_next = "ruleset:5:22-26: Error: Could not process rule: No such file or directory";
  auto answer = probe_queue_support(applier);
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(answer->supported);
  EXPECT_NE(answer->detail.find("No such file"), std::string::npos);
}

TEST(KernelProbe, OtherFailuresAreErrors) {
  kernel::DryRunApplier applier;
  applier.fail_next = "Error: Could not process rule: Operation not permitted";
  auto answer = probe_statement_support(applier, "log group 3");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().find("log group 3"), std::string::npos);
  EXPECT_NE(answer.error().find("not permitted"), std::string::npos);
}

}  // namespace
}  // namespace pbxwall::packets
