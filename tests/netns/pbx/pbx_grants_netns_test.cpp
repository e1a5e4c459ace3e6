// A registered extension reaches the services of its user, and nothing else, on a real kernel:
// the daemon's Firewall runs in a namespace with the real nftables applier and set writer, is
// fed the registration (REGISTER, 401, REGISTER with credentials, 200) as copied packets, and
// a client namespace then connects over TCP to UCP (tcp/81, granted) and SSH (tcp/22, not).
// Unregistering takes UCP away again. Trunk set updates are checked against the same kernel.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../packets/netns_lab.h"
#include "capture/synth.h"
#include "daemon/firewall.h"
#include "kernel/kernel.h"
#include "packets/conntrack_flusher.h"
#include "packets/nft_set_writer.h"

namespace pbxwall::daemon {
namespace {

using test::InNetns;
using test::NetnsLab;

const IpAddress kPbx = *IpAddress::parse("192.0.2.1");
const IpAddress kPhone = *IpAddress::parse("192.0.2.2");

std::string register_request(int cseq, bool credentials, int expires) {
  std::string m = "REGISTER sip:192.0.2.1 SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-r" + std::to_string(cseq) + ";rport\r\n"
                  "Max-Forwards: 70\r\n"
                  "From: <sip:301@192.0.2.1>;tag=ph1\r\n"
                  "To: <sip:301@192.0.2.1>\r\n"
                  "Call-ID: netns-phone-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n"
                  "Contact: <sip:301@192.0.2.2:5060>;expires=" + std::to_string(expires) + "\r\n"
                  "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n";
  if (credentials)
    m += "Authorization: Digest username=\"301\", realm=\"pbx\", nonce=\"abc\", uri=\"sip:192.0.2.1\", "
         "response=\"0123456789abcdef0123456789abcdef\", qop=auth, nc=00000001, cnonce=\"x\"\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

std::string answer(int cseq, int status, int expires) {
  std::string m = "SIP/2.0 " + std::to_string(status) + (status == 200 ? " OK" : " Unauthorized") + "\r\n"
                  "Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK-r" + std::to_string(cseq) + ";rport=5060\r\n"
                  "From: <sip:301@192.0.2.1>;tag=ph1\r\n"
                  "To: <sip:301@192.0.2.1>;tag=pbx1\r\n"
                  "Call-ID: netns-phone-reg\r\n"
                  "CSeq: " + std::to_string(cseq) + " REGISTER\r\n";
  if (status == 401) m += "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", qop=\"auth\"\r\n";
  if (status == 200) m += "Contact: <sip:301@192.0.2.2:5060>;expires=" + std::to_string(expires) + "\r\n";
  return m + "Content-Length: 0\r\n\r\n";
}

// A listening TCP socket in the current namespace.
int listen_tcp(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Connects from the client namespace with a bounded wait; true if the handshake completed.
bool client_connects(const NetnsLab& lab, std::uint16_t port) {
  int fd;
  {
    InNetns in(lab.peer);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  std::memcpy(&a.sin_addr, kPbx.bytes().data(), 4);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    ok = true;
  } else if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 1500) == 1) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      ok = err == 0;
    }
  }
  ::close(fd);
  return ok;
}

FirewallOptions options_for(const std::string& config_path) {
  FirewallOptions o;
  o.config_path = config_path;
  return o;
}

class PbxGrantsNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    lab_ = std::make_unique<NetnsLab>();
    dir_ = std::filesystem::temp_directory_path() / ("pbxwall-pbx-netns-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    lab_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::unique_ptr<NetnsLab> lab_;
  std::filesystem::path dir_;
};

