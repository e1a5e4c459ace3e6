// The receive loop shared by the log and queue sources, on a datagram socket pair standing in
// for the netlink socket: every pending message is handed over, the per-call bound and the
// stop condition hold, refused messages are counted, and an empty socket ends the call.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "packets/netlink_receive.h"

namespace pbxwall::packets {
namespace {

class ReceivePending : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_), 0);
    auto prepared = prepare_netlink_socket(fds_[0], 1 << 20, "test");
    ASSERT_TRUE(prepared.ok()) << prepared.error();
  }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  void send(const std::string& m) { ASSERT_EQ(::send(fds_[1], m.data(), m.size(), 0), static_cast<ssize_t>(m.size())); }

  Status<std::string> receive(std::size_t max, const std::function<bool()>& stop = [] { return false; }) {
    return receive_pending(
        fds_[0], buffer_, max,
        [this](char* data, int length) {
          received_.emplace_back(data, static_cast<std::size_t>(length));
          return received_.back() == "bad" ? -1 : 0;
        },
        stop, {overruns_, malformed_}, "test");
  }

  int fds_[2] = {-1, -1};
  std::vector<char> buffer_ = std::vector<char>(4096);
  std::vector<std::string> received_;
  std::uint64_t overruns_ = 0, malformed_ = 0;
};

TEST_F(ReceivePending, HandsOverEveryPendingMessageThenReturns) {
  send("one");
  send("bad");
  send("three");
  auto r = receive(100);  // returns on EAGAIN: the socket was made non-blocking
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(received_, (std::vector<std::string>{"one", "bad", "three"}));
  EXPECT_EQ(malformed_, 1u);
  EXPECT_EQ(overruns_, 0u);
  ASSERT_TRUE(receive(100).ok());  // nothing pending: returns at once
  EXPECT_EQ(received_.size(), 3u);
}

TEST_F(ReceivePending, StopsAtTheBoundAndLeavesTheRest) {
  for (int i = 0; i < 5; ++i) send("m" + std::to_string(i));
  ASSERT_TRUE(receive(2).ok());
  EXPECT_EQ(received_, (std::vector<std::string>{"m0", "m1"}));
  ASSERT_TRUE(receive(100).ok());
  EXPECT_EQ(received_.size(), 5u);
}

TEST_F(ReceivePending, StopsWhenToldTo) {
  send("a");
  send("b");
  ASSERT_TRUE(receive(100, [this] { return !received_.empty(); }).ok());
  EXPECT_EQ(received_, (std::vector<std::string>{"a"}));
}

TEST_F(ReceivePending, SocketErrorsNameTheSource) {
  ::close(fds_[0]);
  auto r = receive(1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("test: receiving: ", 0), 0u) << r.error();
  fds_[0] = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // for TearDown
}

}  // namespace
}  // namespace pbxwall::packets
