#include "packets/kernel_probe.h"

#include <gtest/gtest.h>

namespace pbxwall::packets {
namespace {

TEST(KernelProbe, LoadsAndDeletesTheProbeTableInOneScript) {
  kernel::DryRunApplier applier;
  auto answer = probe_queue_support(applier, 1);
  ASSERT_TRUE(answer.ok());
  EXPECT_TRUE(answer->supported);
  ASSERT_EQ(applier.applied.size(), 1u);
  const std::string& script = applier.applied[0];
  EXPECT_NE(script.find("queue num 1 bypass"), std::string::npos);
  // The table is declared once and the script ends by deleting it.
  const std::string tail = "delete table inet pbxwall_probe\n";
  EXPECT_EQ(script.substr(script.size() - tail.size()), tail);
  EXPECT_EQ(script.find("pbxwall "), std::string::npos);  // never touches the real table
  EXPECT_EQ(script.find("hook"), std::string::npos);      // no packet can reach the rule
}

TEST(KernelProbe, MissingExpressionMeansUnsupported) {
  kernel::DryRunApplier applier;
  applier.fail_next = "ruleset:5:22-26: Error: Could not process rule: No such file or directory";
  auto answer = probe_queue_support(applier, 1);
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(answer->supported);
  EXPECT_NE(answer->detail.find("No such file"), std::string::npos);
}

TEST(KernelProbe, ProbesTheConfiguredQueueNumber) {
  kernel::DryRunApplier applier;
  ASSERT_TRUE(probe_queue_support(applier, 7).ok());
  ASSERT_EQ(applier.applied.size(), 1u);
  EXPECT_NE(applier.applied[0].find("queue num 7 bypass"), std::string::npos) << applier.applied[0];
}

TEST(KernelProbe, AnUnsupportedStatementIsSaidOnOneLine) {
  kernel::DryRunApplier applier;
  // nft's answer: the place, the message, the rule and a row of carets under the statement.
  applier.fail_next = "/dev/stdin:5:22-26: Error: Could not process rule: No such file or directory\n"
                      "    meta l4proto udp queue num 1 bypass\n"
                      "                     ^^^^^\n";
  auto answer = probe_queue_support(applier, 1);
  ASSERT_TRUE(answer.ok());
  EXPECT_FALSE(answer->supported);
  EXPECT_EQ(answer->detail,
            "the kernel refuses `meta l4proto udp queue num 1 bypass`: Could not process rule: No such file or directory");
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
