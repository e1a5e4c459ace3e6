// The state database cannot be lost quietly: blocks in the kernel survive a damaged or empty
// database, and writes the database refuses are kept, reported and retried.
#include <gtest/gtest.h>

#include <fstream>

#include "daemon/firewall.h"
#include "daemon/state_writer.h"
#include "firewall_fixture.h"
#include "store/state_file.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;
using std::chrono::hours;
using std::chrono::seconds;

// What `nft list table inet pbxwall` prints with four blocks (one put there by the kernel's
// flood meter, without a comment) and a validated phone.
constexpr const char* kKernelTable = R"(table inet pbxwall {
	set blocked4 {
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		elements = { 192.0.2.1 timeout 1h expires 59m58s10ms comment "svwar fingerprint: User-Agent friendly-scanner", 192.0.2.2 timeout 1h expires 30m comment "7 usernames tried in 40 s",
			     192.0.2.3 timeout 1m expires 50s }
	}

	set blocked6 {
		type ipv6_addr
		size 65535
		flags dynamic,timeout
		elements = { 2001:db8::66 timeout 1d expires 23h59m comment "blocked by the administrator" }
	}

	set validated4 {
		type ipv4_addr
		flags timeout
		elements = { 198.51.100.10 timeout 1h expires 40m comment "user 300" }
	}
}
)";

const std::vector<std::string> kKernelBlocks = {"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::66"};

class StateTest : public test::FirewallFixture {
 protected:
  // The Firewall over the fixture's fakes, told that its database was set aside at open.
  Firewall& make_with(std::optional<store::SetAside> set_aside) {
    FirewallOptions options;
    options.config_path = config_;
    options.state_set_aside = std::move(set_aside);
    firewall_ = std::make_unique<Firewall>(Edges{applier_, sets_, conntrack_, *store_, clock_}, options);
    return *firewall_;
  }
  void expect_rendered(const std::vector<std::string>& addresses) {
    ASSERT_FALSE(applier_.applied.empty());
    const std::string& script = applier_.applied.back();
    for (const auto& a : addresses) EXPECT_NE(script.find(a + " timeout"), std::string::npos) << a << "\n" << script;
  }
  std::vector<std::string> stored_blocks() {
    std::vector<std::string> out;
    if (auto b = store_->active_blocks(clock_.now()); b.ok())
      for (const auto& r : *b) out.push_back(r.address);
    return out;
  }
  json block(const std::string& addr) { return firewall_->handle({{"cmd", "block"}, {"addr", addr}}); }
};

TEST_F(StateTest, KernelBlocksSurviveAnEmptyDatabase) {
  applier_.table = kKernelTable;  // pbxwalld restarted: the kernel kept its table
  write_config("");
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  expect_rendered(kKernelBlocks);
  EXPECT_EQ(stored_blocks(), kKernelBlocks);
  EXPECT_EQ(fw.kernel_recovery().blocks, 4u);
  EXPECT_EQ(fw.kernel_recovery().validated, 1u);

  auto b = store_->find_block("192.0.2.2");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->reason, "7 usernames tried in 40 s");
  EXPECT_EQ((*b)->until, clock_.now() + std::chrono::minutes(30));
  auto meter = store_->find_block("192.0.2.3");
  ASSERT_TRUE(meter.ok() && meter->has_value());
  EXPECT_EQ((*meter)->rule, "flood");
  auto valid = store_->active_validated(clock_.now());
  ASSERT_TRUE(valid.ok());
  ASSERT_EQ(valid->size(), 1u);
  EXPECT_EQ((*valid)[0].user, "300");

  auto status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["blocked"], 4);
  EXPECT_EQ(status["state"]["recovered_blocks"], 4);
  EXPECT_EQ(status["state"]["ok"], true);
  EXPECT_EQ(events_of_kind("state", ""), 1u);
}

