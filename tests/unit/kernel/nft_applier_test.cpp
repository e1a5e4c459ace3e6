// NftApplier against the real kernel, inside a network namespace private to this process
// (unshare(CLONE_NEWNET)): the namespace disappears with the process, so nothing outside it
// is touched and nothing is left behind even when a test fails. Skipped when not root.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include "kernel/kernel.h"

namespace pbxwall::kernel {
namespace {

constexpr const char* kReplaceHeader = "add table inet pbxwall\ndelete table inet pbxwall\n";

std::string small_table(const std::string& address) {
  return std::string(kReplaceHeader) +
         "table inet pbxwall {\n"
         "  set trusted4 { type ipv4_addr; flags interval; elements = { " + address + " } }\n"
         "  chain input { type filter hook input priority filter; policy accept;\n"
         "    ip saddr @trusted4 accept\n"
         "  }\n"
         "}\n";
}

class NftApplierTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    in_private_namespace_ = unshare(CLONE_NEWNET) == 0;
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (CAP_NET_ADMIN) for nftables";
    if (!in_private_namespace_) GTEST_SKIP() << "cannot create a private network namespace";
    // Each test starts without our table, whatever the previous test left.
    ASSERT_TRUE(applier_.apply("add table inet pbxwall\ndelete table inet pbxwall\n").ok());
  }
  static inline bool in_private_namespace_ = false;
  NftApplier applier_;
};

TEST_F(NftApplierTest, ListTableIsEmptyWhenTableAbsent) {
  auto listed = applier_.list_table();
  ASSERT_TRUE(listed.ok()) << listed.error();
  EXPECT_EQ(*listed, "");
}

TEST_F(NftApplierTest, ApplyReplacesTableAtomically) {
  ASSERT_TRUE(applier_.apply(small_table("192.0.2.1")).ok());
  auto first = applier_.list_table();
  ASSERT_TRUE(first.ok());
  EXPECT_NE(first->find("192.0.2.1"), std::string::npos);

  ASSERT_TRUE(applier_.apply(small_table("198.51.100.7")).ok());
  auto second = applier_.list_table();
  ASSERT_TRUE(second.ok());
  EXPECT_NE(second->find("198.51.100.7"), std::string::npos);
  EXPECT_EQ(second->find("192.0.2.1"), std::string::npos) << "old element survived: " << *second;
}

