// The control socket's followers (`pbxwall events --follow`): each gets the new events its
// request asked for, with --addr only those of that address or network.
#include "daemon/control_server.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

class ControlServerTest : public test::FirewallFixture {
 protected:
  // A client connection to the socket at `path`.
  static int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    // NOLINTNEXTLINE: the socket API takes the generic sockaddr.
    EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }
  // Runs the event loop until `fd` has a whole line to read (at most 2 s), and returns it.
  std::string next_line(int fd) {
    std::string line;
    for (int round = 0; round < 2000; ++round) {
      io_.poll();
      io_.restart();
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1) <= 0) continue;
      char c;
      while (::recv(fd, &c, 1, MSG_DONTWAIT) == 1) {
        if (c == '\n') return line;
        line += c;
      }
    }
    ADD_FAILURE() << "no line from the control socket";
    return line;
  }
  // Whether `fd` has anything to read after the event loop ran dry.
  bool quiet(int fd) {
    for (int round = 0; round < 20; ++round) {
      io_.poll();
      io_.restart();
    }
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 10) == 0;
  }
  static void send_line(int fd, const json& request) {
    const std::string text = request.dump() + "\n";
    ASSERT_EQ(::send(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
  }
  static store::EventRecord event_of(const std::string& addr) {
    store::EventRecord e;
    e.id = 7;
    e.kind = "block";
    e.address = addr;
    return e;
  }

  asio::io_context io_;
};

TEST_F(ControlServerTest, AFollowerWithAnAddressFilterGetsOnlyItsEvents) {
  auto& fw = start("");
  const std::string path = (dir_ / "control.sock").string();
  auto server = ControlServer::open(io_, path, fw);
  ASSERT_TRUE(server.ok()) << server.error();
  (*server)->start();
  const int all = connect_to(path);
  const int some = connect_to(path);
  send_line(all, {{"cmd", "events"}, {"follow", true}});
  EXPECT_EQ(json::parse(next_line(all))["ok"], true);
  send_line(some, {{"cmd", "events"}, {"follow", true}, {"addr", "192.0.2.0/24"}});
  EXPECT_EQ(json::parse(next_line(some))["ok"], true);

  (*server)->publish(event_of("198.51.100.7"));
  EXPECT_EQ(json::parse(next_line(all))["addr"], "198.51.100.7");
  EXPECT_TRUE(quiet(some));
  (*server)->publish(event_of("192.0.2.9"));
  EXPECT_EQ(json::parse(next_line(all))["addr"], "192.0.2.9");
  EXPECT_EQ(json::parse(next_line(some))["addr"], "192.0.2.9");
  ::close(all);
  ::close(some);
}

}  // namespace
}  // namespace pbxwall::daemon
