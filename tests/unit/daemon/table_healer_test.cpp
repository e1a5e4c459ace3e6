// Healing the table: what a notification asks for (plan_healing), which elements the kernel
// lacks (missing_elements), and the Firewall and TableHealer putting back what was lost, over
// the recording fakes (a fake kernel reader stands for the kernel's table and sets).
#include "daemon/table_healer.h"

#include <asio.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "firewall_fixture.h"
#include "packets/netlink_set_writer.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;
using packets::SetKey;
using packets::TableChange;
using packets::TableTransaction;

const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const IpAddress kPhone = *IpAddress::parse("198.51.100.10");

TableChange deleted(TableChange::Object object, std::string name = "", std::vector<SetKey> keys = {}) {
  TableChange c;
  c.object = object;
  c.deleted = true;
  c.name = std::move(name);
  for (const auto& k : keys) c.keys.push_back(packets::nft_key_bytes(k));
  return c;
}
TableChange added(TableChange::Object object, std::string name = "", std::vector<SetKey> keys = {}) {
  TableChange c = deleted(object, std::move(name), std::move(keys));
  c.deleted = false;
  return c;
}
TableTransaction by_nft(std::vector<TableChange> changes, std::size_t other_tables = 0) {
  TableTransaction t;
  t.generation = 7;
  t.portid = 31000;
  t.process_id = 31000;
  t.process_name = "nft";
  t.changes = std::move(changes);
  t.other_tables_deleted = other_tables;
  return t;
}

// ---- plan_healing -------------------------------------------------------------------------

TEST(PlanHealing, DeletedTableIsRestoredAndNamedAsDeletedOrFlushed) {
  auto plan = plan_healing(by_nft({deleted(TableChange::Object::set, "blocked4"), deleted(TableChange::Object::table)}));
  EXPECT_EQ(plan.step, HealStep::restore_table);
  EXPECT_EQ(plan.cause.rule, "table-deleted");
  EXPECT_EQ(plan.cause.text, "table inet pbxwall deleted");
  EXPECT_EQ(plan.cause.by, "nft (pid 31000)");

  plan = plan_healing(by_nft({deleted(TableChange::Object::table)}, 2));
  EXPECT_EQ(plan.step, HealStep::restore_table);
  EXPECT_EQ(plan.cause.rule, "ruleset-flushed");
  EXPECT_EQ(plan.cause.text, "ruleset flushed (table inet pbxwall and 2 other tables deleted)");
}

TEST(PlanHealing, ATableReplacedInOneTransactionIsCheckedNotOverwritten) {
  const auto plan = plan_healing(by_nft({deleted(TableChange::Object::table), added(TableChange::Object::table),
                                         added(TableChange::Object::chain, "input")}));
  EXPECT_EQ(plan.step, HealStep::check);
  EXPECT_EQ(plan.cause.rule, "table-replaced");
}

TEST(PlanHealing, DeletedChainsSetsRulesAndDormancyRenderTheTableAgain) {
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::chain, "input")})).cause.text,
            "chain input deleted from table inet pbxwall");
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::rule, "input"), deleted(TableChange::Object::rule, "input")}))
                .cause.text,
            "2 rules deleted from chain input of table inet pbxwall");
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::set, "trusted4")})).step, HealStep::restore_table);
  TableChange dormant = added(TableChange::Object::table);
  dormant.dormant = true;
  EXPECT_EQ(plan_healing(by_nft({dormant})).cause.text, "table inet pbxwall made dormant");
  // A set deleted and declared again in the same transaction is still there.
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::set, "flood4"), added(TableChange::Object::set, "flood4")})).step,
            HealStep::none);
}

