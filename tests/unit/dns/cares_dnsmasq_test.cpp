// The c-ares resolver and the TrunkResolver against a real DNS server: dnsmasq on a loopback
// port, whose answers change during the test (hosts file rewritten + SIGHUP).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "dns/cares_resolver.h"
#include "dns/trunk_resolver.h"

extern char** environ;

namespace pbxwall::dns {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
std::set<IpAddress> set_of(const std::vector<IpAddress>& v) { return {v.begin(), v.end()}; }

bool can_bind(int type, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A port for dnsmasq, free for UDP and TCP, below the kernel's ephemeral range (32768 and up):
// an ephemeral port could also become the resolver's own source port, and a socket that sends
// to its own address and port reads its query back as if it were the answer.
std::uint16_t free_server_port() {
  const auto first = static_cast<std::uint16_t>(20000 + (::getpid() % 10000));
  for (std::uint16_t i = 0; i < 2000; ++i) {
    const auto port = static_cast<std::uint16_t>(20000 + (first - 20000 + i) % 12000);
    if (can_bind(SOCK_DGRAM, port) && can_bind(SOCK_STREAM, port)) return port;
  }
  return 0;
}

bool have_dnsmasq() { return fs::exists("/usr/sbin/dnsmasq"); }

// One dnsmasq process, stopped by the destructor.
class Dnsmasq {
 public:
  Dnsmasq(std::uint16_t port, const fs::path& hosts, std::vector<std::string> extra) {
    std::vector<std::string> args = {"dnsmasq", "--no-daemon", "--port=" + std::to_string(port),
                                     "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
                                     "--no-hosts", "--addn-hosts=" + hosts.string(), "--local-ttl=60",
                                     "--pid-file=", "--local=/example/", "--user=root", "--log-facility=/dev/null", "--quiet-dhcp"};
    for (auto& e : extra) args.push_back(std::move(e));
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, "/usr/sbin/dnsmasq", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
  }
  ~Dnsmasq() { stop(); }
  void hup() const { ::kill(pid_, SIGHUP); }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

class DnsmasqTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_dnsmasq()) GTEST_SKIP() << "dnsmasq not installed (dnsmasq-base)";
    dir_ = fs::temp_directory_path() / ("pbxwall-dns-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    hosts_ = dir_ / "hosts";
    port_ = free_server_port();
    ASSERT_NE(port_, 0) << "no free port between 20000 and 32000";
  }
  void TearDown() override {
    server_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write_hosts(const std::string& text) {
    std::ofstream(hosts_.string() + ".new") << text;
    fs::rename(hosts_.string() + ".new", hosts_);
  }
  void start(std::vector<std::string> extra = {}) {
    server_ = std::make_unique<Dnsmasq>(port_, hosts_, std::move(extra));
    ASSERT_TRUE(server_->running());
    const CaresOptions options{.servers = "127.0.0.1:" + std::to_string(port_), .timeout = 300ms,
                                         .tries = 1};
    // Bounded wait for the server to answer. Each probe uses a channel of its own: a query sent
    // before dnsmasq bound its port leaves an ICMP "port unreachable" pending on the socket,
    // which would fail the next query on that socket although the server is up by then.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      auto probe = CaresResolver::open(options);
      ASSERT_TRUE(probe.ok()) << probe.error();
      if ((*probe)->lookup({"ready.example", QueryType::a}).addresses == std::vector<IpAddress>{ip("192.0.2.10")})
        break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "dnsmasq did not answer";
    }
    auto r = CaresResolver::open(options);
    ASSERT_TRUE(r.ok()) << r.error();
    resolver_ = std::move(*r);
  }
  // Asks until the answer for `name` satisfies `pred` (dnsmasq rereads its hosts file on
  // SIGHUP asynchronously); bounded.
  template <class Pred>
  Answer wait_answer(const Question& q, Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    Answer a = resolver_->lookup(q);
    while (!pred(a) && std::chrono::steady_clock::now() < deadline) a = resolver_->lookup(q);
    return a;
  }
  bool pump(TrunkResolver& tr, TimePoint now) {
    bool changed = false;
    for (int round = 0; round < 5; ++round) {
      auto qs = tr.due(now);
      if (qs.empty()) break;
      for (const auto& q : qs) changed |= tr.on_answer(q, resolver_->lookup(q), now);
    }
    return changed;
  }

  fs::path dir_, hosts_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Dnsmasq> server_;
  std::unique_ptr<CaresResolver> resolver_;
};

TimePoint t0() { return TimePoint(std::chrono::seconds(1'700'000'000)); }

TEST_F(DnsmasqTest, AddressesWithTtlAndNoSuchName) {
  write_hosts("192.0.2.10 ready.example\n192.0.2.11 trunk.example\n2001:db8::11 trunk.example\n");
  start();
  auto a = resolver_->lookup({"trunk.example", QueryType::a});
  ASSERT_EQ(a.status, AnswerStatus::ok) << a.error;
  EXPECT_EQ(a.addresses, std::vector<IpAddress>{ip("192.0.2.11")});
  EXPECT_EQ(a.ttl, 60s);
  auto aaaa = resolver_->lookup({"trunk.example", QueryType::aaaa});
  EXPECT_EQ(aaaa.addresses, std::vector<IpAddress>{ip("2001:db8::11")});
  EXPECT_EQ(resolver_->lookup({"missing.example", QueryType::a}).status, AnswerStatus::no_name);
}

TEST_F(DnsmasqTest, DdnsTrunkMovesAndServerGoingAwayKeepsTheLastAddresses) {
  write_hosts("192.0.2.10 ready.example\n198.51.100.20 office.ddns.example\n");
  start();
  TrunkResolver tr;
  tr.set_names({"office.ddns.example"}, t0());
  EXPECT_TRUE(pump(tr, t0()));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("198.51.100.20")});

  // The branch office's router gets a new address from its ISP.
  write_hosts("192.0.2.10 ready.example\n198.51.100.21 office.ddns.example\n");
  server_->hup();
  auto moved = wait_answer({"office.ddns.example", QueryType::a},
                           [](const Answer& a) { return a.addresses == std::vector<IpAddress>{ip("198.51.100.21")}; });
  ASSERT_EQ(moved.addresses, std::vector<IpAddress>{ip("198.51.100.21")});
  EXPECT_TRUE(pump(tr, t0() + 60s));
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("198.51.100.21")}) << "new address allowed, old one dropped";

