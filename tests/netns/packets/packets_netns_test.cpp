// The live packet path against a real kernel, in network namespaces: logged packets reach the
// NflogSource, set updates block and unblock a source, conntrack entries of a source go, and
// the queue probe agrees with the kernel. Needs root; skipped otherwise.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <regex>

#include "kernel/kernel.h"
#include "netns_lab.h"
#include "packets/packets.h"

namespace pbxwall::packets {
namespace {

using std::chrono::seconds;
using test::InNetns;
using test::NetnsLab;
using test::PeerSender;

IpAddress ip(const char* text) { return *IpAddress::parse(text); }

const IpAddress kFw4 = ip("192.0.2.1");
const IpAddress kFw6 = ip("2001:db8:1::1");
const IpAddress kPeerA = ip("192.0.2.2");
const IpAddress kPeerB = ip("192.0.2.3");
const IpAddress kPeer6 = ip("2001:db8:1::2");
constexpr std::uint16_t kGroup = 7;

// The responsive sets as the ruleset declares them, and an input chain that drops blocked
// sources and logs the rest of the SIP traffic to group 7. `ct state` makes conntrack track
// flows in this namespace.
constexpr const char* kTable = R"(table inet pbxwall {
  set blocked4 { type ipv4_addr; flags dynamic,timeout; }
  set blocked6 { type ipv6_addr; flags dynamic,timeout; }
  set validated4 { type ipv4_addr; flags timeout; }
  set validated6 { type ipv6_addr; flags timeout; }
  set grants4 { type ipv4_addr . inet_proto . inet_service; flags timeout; }
  set grants6 { type ipv6_addr . inet_proto . inet_service; flags timeout; }
  set blocked_nets6 { type ipv6_addr; flags interval,timeout; }
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related counter
    ip saddr @blocked4 counter drop
    ip6 saddr @blocked6 counter drop
    udp dport 5060 counter log prefix "sip-in" group 7
  }
}
)";

struct Received {
  IpAddress source;
  std::string text;  // UDP payload
  std::uint16_t group = 0;
  std::string indev, prefix;
  std::optional<TimePoint> timestamp;
  std::size_t ip_bytes = 0;
};

// Source address and UDP payload of an IPv4/IPv6 UDP packet (no extension headers).
bool decode(std::span<const std::uint8_t> p, Received& out) {
  if (p.empty()) return false;
  std::size_t l4 = 0;
  if ((p[0] >> 4) == 4 && p.size() >= 20) {
    out.source = IpAddress::v4_bytes(&p[12]);
    l4 = static_cast<std::size_t>(p[0] & 0x0F) * 4;
  } else if ((p[0] >> 4) == 6 && p.size() >= 40) {
    out.source = IpAddress::v6_bytes(&p[8]);
    l4 = 40;
  } else {
    return false;
  }
  if (p.size() < l4 + 8) return false;
  out.text.assign(reinterpret_cast<const char*>(&p[l4 + 8]), p.size() - l4 - 8);
  out.ip_bytes = p.size();
  return true;
}

class PacketsNetns : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    lab_ = std::make_unique<NetnsLab>();
    InNetns in(lab_->fw);
    nft_ = std::make_unique<kernel::NftApplier>();
    auto st = nft_->apply(kTable);
    ASSERT_TRUE(st.ok()) << st.error();
    auto source = NflogSource::open({kGroup});
    ASSERT_TRUE(source.ok()) << source.error();
    source_ = std::move(*source);
  }

  // Drains until `count` packets came from `from` (or the deadline); returns all received.
  bool receive_until(const IpAddress& from, std::size_t count) {
    auto matching = [&] {
      std::size_t n = 0;
      for (const auto& r : received_) n += r.source == from ? 1 : 0;
      return n;
    };
    return test::wait_until(
        source_->fd(),
        [&] {
          auto n = source_->drain([&](const PacketView& v) {
            Received r;
            if (!decode(v.payload, r)) return;
            r.group = v.group;
            r.indev = std::string(v.indev);
            r.prefix = std::string(v.prefix);
            r.timestamp = v.timestamp;
            received_.push_back(std::move(r));
          });
          ASSERT_TRUE(n.ok()) << n.error();
        },
        [&] { return matching() >= count; });
  }

  std::size_t count_from(const IpAddress& from) const {
    std::size_t n = 0;
    for (const auto& r : received_) n += r.source == from ? 1 : 0;
    return n;
  }

  std::string list_set(const std::string& set) {
    return NetnsLab::in(lab_->fw, "nft list set inet pbxwall " + set).output;
  }

  std::unique_ptr<NetnsLab> lab_;
  std::unique_ptr<kernel::NftApplier> nft_;
  std::unique_ptr<NflogSource> source_;
  std::vector<Received> received_;
};

