#include <gtest/gtest.h>

#include "store/store.h"
#include "temp_dir.h"

namespace pbxwall::store {
namespace {

const TimePoint t0 = from_epoch_seconds(1'700'000'000);

TEST(Outbox, KeptAcrossReopeningInOrderUntilRemoved) {
  test::TempDir dir;
  const std::string path = (dir.path() / "state.db").string();
  {
    auto s = StateStore::open(path);
    ASSERT_TRUE(s.ok()) << s.error();
    for (std::int64_t seq : {3, 1, 2})
      ASSERT_TRUE((*s)->add_outbox({seq, "ban", "203.0.113." + std::to_string(seq), "fingerprint", "svwar", t0,
                                    t0 + std::chrono::hours(1)})
                      .ok());
    ASSERT_TRUE((*s)->add_outbox({4, "unban", "2001:db8::/64", "manual", "", t0, t0}).ok());
    ASSERT_TRUE((*s)->remove_outbox({2}).ok());
  }
  auto s = StateStore::open(path);
  ASSERT_TRUE(s.ok()) << s.error();
  auto items = (*s)->outbox();
  ASSERT_TRUE(items.ok()) << items.error();
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[0].seq, 1);
  EXPECT_EQ((*items)[0].address, "203.0.113.1");
  EXPECT_EQ((*items)[0].until, t0 + std::chrono::hours(1));
  EXPECT_EQ((*items)[1].seq, 3);
  EXPECT_EQ((*items)[2].kind, "unban");
  ASSERT_TRUE((*s)->remove_outbox({1, 3, 4}).ok());
  EXPECT_TRUE((*s)->outbox()->empty());
}

}  // namespace
}  // namespace pbxwall::store
