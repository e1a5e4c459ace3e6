// The worker-thread conntrack flusher: every queued source reaches the inner flusher (once per
// walk, sorted), what is queued meanwhile is taken in one call, nothing is lost at destruction,
// and the rest between walks bounds their share of a core.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "packets/background_conntrack_flusher.h"

namespace pbxwall::packets {
namespace {

// Records calls; the first call waits until released, so that later sources pile up.
class GatedFlusher final : public ConntrackFlusher {
 public:
  Result<std::size_t> flush_udp(std::span<const IpAddress> sources) override {
    std::unique_lock lock(mutex);
    calls.emplace_back(sources.begin(), sources.end());
    changed.notify_all();
    changed.wait(lock, [this] { return released; });
    if (fail_next) {
      fail_next = false;
      return fail("conntrack: listing entries: Operation not permitted");
    }
    return sources.size();
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::vector<IpAddress>> calls;
  bool released = false;
  bool fail_next = false;
};

// Owned by the flusher under test, forwarding to a gate the test keeps after it is gone.
class Forwarder final : public ConntrackFlusher {
 public:
  explicit Forwarder(ConntrackFlusher& to) : to_(to) {}
  Result<std::size_t> flush_udp(std::span<const IpAddress> sources) override { return to_.flush_udp(sources); }

 private:
  ConntrackFlusher& to_;
};

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

TEST(BackgroundConntrackFlusher, QueuesWhileBusyAndDrainsAtDestruction) {
  GatedFlusher inner;
  auto owned = std::make_unique<Forwarder>(inner);
  {
    BackgroundConntrackFlusher flusher(std::move(owned));
    const IpAddress first[] = {ip("192.0.2.1")};
    auto r = flusher.flush_udp(first);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 0u);  // queued, not done
    {
      std::unique_lock lock(inner.mutex);
      ASSERT_TRUE(inner.changed.wait_for(lock, std::chrono::seconds(5), [&] { return inner.calls.size() == 1; }));
    }
    // The worker is inside the first call: these two wait and go together.
    const IpAddress second[] = {ip("192.0.2.2")};
    const IpAddress third[] = {ip("2001:db8::3"), ip("192.0.2.4")};
    ASSERT_TRUE(flusher.flush_udp(second).ok());
    ASSERT_TRUE(flusher.flush_udp(third).ok());
    ASSERT_TRUE(flusher.flush_udp({}).ok());  // nothing to queue
    {
      std::lock_guard lock(inner.mutex);
      inner.released = true;
    }
    inner.changed.notify_all();
  }  // destruction waits for the queue to drain
  ASSERT_EQ(inner.calls.size(), 2u);
  EXPECT_EQ(inner.calls[0], (std::vector<IpAddress>{ip("192.0.2.1")}));
  EXPECT_EQ(inner.calls[1], (std::vector<IpAddress>{ip("2001:db8::3"), ip("192.0.2.2"), ip("192.0.2.4")}));
}

TEST(BackgroundConntrackFlusher, ABurstOfBlocksIsOneWalkPerRest) {
  GatedFlusher inner;
  auto owned = std::make_unique<Forwarder>(inner);
  {
    BackgroundConntrackFlusher flusher(std::move(owned));
    const IpAddress first[] = {ip("192.0.2.1")};
    ASSERT_TRUE(flusher.flush_udp(first).ok());
    {
      std::unique_lock lock(inner.mutex);
      ASSERT_TRUE(inner.changed.wait_for(lock, std::chrono::seconds(5), [&] { return inner.calls.size() == 1; }));
    }
    // 1,000 blocks (250 sources, each four times) while the first walk runs: one more walk.
    for (int round = 0; round < 4; ++round)
      for (int i = 0; i < 250; ++i) {
        const IpAddress one[] = {IpAddress::v4(0xc6336400u + static_cast<std::uint32_t>(i))};
        ASSERT_TRUE(flusher.flush_udp(one).ok());
      }
    {
      std::lock_guard lock(inner.mutex);
      inner.released = true;
    }
    inner.changed.notify_all();
  }
  ASSERT_EQ(inner.calls.size(), 2u);
  EXPECT_EQ(inner.calls[1].size(), 250u);  // each source once
  EXPECT_TRUE(std::is_sorted(inner.calls[1].begin(), inner.calls[1].end()));
}

TEST(BackgroundConntrackFlusher, RestsFourTimesTheWalkWithinBounds) {
  using std::chrono::milliseconds;
  EXPECT_EQ(conntrack_rest_after(milliseconds(1)), BackgroundConntrackFlusher::kMinRest);
  EXPECT_EQ(conntrack_rest_after(milliseconds(100)), milliseconds(400));
  EXPECT_EQ(conntrack_rest_after(milliseconds(5000)), BackgroundConntrackFlusher::kMaxRest);
}

TEST(BackgroundConntrackFlusher, CountsDeletionsAndFailures) {
  GatedFlusher inner;
  auto owned = std::make_unique<Forwarder>(inner);
  inner.released = true;
  inner.fail_next = true;
  BackgroundConntrackFlusher flusher(std::move(owned));
  const IpAddress one[] = {ip("192.0.2.1")};
  const IpAddress two[] = {ip("192.0.2.2"), ip("192.0.2.3")};
  ASSERT_TRUE(flusher.flush_udp(one).ok());
  {
    std::unique_lock lock(inner.mutex);
    ASSERT_TRUE(inner.changed.wait_for(lock, std::chrono::seconds(5), [&] { return inner.calls.size() == 1; }));
  }
  ASSERT_TRUE(flusher.flush_udp(two).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (flusher.deleted() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::unique_lock lock(inner.mutex);
    inner.changed.wait_for(lock, std::chrono::milliseconds(50), [&] { return inner.calls.size() == 2; });
  }
  EXPECT_EQ(flusher.deleted(), 2u);
  EXPECT_EQ(flusher.failures(), 1u);
}

}  // namespace
}  // namespace pbxwall::packets