TEST_F(PacketsNetns, NflogDeliversLoggedPacketsWithPayloadAndDevice) {
  constexpr int kCount = 50;
  PeerSender a(*lab_, kPeerA);
  PeerSender v6(*lab_, kPeer6);
  for (int i = 0; i < kCount; ++i)
    ASSERT_TRUE(a.send(kFw4, 5060, "OPTIONS sip:100@192.0.2.1 SIP/2.0 #" + std::to_string(i)));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(v6.send(kFw6, 5060, "REGISTER v6 #" + std::to_string(i)));
  ASSERT_TRUE(a.send(kFw4, 5070, "not logged: other port"));

  ASSERT_TRUE(receive_until(kPeerA, kCount));
  ASSERT_TRUE(receive_until(kPeer6, 5));
  std::vector<std::string> texts;
  for (const auto& r : received_) {
    if (r.source != kPeerA) continue;
    texts.push_back(r.text);
    EXPECT_EQ(r.group, kGroup);
    EXPECT_EQ(r.indev, "v0");
    EXPECT_EQ(r.prefix, "sip-in");
  }
  ASSERT_EQ(texts.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i)
    EXPECT_EQ(texts[static_cast<std::size_t>(i)], "OPTIONS sip:100@192.0.2.1 SIP/2.0 #" + std::to_string(i));
  const TimePoint now = SystemClock().now();
  std::size_t stamped = 0;
  for (const auto& r : received_) {
    EXPECT_EQ(r.text.find("not logged"), std::string::npos);
    if (!r.timestamp) continue;  // the kernel stamps packets only when timestamping is on
    ++stamped;
    EXPECT_LT(std::chrono::abs(now - *r.timestamp), std::chrono::minutes(1));
  }
  std::printf("%zu of %zu packets carried a kernel timestamp\n", stamped, received_.size());
  EXPECT_EQ(source_->stats().overruns, 0u);
  EXPECT_EQ(source_->stats().truncated, 0u);
  EXPECT_EQ(source_->stats().malformed, 0u);
  EXPECT_EQ(source_->stats().packets, received_.size());
}

TEST_F(PacketsNetns, LongPacketsAreCutToTheCopyRangeAndCounted) {
  source_.reset();
  {
    InNetns in(lab_->fw);
    NflogOptions options;
    options.copy_range = 200;
    auto source = NflogSource::open({kGroup}, options);
    ASSERT_TRUE(source.ok()) << source.error();
    source_ = std::move(*source);
  }
  PeerSender a(*lab_, kPeerA);
  ASSERT_TRUE(a.send(kFw4, 5060, std::string(1000, 'x')));
  ASSERT_TRUE(receive_until(kPeerA, 1));
  EXPECT_EQ(received_.front().ip_bytes, 200u);
  EXPECT_EQ(source_->stats().truncated, 1u);
}