TEST_F(StateTest, KernelBlocksSurviveADamagedDatabase) {
  // A database with the four blocks, then its pages after the header overwritten.
  const std::string path = (dir_ / "damaged.db").string();
  {
    auto s = store::StateStore::open(path);
    ASSERT_TRUE(s.ok());
    for (const auto& a : kKernelBlocks)
      ASSERT_TRUE((*s)->upsert_block({a, "manual", "x", clock_.now(), clock_.now() + hours(1), 1}).ok());
    ASSERT_TRUE((*s)->transaction([&]() -> Status<> {
                      for (int i = 0; i < 300; ++i)
                        if (auto id = (*s)->add_event({0, clock_.now(), "block", "192.0.2.1", "", "manual", std::string(100, 'x')}); !id)
                          return fail(id.error());
                      return {};
                    }).ok());
  }
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    for (int i = 0; i < 40000; ++i) f.put(static_cast<char>(0x5a + i));
  }
  auto opened = store::open_state_file(path, clock_.now());
  ASSERT_TRUE(opened.ok()) << opened.error();
  ASSERT_TRUE(opened->set_aside);
  store_ = std::move(opened->store);

  applier_.table = kKernelTable;
  write_config("");
  auto& fw = make_with(opened->set_aside);
  ASSERT_TRUE(fw.start().ok());
  expect_rendered(kKernelBlocks);
  EXPECT_EQ(stored_blocks(), kKernelBlocks);

  auto status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["state"]["set_aside"]["path"], opened->set_aside->path);
  auto overview = fw.handle({{"cmd", "overview"}});
  bool warned = false;
  for (const auto& w : overview["warnings"])
    if (w["kind"] == "state_set_aside") {
      warned = true;
      EXPECT_NE(w["text"].get<std::string>().find(opened->set_aside->path), std::string::npos);
      EXPECT_NE(w["text"].get<std::string>().find("4 blocks"), std::string::npos) << w["text"];
    }
  EXPECT_TRUE(warned) << overview["warnings"];
  const auto history = events();
  ASSERT_FALSE(history.empty());
  EXPECT_EQ(history.front().kind, "state");
  EXPECT_NE(history.front().reason.find("moved to " + opened->set_aside->path), std::string::npos);
}

TEST_F(StateTest, KernelBlocksAlreadyStoredAreNotCountedAgain) {
  ASSERT_TRUE(store_->upsert_block({"192.0.2.1", "fingerprint", "svwar", clock_.now(), clock_.now() + hours(1), 3}).ok());
  applier_.table = kKernelTable;
  write_config("");
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(fw.kernel_recovery().blocks, 3u);
  auto b = store_->find_block("192.0.2.1");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->rule, "fingerprint");  // the database's record is kept
  EXPECT_EQ((*b)->times_blocked, 3);
}

TEST_F(StateTest, TrustedAddressInTheKernelSetIsNotReadBack) {
  applier_.table = kKernelTable;
  write_config("[networks]\n\"192.0.2.1\" = \"trusted\"\n");
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(fw.kernel_recovery().blocks, 3u);
  auto b = store_->find_block("192.0.2.1");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
}

TEST_F(StateTest, RefusedWritesRaiseTheAlarmAndAreRetried) {
  auto& fw = start("");
  ASSERT_TRUE(store_->refuse_writes(true).ok());
  auto answer = block("192.0.2.10");
  EXPECT_EQ(answer["ok"], true);
  EXPECT_EQ(answer["saved"], false);
  EXPECT_NE(answer["warning"].get<std::string>().find("readonly"), std::string::npos) << answer;
  EXPECT_TRUE(blocked(*IpAddress::parse("192.0.2.10")));  // in effect in the kernel
  clock_.advance(seconds(2));
  (void)block("192.0.2.11");
  clock_.advance(seconds(2));
  (void)block("192.0.2.12");

  auto status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["state"]["ok"], false);
  EXPECT_GE(status["state"]["unsaved"].get<int>(), 6);  // three blocks and their events
  EXPECT_EQ(status["state"]["write_failures"], 3);
  EXPECT_EQ(status["store_alarm"], 1);
  EXPECT_EQ(status["store_failures"], 3);
  EXPECT_NE(status["state"]["error"].get<std::string>().find("readonly"), std::string::npos);
  EXPECT_TRUE(stored_blocks().empty());
  auto overview = fw.handle({{"cmd", "overview"}});
  bool warned = false;
  for (const auto& w : overview["warnings"]) warned = warned || w["kind"] == "state_not_saved";
  EXPECT_TRUE(warned) << overview["warnings"];

  // What is not saved yet is still listed and still rendered by a reload.
  auto list = fw.handle({{"cmd", "list"}, {"what", "blocked"}});
  EXPECT_EQ(list["items"].size(), 3u);
  ASSERT_TRUE(fw.reload().ok());
  expect_rendered({"192.0.2.10", "192.0.2.11", "192.0.2.12"});

  // Writable again: the next attempt saves everything, in order.
  ASSERT_TRUE(store_->refuse_writes(false).ok());
  clock_.advance(seconds(2));
  fw.housekeeping();
  EXPECT_EQ(stored_blocks(), (std::vector<std::string>{"192.0.2.10", "192.0.2.11", "192.0.2.12"}));
  EXPECT_EQ(events_of_kind("block", "192.0.2.10"), 1u);
  status = fw.handle({{"cmd", "status"}});
  EXPECT_EQ(status["state"]["ok"], true);
  EXPECT_EQ(status["state"]["unsaved"], 0);
  EXPECT_EQ(status["store_alarm"], 0);
  answer = block("192.0.2.13");
  EXPECT_EQ(answer["saved"], true);
  EXPECT_FALSE(answer.contains("warning"));
}