TEST_F(NftApplierTest, FailedApplyReturnsNftErrorAndChangesNothing) {
  ASSERT_TRUE(applier_.apply(small_table("192.0.2.1")).ok());
  auto before = applier_.list_table();
  ASSERT_TRUE(before.ok());

  // The error is on the set line after a valid delete: if the batch were not one transaction
  // the table would be gone afterwards.
  auto status = applier_.apply(small_table("192.0.2.300"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().find("192.0.2.300"), std::string::npos) << status.error();
  // Located at the set's line (4) of the script, not just "Error: ...".
  EXPECT_EQ(status.error().rfind("ruleset:4:", 0), 0u) << status.error();

  auto after = applier_.list_table();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
}

TEST_F(NftApplierTest, CheckDoesNotCommit) {
  ASSERT_TRUE(applier_.check(small_table("192.0.2.1")).ok());
  auto listed = applier_.list_table();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(*listed, "");
  EXPECT_FALSE(applier_.check("table inet pbxwall { chain c { bogus } }").ok());
}

TEST_F(NftApplierTest, ListedTableCanBeRestored) {
  ASSERT_TRUE(applier_.apply(small_table("203.0.113.0/24")).ok());
  auto saved = applier_.list_table();
  ASSERT_TRUE(saved.ok());
  ASSERT_TRUE(applier_.apply(small_table("192.0.2.1")).ok());
  ASSERT_TRUE(applier_.apply(kReplaceHeader + *saved).ok());
  auto restored = applier_.list_table();
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(*saved, *restored);
}

TEST_F(NftApplierTest, OtherTablesAreUntouched) {
  NftApplier other;
  ASSERT_TRUE(other.run("table inet other { chain c { type filter hook input priority 10; "
                        "tcp dport 9 drop; }; }").ok());
  auto before = other.run("list table inet other");
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(applier_.apply(small_table("192.0.2.1")).ok());
  ASSERT_TRUE(applier_.apply(kReplaceHeader).ok());
  auto after = other.run("list table inet other");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
  ASSERT_TRUE(other.run("delete table inet other").ok());
}

TEST_F(NftApplierTest, NamedCountersAreAbsentWithoutTheTable) {
  auto counters = applier_.named_counters();
  ASSERT_TRUE(counters.ok()) << counters.error();
  EXPECT_FALSE(counters->has_value());
}

TEST_F(NftApplierTest, NamedCountersComeFromTheKernelAsNftListsThem) {
  std::string elements;
  for (int i = 0; i < 1000; ++i) elements += (i ? ", " : "") + ("198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256));
  ASSERT_TRUE(applier_
                  .apply(std::string(kReplaceHeader) +
                         "table inet pbxwall {\n"
                         "  counter responsive { packets 12 bytes 960 }\n"
                         "  counter refused { packets 3 bytes 180 }\n"
                         "  set blocked4 { type ipv4_addr; elements = { " + elements + " } }\n"
                         "}\n")
                  .ok());
  auto counters = applier_.named_counters();
  ASSERT_TRUE(counters.ok()) << counters.error();
  ASSERT_TRUE(counters->has_value());
  const std::vector<NamedCounter> expected = {{"responsive", 12, 960}, {"refused", 3, 180}};
  EXPECT_EQ(**counters, expected);
  auto listed = applier_.list_table();
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(named_counters_of(*listed), expected);
}

// Every trust, untrust and UI edit replaces the table: its counters must not start over.
TEST_F(NftApplierTest, NamedCountersKeepTheirValuesWhenTheTableIsReplaced) {
  ASSERT_TRUE(applier_
                  .apply(std::string(kReplaceHeader) +
                         "table inet pbxwall {\n"
                         "  counter blocked { packets 5 bytes 300 }\n"
                         "  counter refused { packets 2 bytes 120 }\n"
                         "}\n")
                  .ok());
  const std::string rendered = std::string(kReplaceHeader) +
                               "table inet pbxwall {\n"
                               "\tcounter blocked {\n\t}\n\n"
                               "\tcounter refused {\n\t}\n\n"
                               "\tcounter flood {\n\t}\n\n"
                               "  chain input { type filter hook input priority filter; policy accept;\n"
                               "    ip saddr 192.0.2.9 counter name \"blocked\" drop\n"
                               "  }\n"
                               "}\n";
  ASSERT_TRUE(applier_.apply(rendered).ok());
  ASSERT_TRUE(applier_.apply(rendered).ok());
  auto counters = applier_.named_counters();
  ASSERT_TRUE(counters.ok()) << counters.error();
  ASSERT_TRUE(counters->has_value());
  const std::vector<NamedCounter> expected = {{"blocked", 5, 300}, {"refused", 2, 120}, {"flood", 0, 0}};
  EXPECT_EQ(**counters, expected);
  // Removing the table removes its counters: a table made afresh starts at zero.
  ASSERT_TRUE(applier_.apply(kReplaceHeader).ok());
  ASSERT_TRUE(applier_.apply(rendered).ok());
  counters = applier_.named_counters();
  ASSERT_TRUE(counters.ok() && counters->has_value());
  EXPECT_EQ((**counters)[0], (NamedCounter{"blocked", 0, 0}));
}

TEST(WithCounterValues, FillsEmptyDeclarationsOnly) {
  const std::string script =
      "table inet pbxwall {\n\tcounter blocked {\n\t}\n\n\tcounter refused { packets 1 bytes 2 }\n"
      "\tcounter xblocked {\n\t}\n"
      "\tchain c {\n\t\tcounter name \"blocked\" drop\n\t}\n}\n";
  const std::string carried = with_counter_values(script, {{"blocked", 7, 420}, {"refused", 9, 9}, {"gone", 1, 1}});
  EXPECT_EQ(carried,
            "table inet pbxwall {\n\tcounter blocked { packets 7 bytes 420 }\n\n\tcounter refused { packets 1 bytes 2 }\n"
            "\tcounter xblocked {\n\t}\n"
            "\tchain c {\n\t\tcounter name \"blocked\" drop\n\t}\n}\n");
  EXPECT_EQ(with_counter_values(script, {}), script);
}

TEST(NamedCountersOf, ReadsCountersWithValuesAndSkipsDeclarationsWithout) {
  const std::string listing =
      "table inet pbxwall {\n\tcounter responsive {\n\t\tpackets 12 bytes 960\n\t}\n\n"
      "\tcounter blocked {\n\t}\n\n"
      "\tcounter refused {\n\t\tpackets 18446744073709551615 bytes 180\n\t}\n}\n";
  const std::vector<NamedCounter> expected = {{"responsive", 12, 960}, {"refused", 18446744073709551615ull, 180}};
  EXPECT_EQ(named_counters_of(listing), expected);
  EXPECT_TRUE(named_counters_of("").empty());
}

}  // namespace
}  // namespace pbxwall::kernel