TEST_F(PacketsNetns, ReceiveBufferOverflowIsCountedNotFatal) {
  source_.reset();
  {
    InNetns in(lab_->fw);
    NflogOptions options;
    options.receive_buffer_bytes = 4096;  // the kernel's minimum is about 2 KiB
    auto source = NflogSource::open({kGroup}, options);
    ASSERT_TRUE(source.ok()) << source.error();
    source_ = std::move(*source);
  }
  constexpr int kSent = 300;
  PeerSender a(*lab_, kPeerA);
  for (int i = 0; i < kSent; ++i) ASSERT_TRUE(a.send(kFw4, 5060, std::string(200, 'o')));
  // Wait until the kernel has logged them all (the log rule's counter), without reading.
  const std::string logged = "counter packets " + std::to_string(kSent) + " ";
  const auto end = std::chrono::steady_clock::now() + seconds(5);
  std::string chain;
  while (std::chrono::steady_clock::now() < end) {
    chain = NetnsLab::in(lab_->fw, "nft list chain inet pbxwall input").output;
    if (chain.find(logged + "bytes") != std::string::npos) break;
  }
  ASSERT_NE(chain.find(logged), std::string::npos) << chain;

  auto first = source_->drain([](const PacketView&) {});
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_LT(*first, static_cast<std::size_t>(kSent));
  EXPECT_GE(source_->stats().overruns, 1u);
  // The source keeps working after an overflow.
  ASSERT_TRUE(a.send(kFw4, 5060, "after overflow"));
  received_.clear();
  ASSERT_TRUE(receive_until(kPeerA, 1));
  EXPECT_EQ(received_.back().text, "after overflow");
}

TEST_F(PacketsNetns, SecondBindOfAGroupIsAClearError) {
  InNetns in(lab_->fw);
  auto again = NflogSource::open({kGroup});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().find("group 7"), std::string::npos) << again.error();
}

// What both set writers must do: add with timeout and comment, renew, remove, ignore the
// removal of an absent element, keep the batch whole.
void check_set_writer(SetUpdater& writer, const std::function<std::string(const std::string&)>& list_set) {
  writer.add({SetKey::blocked(kPeerA), seconds(900), "svwar fingerprint: User-Agent \"friendly-scanner\""});
  writer.add({SetKey::blocked(ip("2001:db8:1::66")), seconds(600), "7 usernames tried in 40 s"});
  writer.add({SetKey::validated(kPeer6), seconds(3600), "300"});
  writer.add({SetKey::grant(kPeerB, IPPROTO_UDP, 5060), seconds(120), "user 301"});
  writer.add({SetKey::grant(kPeer6, IPPROTO_TCP, 5061), seconds(120), "user 302"});
  writer.remove(SetKey::blocked(ip("192.0.2.99")));  // absent: must not fail the batch
  auto st = writer.commit();
  ASSERT_TRUE(st.ok()) << st.error();

  const std::string blocked4 = list_set("blocked4");
  EXPECT_TRUE(std::regex_search(blocked4, std::regex(R"(192\.0\.2\.2 timeout 15m expires \S+ comment "svwar fingerprint: User-Agent 'friendly-scanner'")")))
      << blocked4;
  EXPECT_EQ(blocked4.find("192.0.2.99"), std::string::npos);
  EXPECT_NE(list_set("blocked6").find("2001:db8:1::66 timeout 10m"), std::string::npos);
  EXPECT_NE(list_set("validated6").find("2001:db8:1::2 timeout 1h"), std::string::npos);
  EXPECT_NE(list_set("grants4").find("192.0.2.3 . udp . 5060 timeout 2m"), std::string::npos) << list_set("grants4");
  EXPECT_NE(list_set("grants6").find("2001:db8:1::2 . tcp . 5061 timeout 2m"), std::string::npos) << list_set("grants6");

  // Re-adding renews timeout and comment.
  writer.add({SetKey::blocked(kPeerA), seconds(30), "blocked again"});
  ASSERT_TRUE(writer.commit().ok());
  const std::string renewed = list_set("blocked4");
  EXPECT_NE(renewed.find("192.0.2.2 timeout 30s"), std::string::npos) << renewed;
  EXPECT_NE(renewed.find("comment \"blocked again\""), std::string::npos) << renewed;

  writer.remove(SetKey::blocked(kPeerA));
  writer.remove(SetKey::grant(kPeerB, IPPROTO_UDP, 5060));
  ASSERT_TRUE(writer.commit().ok());
  EXPECT_EQ(list_set("blocked4").find("192.0.2.2"), std::string::npos);
  EXPECT_EQ(list_set("grants4").find("192.0.2.3"), std::string::npos);
}