TEST(PlanHealing, ElementsDeletedFromResponsiveSetsAreReaddedRenewalsAndMetersIgnored) {
  auto plan = plan_healing(by_nft({deleted(TableChange::Object::elements, "blocked4", {SetKey::blocked(kScanner)})}));
  EXPECT_EQ(plan.step, HealStep::readd_elements);
  EXPECT_EQ(plan.sets, std::vector<std::string>{"blocked4"});
  EXPECT_EQ(plan.cause.rule, "elements-deleted");

  // Deleted and added again (a renewal with a new timeout): nothing lost.
  plan = plan_healing(by_nft({deleted(TableChange::Object::elements, "blocked4", {SetKey::blocked(kScanner)}),
                              added(TableChange::Object::elements, "blocked4", {SetKey::blocked(kScanner)})}));
  EXPECT_EQ(plan.step, HealStep::none);
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::elements, "flood4", {SetKey::blocked(kScanner)})})).step,
            HealStep::none);
  // Zone and trunk sets are rendered, not tracked element by element.
  EXPECT_EQ(plan_healing(by_nft({deleted(TableChange::Object::elements, "trusted4", {SetKey::blocked(kScanner)})})).step,
            HealStep::restore_table);
  // Additions by others are not undone.
  EXPECT_EQ(plan_healing(by_nft({added(TableChange::Object::elements, "blocked4", {SetKey::blocked(kPhone)})})).step,
            HealStep::none);
}

TEST(PlanHealing, LostNotificationsAskForACheck) {
  TableTransaction t;
  t.incomplete = true;
  const auto plan = plan_healing(t);
  EXPECT_EQ(plan.step, HealStep::check);
  EXPECT_EQ(plan.cause.rule, "notifications-lost");
}

TEST(PlanHealing, MergeKeepsTheLargerStepAndEverySet) {
  HealPlan plan = plan_healing(by_nft({deleted(TableChange::Object::elements, "blocked4", {SetKey::blocked(kScanner)})}));
  merge(plan, plan_healing(by_nft({deleted(TableChange::Object::elements, "validated4", {SetKey::validated(kPhone)})})));
  EXPECT_EQ(plan.step, HealStep::readd_elements);
  EXPECT_EQ(plan.sets, (std::vector<std::string>{"blocked4", "validated4"}));
  merge(plan, plan_healing(by_nft({deleted(TableChange::Object::table)})));
  EXPECT_EQ(plan.step, HealStep::restore_table);
  EXPECT_EQ(plan.cause.rule, "table-deleted");
}

TEST(IsOwn, KnownPortOrProcessIsOursAndTeachesTheOther) {
  OwnIdentity own;
  own.portids = {900};
  own.process_ids = {55};
  TableTransaction writer = by_nft({});
  writer.portid = 900;
  writer.process_id = 4055;  // the daemon's pid as the initial namespace sees it
  EXPECT_TRUE(is_own(writer, own));
  EXPECT_EQ(own.process_ids.count(4055), 1u);
  TableTransaction nftables_library = by_nft({});
  nftables_library.portid = 12345;
  nftables_library.process_id = 4055;
  EXPECT_TRUE(is_own(nftables_library, own));
  EXPECT_EQ(own.portids.count(12345), 1u);
  EXPECT_FALSE(is_own(by_nft({}), own));
}

// ---- missing_elements ---------------------------------------------------------------------

TEST(MissingElements, WhatTheLiveStateHoldsAndTheKernelLacksWithItsTimeLeft) {
  ruleset::LiveState live;
  live.blocked = {{kScanner, std::chrono::seconds(600), "friendly-scanner"},
                  {*IpAddress::parse("192.0.2.67"), std::chrono::seconds(600), "present"},
                  {*IpAddress::parse("192.0.2.68"), std::chrono::milliseconds(500), "about to expire"}};
  live.validated = {{kPhone, std::chrono::seconds(120)}};
  live.grants = {{kPhone, model::Proto::tcp, 443, std::chrono::seconds(120)}};
  std::map<std::string, std::set<SetKey>> kernel{{"blocked4", {SetKey::blocked(*IpAddress::parse("192.0.2.67"))}},
                                                 {"grants4", {}}};
  const auto missing = missing_elements(live, kernel, std::chrono::seconds(2));
  ASSERT_EQ(missing.size(), 2u);  // validated4 not compared: not read
  EXPECT_EQ(missing[0].key, SetKey::blocked(kScanner));
  EXPECT_EQ(missing[0].timeout, std::chrono::seconds(600));
  EXPECT_EQ(missing[0].comment, "friendly-scanner");
  EXPECT_EQ(missing[1].key, SetKey::grant(kPhone, IPPROTO_TCP, 443));
}