  // The DNS server goes away: the lookups fail and the last addresses stay.
  server_->stop();
  const auto failures = tr.counters().failures;
  EXPECT_FALSE(pump(tr, t0() + 3600s));
  EXPECT_GT(tr.counters().failures, failures);
  EXPECT_EQ(tr.addresses(), std::vector<IpAddress>{ip("198.51.100.21")});
}

TEST_F(DnsmasqTest, SrvTargetsAreFollowed) {
  write_hosts("192.0.2.10 ready.example\n203.0.113.1 edge1.voip.example\n203.0.113.2 edge2.voip.example\n"
              "2001:db8::2 edge2.voip.example\n");
  start({"--srv-host=_sip._udp.voip.example,edge1.voip.example,5060,10,50",
         "--srv-host=_sips._tcp.voip.example,edge2.voip.example,5061,10,50"});
  auto srv = resolver_->lookup({"_sip._udp.voip.example", QueryType::srv});
  ASSERT_EQ(srv.status, AnswerStatus::ok) << srv.error;
  ASSERT_EQ(srv.targets.size(), 1u);
  EXPECT_EQ(srv.targets[0].target, "edge1.voip.example");
  EXPECT_EQ(srv.targets[0].port, 5060);

  TrunkResolver tr;
  tr.set_names({"voip.example"}, t0());
  EXPECT_TRUE(pump(tr, t0()));
  EXPECT_EQ(set_of(tr.addresses()), (std::set<IpAddress>{ip("203.0.113.1"), ip("203.0.113.2"), ip("2001:db8::2")}));
}

}  // namespace
}  // namespace pbxwall::dns