TEST_F(PacketsNetns, SetWriterAddsRefreshesAndRemovesElements) {
  InNetns in(lab_->fw);
  NftSetWriter writer(*nft_);
  check_set_writer(writer, [&](const std::string& set) { return list_set(set); });
  EXPECT_EQ(writer.stats().commits, 3u);

  // A batch for a table that does not exist fails whole, with nft's reason.
  SetWriterOptions elsewhere;
  elsewhere.table = "missing";
  NftSetWriter lost(*nft_, elsewhere);
  lost.add({SetKey::blocked(kPeerB), seconds(1), ""});
  auto failed = lost.commit();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().find("inet missing"), std::string::npos) << failed.error();
}

TEST_F(PacketsNetns, NetlinkSetWriterAddsRefreshesAndRemovesElements) {
  std::unique_ptr<NetlinkSetWriter> writer, lost;
  SetWriterOptions elsewhere;
  elsewhere.table = "missing";
  {
    InNetns in(lab_->fw);
    auto opened = NetlinkSetWriter::open(*nft_);
    ASSERT_TRUE(opened.ok()) << opened.error();
    writer = std::move(*opened);
    auto other = NetlinkSetWriter::open(*nft_, elsewhere);
    ASSERT_TRUE(other.ok()) << other.error();
    lost = std::move(*other);
  }
  check_set_writer(*writer, [&](const std::string& set) { return list_set(set); });
  EXPECT_EQ(writer->stats().commits, 3u);
  EXPECT_EQ(writer->stats().elements_added, 6u);
  EXPECT_EQ(writer->stats().elements_removed, 3u);

  // A tick with a network block goes through libnftables, whole.
  writer->add({SetKey::blocked_net(*Cidr::parse("2001:db8:77::/64")), seconds(600), "address rotation"});
  writer->add({SetKey::blocked(kPeerB), seconds(600), "same tick"});
  auto st = writer->commit();
  ASSERT_TRUE(st.ok()) << st.error();
  EXPECT_NE(list_set("blocked_nets6").find("2001:db8:77::/64 timeout 10m"), std::string::npos) << list_set("blocked_nets6");
  EXPECT_NE(list_set("blocked4").find("192.0.2.3 timeout 10m"), std::string::npos);

  // A batch for a table that does not exist fails whole, naming the table and the reason;
  // the writer stays usable.
  lost->add({SetKey::blocked(kPeerB), seconds(1), ""});
  lost->add({SetKey::validated(kPeerA), seconds(1), ""});
  auto failed = lost->commit();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), "updating sets of table inet missing: No such file or directory");
  EXPECT_EQ(lost->stats().failed_commits, 1u);
  writer->remove(SetKey::blocked(kPeerB));
  ASSERT_TRUE(writer->commit().ok());
  EXPECT_EQ(list_set("blocked4").find("192.0.2.3"), std::string::npos);
}

TEST_F(PacketsNetns, NetlinkSetWriterNamesTheElementTheKernelRefuses) {
  // A set without the timeout flag refuses an element with a timeout; the kernel's extended
  // ACK points at that element, and nothing of the batch is applied.
  const auto made = NetnsLab::in(lab_->fw,
                                 "nft 'add table inet strict; add set inet strict blocked4 { type ipv4_addr; }; "
                                 "add set inet strict validated4 { type ipv4_addr; flags timeout; }'");
  ASSERT_EQ(made.status, 0) << made.output;
  SetWriterOptions strict;
  strict.table = "strict";
  std::unique_ptr<NetlinkSetWriter> writer;
  {
    InNetns in(lab_->fw);
    auto opened = NetlinkSetWriter::open(*nft_, strict);
    ASSERT_TRUE(opened.ok()) << opened.error();
    writer = std::move(*opened);
  }
  writer->add({SetKey::validated(kPeerA), seconds(60), "fine alone"});
  writer->add({SetKey::blocked(kPeerA), seconds(0), "no timeout"});
  writer->add({SetKey::blocked(kPeerB), seconds(60), "timeout refused"});
  auto failed = writer->commit();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), "updating sets of table inet strict: blocked4 " + kPeerB.str() +
                                " (add with timeout): " + std::strerror(EINVAL))
      << failed.error();
  const auto listed = NetnsLab::in(lab_->fw, "nft list table inet strict").output;
  EXPECT_EQ(listed.find(kPeerA.str()), std::string::npos) << listed;

  // Naming a set the table lacks names the set.
  writer->add({SetKey::grant(kPeerA, IPPROTO_UDP, 5060), seconds(60), ""});
  failed = writer->commit();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error(), "updating sets of table inet strict: set grants4: " + std::string(std::strerror(ENOENT)))
      << failed.error();
  EXPECT_EQ(writer->stats().failed_commits, 2u);
}