// ---- the Firewall and the TableHealer over fakes --------------------------------------------

// The kernel as the fakes hold it: the applier's table and the set updater's contents.
class FakeKernel final : public packets::SetReader {
 public:
  FakeKernel(kernel::DryRunApplier& applier, packets::RecordingSetUpdater& sets) : applier_(applier), sets_(sets) {}
  Result<bool> table_exists() override { return !applier_.table.empty(); }
  Result<std::vector<SetKey>> absent(const std::string& name, std::span<const SetKey> keys) override {
    if (applier_.table.empty()) return fail(std::string("No such file or directory"));
    ++asked;
    std::vector<SetKey> out;
    for (const auto& key : keys) {
      EXPECT_EQ(key.set_name(), name);
      if (sets_.contents().count(key) == 0) out.push_back(key);
    }
    return out;
  }
  int asked = 0;  // absent() calls

 private:
  kernel::DryRunApplier& applier_;
  packets::RecordingSetUpdater& sets_;
};

class TableHealerTest : public test::FirewallFixture {
 protected:
  Firewall& started() {
    auto& fw = start("[firewall]\nsafe_mode = false\n");
    fw.set_kernel_reader(&kernel_);
    fw.set_event_sink([this](const store::EventRecord& e) { sunk_.push_back(e); });
    return fw;
  }
  json block(Firewall& fw, const IpAddress& a) { return fw.handle({{"cmd", "block"}, {"addr", a.str()}, {"seconds", 600}}); }
  std::vector<store::EventRecord> restores() {
    std::vector<store::EventRecord> out;
    for (const auto& e : events())
      if (e.kind == "restore") out.push_back(e);
    return out;
  }
  HealerOptions own_options() {
    HealerOptions o;
    o.own.portids = {900};
    o.reconcile_ticks = 5;
    return o;
  }

  FakeKernel kernel_{applier_, sets_};
  std::vector<store::EventRecord> sunk_;
  std::vector<std::string> logged_;
  asio::io_context io_;  // never run: the tests call the healer's handlers themselves
};

TEST_F(TableHealerTest, DeletedTableIsRenderedAgainWithTheBlockAndAnEventSaysWhy) {
  auto& fw = started();
  ASSERT_TRUE(block(fw, kScanner)["ok"].get<bool>());
  applier_.table.clear();  // `nft delete table inet pbxwall`
  sets_.lose("");
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table"], false);

  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  healer.on_transaction(by_nft({deleted(TableChange::Object::table)}));
  healer.act();
  ASSERT_EQ(applier_.applied.size(), 2u);
  EXPECT_NE(applier_.applied.back().find("192.0.2.66 timeout"), std::string::npos);
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table"], true);
  const auto r = restores();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rule, "table-deleted");
  EXPECT_EQ(r[0].reason, "table inet pbxwall deleted by nft (pid 31000); table inet pbxwall restored with 1 block, "
                         "0 validations, 0 grants, 0 trunks");
  ASSERT_FALSE(sunk_.empty());
  EXPECT_EQ(sunk_.back().kind, "restore");
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table_restores"], 1);
}

TEST_F(TableHealerTest, TheDaemonsOwnChangesAndAStoppedTableAreLeftAlone) {
  auto& fw = started();
  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  TableTransaction own = by_nft({deleted(TableChange::Object::table)});
  own.portid = 900;
  healer.on_transaction(own);
  healer.act();
  EXPECT_EQ(applier_.applied.size(), 1u);

  ASSERT_TRUE(fw.handle({{"cmd", "stop"}})["ok"].get<bool>());
  const auto applied = applier_.applied.size();
  healer.on_transaction(by_nft({deleted(TableChange::Object::table)}));
  healer.act();
  healer.tick();
  EXPECT_EQ(applier_.applied.size(), applied);
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table_stopped"], true);
  EXPECT_TRUE(restores().empty());
}

