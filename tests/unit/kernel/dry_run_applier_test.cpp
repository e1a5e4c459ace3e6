#include <gtest/gtest.h>

#include "kernel/kernel.h"

namespace pbxwall::kernel {
namespace {

TEST(DryRunApplier, RecordsScriptsAndTracksTable) {
  DryRunApplier dry;
  EXPECT_EQ(*dry.list_table(), "");
  const std::string replace =
      "add table inet pbxwall\ndelete table inet pbxwall\ntable inet pbxwall {\n}\n";
  ASSERT_TRUE(dry.apply(replace).ok());
  EXPECT_EQ(dry.applied.size(), 1u);
  EXPECT_EQ(*dry.list_table(), replace);
  ASSERT_TRUE(dry.apply("add table inet pbxwall\ndelete table inet pbxwall\n").ok());
  EXPECT_EQ(*dry.list_table(), "");
  EXPECT_EQ(dry.applied.size(), 2u);
}

TEST(DryRunApplier, FailNextFailsOnceAndRecordsNothing) {
  DryRunApplier dry;
  dry.fail_next = "Error: boom";
  auto status = dry.apply("table inet pbxwall {\n}\n");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "Error: boom");
  EXPECT_TRUE(dry.applied.empty());
  EXPECT_TRUE(dry.apply("table inet pbxwall {\n}\n").ok());
}

TEST(ScriptDefinesTable, TellsReplaceFromRemove) {
  EXPECT_TRUE(script_defines_table("add table inet pbxwall\ntable inet pbxwall {\n}"));
  EXPECT_FALSE(script_defines_table("add table inet pbxwall\ndelete table inet pbxwall\n"));
  EXPECT_FALSE(script_defines_table("table inet other {\n}"));
}

}  // namespace
}  // namespace pbxwall::kernel