TEST_F(PacketsNetns, BlockedSourceStopsArrivingAndReturnsWhenUnblocked) {
  NftSetWriter writer(*nft_);
  {
    InNetns in(lab_->fw);
    writer.add({SetKey::blocked(kPeerA), seconds(900), "test block"});
    ASSERT_TRUE(writer.commit().ok());
  }
  PeerSender a(*lab_, kPeerA);
  PeerSender b(*lab_, kPeerB);
  constexpr int kBlockedCount = 10;
  for (int i = 0; i < kBlockedCount; ++i) ASSERT_TRUE(a.send(kFw4, 5060, "from blocked"));
  ASSERT_TRUE(b.send(kFw4, 5060, "marker"));
  // The marker was sent after the blocked packets on the same path: once it is in, they
  // have been through the input hook too.
  ASSERT_TRUE(receive_until(kPeerB, 1));
  EXPECT_EQ(count_from(kPeerA), 0u);
  const std::string chain = NetnsLab::in(lab_->fw, "nft list chain inet pbxwall input").output;
  EXPECT_NE(chain.find("ip saddr @blocked4 counter packets " + std::to_string(kBlockedCount)),
            std::string::npos)
      << chain;

  {
    InNetns in(lab_->fw);
    writer.remove(SetKey::blocked(kPeerA));
    ASSERT_TRUE(writer.commit().ok());
  }
  ASSERT_TRUE(a.send(kFw4, 5060, "after unblock"));
  ASSERT_TRUE(receive_until(kPeerA, 1));
  EXPECT_EQ(received_.back().text, "after unblock");
}

TEST_F(PacketsNetns, ConntrackFlushRemovesOnlyTheSourcesEntries) {
  PeerSender a(*lab_, kPeerA, 40000);
  PeerSender b(*lab_, kPeerB, 40001);
  ASSERT_TRUE(a.send(kFw4, 5060, "flow a"));
  ASSERT_TRUE(b.send(kFw4, 5060, "flow b"));
  ASSERT_TRUE(receive_until(kPeerA, 1));
  ASSERT_TRUE(receive_until(kPeerB, 1));
  auto entries = [&](const IpAddress& src) {
    auto r = NetnsLab::in(lab_->fw, "conntrack -L -p udp --orig-src " + src.str());
    std::size_t lines = 0;
    for (char c : r.output) lines += c == '\n' ? 1 : 0;
    return r.output.find("sport=") == std::string::npos ? 0 : lines - 1;  // last line: summary
  };
  EXPECT_EQ(entries(kPeerA), 1u);
  EXPECT_EQ(entries(kPeerB), 1u);

  InNetns in(lab_->fw);
  auto flusher = NetlinkConntrackFlusher::open();
  ASSERT_TRUE(flusher.ok()) << flusher.error();
  const IpAddress sources[] = {kPeerA, ip("2001:db8:1::99")};
  auto deleted = (*flusher)->flush_udp(sources);
  ASSERT_TRUE(deleted.ok()) << deleted.error();
  EXPECT_EQ(*deleted, 1u);
  EXPECT_EQ(entries(kPeerA), 0u);
  EXPECT_EQ(entries(kPeerB), 1u);
  // Nothing left to delete: not an error.
  auto again = (*flusher)->flush_udp(sources);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
}