TEST_F(StateTest, UnblockThatCouldNotBeSavedIsNotUndoneByAReload) {
  auto& fw = start("");
  (void)block("192.0.2.20");
  ASSERT_EQ(stored_blocks().size(), 1u);
  ASSERT_TRUE(store_->refuse_writes(true).ok());
  (void)fw.handle({{"cmd", "unblock"}, {"addr", "192.0.2.20"}});
  ASSERT_TRUE(fw.reload().ok());
  EXPECT_EQ(applier_.applied.back().find("192.0.2.20 timeout"), std::string::npos);
  EXPECT_EQ(fw.handle({{"cmd", "list"}, {"what", "blocked"}})["items"].size(), 0u);
}

TEST(StateWriter, BoundedQueueDropsTheOldestAndCountsThem) {
  auto s = store::StateStore::open(":memory:");
  ASSERT_TRUE(s.ok());
  const TimePoint t0 = from_epoch_seconds(1'800'000'000);
  StateWriter writer(**s, 5);
  ASSERT_TRUE((*s)->refuse_writes(true).ok());
  std::vector<store::EventRecord> none;
  for (int i = 1; i <= 8; ++i) {
    writer.queue(store::BlockRecord{"192.0.2." + std::to_string(i), "manual", "x", t0, t0 + hours(1), 1});
    EXPECT_FALSE(writer.write(none, t0 + seconds(2 * i)));
  }
  EXPECT_EQ(writer.health().unsaved, 5u);
  EXPECT_EQ(writer.health().dropped, 3u);
  EXPECT_EQ(writer.health().failures, 8u);
  ASSERT_TRUE((*s)->refuse_writes(false).ok());
  EXPECT_TRUE(writer.write(none, t0 + seconds(100)));
  auto saved = (*s)->active_blocks(t0);
  ASSERT_TRUE(saved.ok());
  ASSERT_EQ(saved->size(), 5u);
  EXPECT_EQ(saved->front().address, "192.0.2.4");  // 1 to 3 were the oldest
  EXPECT_EQ(writer.health().dropped, 3u);  // a count, kept
  EXPECT_TRUE(writer.health().ok);
}

TEST(StateWriter, RetriesAtMostOncePerIntervalWhileFailing) {
  auto s = store::StateStore::open(":memory:");
  ASSERT_TRUE(s.ok());
  const TimePoint t0 = from_epoch_seconds(1'800'000'000);
  StateWriter writer(**s);
  ASSERT_TRUE((*s)->refuse_writes(true).ok());
  std::vector<store::EventRecord> events{{0, t0, "block", "192.0.2.1", "", "manual", "x"}};
  writer.queue(store::BlockRecord{"192.0.2.1", "manual", "x", t0, t0 + hours(1), 1});
  EXPECT_FALSE(writer.write(events, t0));
  EXPECT_EQ(events[0].id, 0);
  ASSERT_TRUE((*s)->refuse_writes(false).ok());
  std::vector<store::EventRecord> none;
  EXPECT_FALSE(writer.write(none, t0 + std::chrono::milliseconds(500)));  // too soon: only queued
  EXPECT_EQ(writer.health().failures, 1u);
  EXPECT_TRUE(writer.write(none, t0 + seconds(1)));
  auto saved = (*s)->events_after(0, 10);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved->size(), 1u);
}

TEST(StateWriter, ActiveBlocksMergeUnsavedChangesInAddressOrder) {
  auto s = store::StateStore::open(":memory:");
  ASSERT_TRUE(s.ok());
  const TimePoint t0 = from_epoch_seconds(1'800'000'000);
  StateWriter writer(**s);
  std::vector<store::EventRecord> none;
  for (const char* a : {"192.0.2.2", "192.0.2.4", "192.0.2.6", "192.0.2.8"})
    writer.queue(store::BlockRecord{a, "manual", "saved", t0, t0 + hours(1), 1});
  ASSERT_TRUE(writer.write(none, t0));
  auto addresses = [&](TimePoint now) {
    std::vector<std::string> out;
    for (const auto& b : writer.active_blocks(now)) out.push_back(b.address + ":" + b.reason);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(addresses(t0), (V{"192.0.2.2:saved", "192.0.2.4:saved", "192.0.2.6:saved", "192.0.2.8:saved"}));
  ASSERT_TRUE((*s)->refuse_writes(true).ok());  // what follows stays unsaved
  writer.queue(store::BlockRecord{"192.0.2.1", "manual", "new", t0, t0 + hours(1), 1});
  writer.queue(RemoveBlock{"192.0.2.4"});
  writer.queue(store::BlockRecord{"192.0.2.6", "manual", "renewed", t0, t0 + hours(2), 1});
  writer.queue(store::BlockRecord{"192.0.2.7", "manual", "ended", t0, t0 + seconds(1), 1});
  writer.queue(store::BlockRecord{"192.0.2.9", "manual", "new", t0, t0 + hours(1), 1});
  writer.queue(store::BlockRecord{"192.0.2.8", "manual", "ended", t0, t0 + seconds(1), 1});
  EXPECT_FALSE(writer.write(none, t0));
  EXPECT_EQ(addresses(t0 + seconds(5)), (V{"192.0.2.1:new", "192.0.2.2:saved", "192.0.2.6:renewed", "192.0.2.9:new"}));
}

TEST(StateWriter, ActiveBlockIsTheLastQueuedChangeThenTheDatabase) {
  auto s = store::StateStore::open(":memory:");
  ASSERT_TRUE(s.ok());
  const TimePoint t0 = from_epoch_seconds(1'800'000'000);
  StateWriter writer(**s, 4);
  std::vector<store::EventRecord> none;
  writer.queue(store::BlockRecord{"192.0.2.1", "manual", "x", t0, t0 + hours(1), 1});
  ASSERT_TRUE(writer.write(none, t0));
  EXPECT_TRUE(writer.is_active_block("192.0.2.1", t0));  // saved
  writer.queue(RemoveBlock{"192.0.2.1"});
  EXPECT_FALSE(writer.is_active_block("192.0.2.1", t0));  // removal queued over a saved block
  writer.queue(store::BlockRecord{"192.0.2.1", "manual", "x", t0, t0 + seconds(10), 1});
  EXPECT_TRUE(writer.is_active_block("192.0.2.1", t0));
  EXPECT_FALSE(writer.is_active_block("192.0.2.1", t0 + seconds(10)));  // the queued one's end
  writer.queue(RecoveredBlock{{"192.0.2.2", "kernel", "x", t0, t0 + hours(1), 1}});
  EXPECT_TRUE(writer.is_active_block("192.0.2.2", t0));
  EXPECT_FALSE(writer.is_active_block("192.0.2.3", t0));
  // Past the bound the oldest changes go: what is left decides, then the database.
  ASSERT_TRUE((*s)->refuse_writes(true).ok());
  writer.queue(store::BlockRecord{"192.0.2.4", "manual", "x", t0, t0 + hours(1), 1});
  writer.queue(store::BlockRecord{"192.0.2.5", "manual", "x", t0, t0 + hours(1), 1});
  writer.queue(store::BlockRecord{"192.0.2.6", "manual", "x", t0, t0 + hours(1), 1});
  EXPECT_FALSE(writer.write(none, t0 + seconds(1)));
  EXPECT_EQ(writer.health().dropped, 2u);  // the removal and the 10 s block of 192.0.2.1
  EXPECT_TRUE(writer.is_active_block("192.0.2.1", t0 + seconds(20)));  // the saved block again
  EXPECT_TRUE(writer.is_active_block("192.0.2.5", t0));
  ASSERT_TRUE((*s)->refuse_writes(false).ok());
  EXPECT_TRUE(writer.write(none, t0 + seconds(5)));
  EXPECT_TRUE(writer.is_active_block("192.0.2.5", t0));  // now from the database
  EXPECT_FALSE(writer.is_active_block("192.0.2.7", t0));
}

}  // namespace
}  // namespace pbxwall::daemon