TEST_F(TableHealerTest, FlushedBlockedSetGetsItsElementBack) {
  auto& fw = started();
  ASSERT_TRUE(block(fw, kScanner)["ok"].get<bool>());
  sets_.lose("blocked4");  // `nft flush set inet pbxwall blocked4`
  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  healer.on_transaction(by_nft({deleted(TableChange::Object::elements, "blocked4", {SetKey::blocked(kScanner)})}));
  healer.act();
  EXPECT_TRUE(blocked(kScanner));
  EXPECT_EQ(applier_.applied.size(), 1u);  // no re-render for elements
  const auto r = restores();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rule, "set-flushed");
  EXPECT_EQ(r[0].reason, "set blocked4 flushed by nft (pid 31000); 1 element re-added");
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["elements_readded"], 1);
}

TEST_F(TableHealerTest, PeriodicReconciliationReaddsWhatWentWithoutANotification) {
  auto& fw = started();
  ASSERT_TRUE(block(fw, kScanner)["ok"].get<bool>());
  ASSERT_TRUE(block(fw, *IpAddress::parse("192.0.2.67"))["ok"].get<bool>());
  sets_.lose("blocked4");
  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  for (int i = 0; i < 4; ++i) healer.tick();
  EXPECT_FALSE(blocked(kScanner));  // not due yet
  healer.tick();
  EXPECT_TRUE(blocked(kScanner));
  EXPECT_TRUE(blocked(*IpAddress::parse("192.0.2.67")));
  const auto r = restores();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].rule, "reconcile");
  EXPECT_EQ(r[0].reason, "periodic check: set blocked4 lacked 2 elements pbxwalld holds; 2 elements re-added");
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["reconciliations"], 1);
}

TEST_F(TableHealerTest, ABlockTheKernelRefusesIsAnsweredAsAFailureAndRetried) {
  auto& fw = started();
  sets_.fail_next = "updating sets of table inet pbxwall: No such file or directory";
  const json answer = block(fw, kScanner);
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_NE(answer["error"].get<std::string>().find("the kernel did not take the block of 192.0.2.66"), std::string::npos);
  EXPECT_FALSE(blocked(kScanner));
  auto status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["set_updates_owed"], 1);
  EXPECT_EQ(status["kernel_failures"], 1);

  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  healer.tick();
  EXPECT_TRUE(blocked(kScanner));
  status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["set_updates_owed"], 0);
  EXPECT_EQ(status["set_update_retries"], 1);
  EXPECT_TRUE(status["set_update_error"].is_null());
}

TEST_F(TableHealerTest, ARefusedRestoreIsRetriedEachTickAndLoggedOnce) {
  auto& fw = started();
  ASSERT_TRUE(block(fw, kScanner)["ok"].get<bool>());
  applier_.table.clear();
  TableHealer healer(io_, fw, nullptr, [this](int, const std::string& t) { logged_.push_back(t); }, own_options());
  applier_.fail_next = "Error: Could not process rule: Operation not permitted";
  healer.on_transaction(by_nft({deleted(TableChange::Object::table)}));
  healer.act();
  ASSERT_EQ(logged_.size(), 1u);
  EXPECT_NE(logged_[0].find("cannot restore table inet pbxwall after table inet pbxwall deleted by nft (pid 31000)"),
            std::string::npos);
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table_restore_failures"], 1);
  healer.tick();
  EXPECT_EQ(fw.handle({{"cmd", "status"}})["table"], true);
  EXPECT_NE(applier_.applied.back().find("192.0.2.66 timeout"), std::string::npos);
  EXPECT_EQ(restores().size(), 1u);
}

}  // namespace
}  // namespace pbxwall::daemon