// The fail2ban pitfall: with `ct state established accept` ahead of the block, a source that
// already has a UDP flow keeps talking after it is blocked, until its conntrack entry goes.
TEST_F(PacketsNetns, EstablishedFlowOutlivesABlockUntilConntrackIsFlushed) {
  int listener = -1;
  {
    InNetns in(lab_->fw);
    auto st = nft_->apply(
        "flush chain inet pbxwall input\n"
        "add rule inet pbxwall input ct state established accept\n"
        "add rule inet pbxwall input ip saddr @blocked4 counter drop\n");
    ASSERT_TRUE(st.ok()) << st.error();
    listener = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(5060);
    std::memcpy(&local.sin_addr, kFw4.bytes().data(), 4);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  }
  // Receives one datagram (up to 2 s) and answers it, which makes the flow established.
  auto serve_one = [&](std::string& text) {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) return false;
    char buf[512];
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(listener, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return false;
    text.assign(buf, static_cast<std::size_t>(n));
    return ::sendto(listener, "SIP/2.0 200 OK", 14, 0, reinterpret_cast<sockaddr*>(&from), len) == 14;
  };
  PeerSender a(*lab_, kPeerA, 40000);
  std::string text;
  ASSERT_TRUE(a.send(kFw4, 5060, "REGISTER 1"));
  ASSERT_TRUE(serve_one(text));
  EXPECT_EQ(text, "REGISTER 1");

  InNetns in(lab_->fw);
  NftSetWriter writer(*nft_);
  writer.add({SetKey::blocked(kPeerA), seconds(900), "blocked mid-flow"});
  ASSERT_TRUE(writer.commit().ok());
  ASSERT_TRUE(a.send(kFw4, 5060, "REGISTER 2"));
  ASSERT_TRUE(serve_one(text)) << "the established flow should still pass";
  EXPECT_EQ(text, "REGISTER 2");

  auto flusher = NetlinkConntrackFlusher::open();
  ASSERT_TRUE(flusher.ok()) << flusher.error();
  const IpAddress sources[] = {kPeerA};
  auto deleted = (*flusher)->flush_udp(sources);
  ASSERT_TRUE(deleted.ok()) << deleted.error();
  EXPECT_EQ(*deleted, 1u);
  ASSERT_TRUE(a.send(kFw4, 5060, "REGISTER 3"));
  ASSERT_TRUE(a.send(kFw4, 5060, "REGISTER 4"));
  // Both dropped: wait for the drop counter rather than for silence.
  const auto end = std::chrono::steady_clock::now() + seconds(5);
  std::string chain;
  while (std::chrono::steady_clock::now() < end) {
    chain = NetnsLab::in(lab_->fw, "nft list chain inet pbxwall input").output;
    if (chain.find("@blocked4 counter packets 2 ") != std::string::npos) break;
  }
  EXPECT_NE(chain.find("@blocked4 counter packets 2 "), std::string::npos) << chain;
  char buf[64];
  EXPECT_LT(::recv(listener, buf, sizeof buf, MSG_DONTWAIT), 0);  // nothing reached the PBX
  ::close(listener);
}

TEST_F(PacketsNetns, QueueProbeAgreesWithTheKernelAndLeavesNothing) {
  InNetns in(lab_->fw);
  auto queue = probe_queue_support(*nft_, 1);
  ASSERT_TRUE(queue.ok()) << queue.error();
  // What the nft command says about the same rule in a scratch table.
  auto cli = NetnsLab::in(lab_->fw,
                          "nft 'add table inet scratch; add chain inet scratch c; "
                          "add rule inet scratch c meta l4proto udp queue num 1 bypass'");
  NetnsLab::in(lab_->fw, "nft delete table inet scratch");
  EXPECT_EQ(queue->supported, cli.status == 0) << queue->detail << "\n" << cli.output;
  EXPECT_EQ(queue->detail.find('\n'), std::string::npos) << queue->detail;  // one line for the log
  std::printf("nftables queue statement on this kernel: %s%s\n",
              queue->supported ? "supported" : "not supported: ", queue->detail.c_str());

  auto log = probe_statement_support(*nft_, "log group 0");
  ASSERT_TRUE(log.ok()) << log.error();
  EXPECT_TRUE(log->supported);
  const std::string tables = NetnsLab::in(lab_->fw, "nft list tables").output;
  EXPECT_EQ(tables.find("pbxwall_probe"), std::string::npos) << tables;
  EXPECT_NE(tables.find("table inet pbxwall"), std::string::npos) << tables;
}