TEST_F(PbxGrantsNetns, RegisteredExtensionReachesUcpButNotSshUntilItUnregisters) {
  InNetns in(lab_->fw);  // this thread is the firewall host from here on
  const int ucp = listen_tcp(81);
  const int ssh = listen_tcp(22);
  ASSERT_GE(ucp, 0);
  ASSERT_GE(ssh, 0);
  const std::string config = (dir_ / "pbxwall.toml").string();
  std::ofstream(config) << "[users.default]\nservices = [\"ucp\"]\n";
  auto store = store::StateStore::open((dir_ / "state.db").string());
  ASSERT_TRUE(store.ok()) << store.error();
  kernel::NftApplier applier;
  packets::NftSetWriter sets(applier);
  packets::RecordingConntrackFlusher conntrack;
  SystemClock clock;
  Firewall fw(Edges{applier, sets, conntrack, **store, clock}, options_for(config));
  auto started = fw.start();
  ASSERT_TRUE(started.ok()) << started.error();

  EXPECT_FALSE(client_connects(*lab_, 81)) << "UCP is closed to the internet zone before registration";
  EXPECT_FALSE(client_connects(*lab_, 22));

  auto in_packet = [&](const std::string& sip) { fw.on_packet(1, capture::synth::udp(kPhone, 5060, kPbx, 5060, sip), clock.now()); };
  auto out_packet = [&](const std::string& sip) { fw.on_packet(2, capture::synth::udp(kPbx, 5060, kPhone, 5060, sip), clock.now()); };
  in_packet(register_request(1, false, 300));
  out_packet(answer(1, 401, 300));
  in_packet(register_request(2, true, 300));
  out_packet(answer(2, 200, 300));
  fw.flush();
  ASSERT_EQ(fw.grants().holders(), 1u);
  auto listed = NetnsLab::in(lab_->fw, "nft list set inet pbxwall grants4");
  EXPECT_NE(listed.output.find("192.0.2.2 . tcp . 81"), std::string::npos) << listed.output;

  EXPECT_TRUE(client_connects(*lab_, 81)) << "the registered extension reaches UCP";
  EXPECT_FALSE(client_connects(*lab_, 22)) << "but not SSH";

  // The phone unregisters (Expires 0): validation and grants go.
  in_packet(register_request(3, true, 0));
  out_packet(answer(3, 200, 0));
  fw.flush();
  EXPECT_EQ(fw.grants().holders(), 0u);
  listed = NetnsLab::in(lab_->fw, "nft list set inet pbxwall grants4");
  EXPECT_EQ(listed.output.find("192.0.2.2 . tcp . 81"), std::string::npos) << listed.output;
  EXPECT_FALSE(client_connects(*lab_, 81)) << "UCP is closed again after unregistering";

  ::close(ucp);
  ::close(ssh);
}

TEST_F(PbxGrantsNetns, TrunkSetContentsAreReplacedWithoutAReload) {
  InNetns in(lab_->fw);
  const std::string config = (dir_ / "pbxwall.toml").string();
  std::ofstream(config) << "";
  auto store = store::StateStore::open((dir_ / "state.db").string());
  ASSERT_TRUE(store.ok()) << store.error();
  kernel::NftApplier applier;
  packets::NftSetWriter sets(applier);
  packets::RecordingConntrackFlusher conntrack;
  SystemClock clock;
  Firewall fw(Edges{applier, sets, conntrack, **store, clock}, options_for(config));
  ASSERT_TRUE(fw.start().ok());

  // Adjacent addresses merge into one interval; nft lists a merged interval that is not
  // CIDR-aligned as first-last, and an aligned one as a network.
  auto s = fw.set_trunks({*Cidr::parse("198.51.100.21/32"), *Cidr::parse("198.51.100.22/32"), *Cidr::parse("203.0.113.0/28"),
                          *Cidr::parse("2001:db8::20/128")});
  ASSERT_TRUE(s.ok()) << s.error();
  auto v4 = NetnsLab::in(lab_->fw, "nft list set inet pbxwall trunks4").output;
  EXPECT_NE(v4.find("198.51.100.21-198.51.100.22"), std::string::npos) << v4;
  EXPECT_NE(v4.find("203.0.113.0/28"), std::string::npos) << v4;
  EXPECT_NE(NetnsLab::in(lab_->fw, "nft list set inet pbxwall trunks6").output.find("2001:db8::20"), std::string::npos);

  // The DDNS trunk moves: the old address goes, the new one comes, in one transaction.
  s = fw.set_trunks({*Cidr::parse("198.51.100.22/32"), *Cidr::parse("203.0.113.0/28")});
  ASSERT_TRUE(s.ok()) << s.error();
  v4 = NetnsLab::in(lab_->fw, "nft list set inet pbxwall trunks4").output;
  EXPECT_EQ(v4.find("198.51.100.21"), std::string::npos) << v4;
  EXPECT_NE(v4.find("198.51.100.22"), std::string::npos) << v4;
  EXPECT_EQ(NetnsLab::in(lab_->fw, "nft list set inet pbxwall trunks6").output.find("2001:db8::20"), std::string::npos);
  EXPECT_EQ(fw.counters().reloads, 1u) << "no ruleset reload for trunk changes";
}

}  // namespace
}  // namespace pbxwall::daemon
