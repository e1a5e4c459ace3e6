// RetryingSetUpdater: what the kernel refused stays owed, is resent with the next commit or by
// retry(), and is superseded by a newer change of the same key.
#include <gtest/gtest.h>

#include "packets/recording_set_updater.h"
#include "packets/retrying_set_updater.h"

namespace pbxwall::packets {
namespace {

const IpAddress kA = *IpAddress::parse("192.0.2.1");
const IpAddress kB = *IpAddress::parse("192.0.2.2");

SetElement block(const IpAddress& a) { return {SetKey::blocked(a), std::chrono::seconds(60), "test"}; }

TEST(RetryingSetUpdater, ARefusedCommitIsOwedAndResentByRetry) {
  RecordingSetUpdater kernel;
  RetryingSetUpdater sets(kernel);
  sets.add(block(kA));
  kernel.fail_next = "No such file or directory";
  EXPECT_FALSE(sets.commit().ok());
  EXPECT_EQ(sets.owed(), 1u);
  EXPECT_EQ(sets.pending(), 0u);
  ASSERT_TRUE(sets.last_error());
  EXPECT_EQ(*sets.last_error(), "No such file or directory");
  EXPECT_TRUE(kernel.contents().empty());

  ASSERT_TRUE(sets.retry().ok());
  EXPECT_EQ(sets.owed(), 0u);
  EXPECT_FALSE(sets.last_error());
  EXPECT_EQ(kernel.contents().count(SetKey::blocked(kA)), 1u);
  EXPECT_EQ(sets.stats().retries, 1u);
  EXPECT_EQ(sets.stats().retried_ok, 1u);
}

TEST(RetryingSetUpdater, OwedChangesRideAlongAndANewerChangeSupersedesThem) {
  RecordingSetUpdater kernel;
  RetryingSetUpdater sets(kernel);
  sets.add(block(kA));
  sets.add(block(kB));
  kernel.fail_next = "refused";
  EXPECT_FALSE(sets.commit().ok());
  sets.remove(SetKey::blocked(kB));  // unblocked meanwhile
  ASSERT_TRUE(sets.commit().ok());
  ASSERT_EQ(kernel.commits.size(), 1u);
  EXPECT_EQ(kernel.commits[0].added, (std::vector<SetElement>{block(kA)}));
  EXPECT_EQ(kernel.commits[0].removed, (std::vector<SetKey>{SetKey::blocked(kB)}));
  EXPECT_EQ(sets.owed(), 0u);
}

TEST(RetryingSetUpdater, RetryKeepsThisTicksQueueAndForgiveDropsWhatIsOwed) {
  RecordingSetUpdater kernel;
  RetryingSetUpdater sets(kernel);
  sets.add(block(kA));
  kernel.fail_next = "refused";
  EXPECT_FALSE(sets.commit().ok());
  sets.add(block(kB));
  ASSERT_TRUE(sets.retry().ok());
  EXPECT_EQ(sets.pending(), 1u);  // kB still waits for its tick's commit
  EXPECT_EQ(kernel.contents().count(SetKey::blocked(kB)), 0u);

  kernel.fail_next = "refused";
  EXPECT_FALSE(sets.commit().ok());
  EXPECT_EQ(sets.owed(), 1u);
  sets.forgive();
  EXPECT_EQ(sets.owed(), 0u);
  EXPECT_TRUE(sets.retry().ok());
  EXPECT_EQ(kernel.commits.size(), 1u);  // nothing sent
}

}  // namespace
}  // namespace pbxwall::packets