// The kernel here may lack the nftables `queue` statement but have the xtables NFQUEUE target
// (through iptables-nft); the queue and its verdicts are the same either way.
TEST_F(PacketsNetns, QueueSourceDropsWhatItIsToldAndBypassesWhenAbsent) {
  auto rule = NetnsLab::in(lab_->fw, "iptables-nft -A INPUT -p udp --dport 5062 -j NFQUEUE "
                                     "--queue-num 3 --queue-bypass");
  if (rule.status != 0) GTEST_SKIP() << "xtables NFQUEUE not available: " << rule.output;

  int listener = -1;
  {
    InNetns in(lab_->fw);
    listener = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(5062);
    std::memcpy(&local.sin_addr, kFw4.bytes().data(), 4);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  }
  std::vector<std::string> delivered;
  auto read_listener = [&] {
    char buf[2048];
    ssize_t n;
    while ((n = ::recv(listener, buf, sizeof buf, MSG_DONTWAIT)) > 0)
      delivered.emplace_back(buf, static_cast<std::size_t>(n));
  };
  auto delivered_contains = [&](const std::string& text) {
    return std::find(delivered.begin(), delivered.end(), text) != delivered.end();
  };
  PeerSender a(*lab_, kPeerA);

  // Nobody bound to the queue: `bypass` lets the packet through.
  ASSERT_TRUE(a.send(kFw4, 5062, "before"));
  ASSERT_TRUE(test::wait_until(listener, read_listener, [&] { return delivered_contains("before"); }));

  std::unique_ptr<QueueSource> queue;
  {
    InNetns in(lab_->fw);
    auto opened = QueueSource::open(3);
    ASSERT_TRUE(opened.ok()) << opened.error();
    queue = std::move(*opened);
  }
  constexpr int kEach = 10;
  for (int i = 0; i < kEach; ++i) {
    ASSERT_TRUE(a.send(kFw4, 5062, "keep " + std::to_string(i)));
    ASSERT_TRUE(a.send(kFw4, 5062, "drop " + std::to_string(i)));
  }
  ASSERT_TRUE(a.send(kFw4, 5062, "end"));
  std::size_t decided = 0;
  std::string indev;
  auto decide = [&](const QueuedPacket& p) {
    Received r;
    indev = std::string(p.indev);
    return decode(p.payload, r) && r.text.rfind("drop", 0) == 0 ? Verdict::drop : Verdict::accept;
  };
  const auto end = std::chrono::steady_clock::now() + seconds(5);
  while (!delivered_contains("end") && std::chrono::steady_clock::now() < end) {
    pollfd fds[2] = {{queue->fd(), POLLIN, 0}, {listener, POLLIN, 0}};
    if (::poll(fds, 2, 100) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      auto n = queue->drain(decide);
      ASSERT_TRUE(n.ok()) << n.error();
      decided += *n;
    }
    if (fds[1].revents & POLLIN) read_listener();
  }
  ::close(listener);
  ASSERT_TRUE(delivered_contains("end"));
  EXPECT_EQ(decided, static_cast<std::size_t>(2 * kEach + 1));
  EXPECT_EQ(queue->stats().dropped, static_cast<std::uint64_t>(kEach));
  EXPECT_EQ(queue->stats().accepted, static_cast<std::uint64_t>(kEach + 1));
  EXPECT_EQ(indev, "v0");
  for (const auto& text : delivered) EXPECT_EQ(text.rfind("drop", 0), std::string::npos) << text;
  EXPECT_EQ(delivered.size(), static_cast<std::size_t>(1 + kEach + 1));  // before, keeps, end
}

}  // namespace
}  // namespace pbxwall::packets
