// Time from the packet that causes a block to the address being in the kernel's `blocked4`
// set, measured against a running pbxwalld from outside it.
//
// In the firewall's namespace a netlink socket listens to nftables change notifications
// (NFNLGRP_NFTABLES), which the kernel sends when a transaction commits, i.e. when the element
// is in the set. From the peer namespace each of N sources sends one SIP OPTIONS carrying a
// scanner's User-Agent (blocked at the first request); the time from just before sendto() to
// the notification naming that address in blocked4 is one sample. One source at a time, each
// bounded by a deadline, the next one sent a pause (--gap-ms, default 20) after, so that each
// sample measures a block reaching an idle daemon rather than one queued behind the previous
// tick's database write. bench/block_latency/run.sh builds the namespaces and the daemon.
//
// Usage: block_latency --fw-ns NAME --peer-ns NAME [--count N] [--dst ADDR] [--gap-ms MS]
//                      [--samples FILE]
// (--samples writes each sample, in microseconds, one per line in sending order).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(2);
constexpr int kMaxSources = 500;

// Sources 198.51.100.1-250, then 203.0.113.1-250 (run.sh puts them on the peer's interface).
std::array<std::uint8_t, 4> source(int i) {
  if (i < 250) return {198, 51, 100, static_cast<std::uint8_t>(i + 1)};
  return {203, 0, 113, static_cast<std::uint8_t>(i - 249)};
}

std::string dotted(const std::array<std::uint8_t, 4>& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." + std::to_string(a[3]);
}

bool enter_netns(const std::string& name) {
  const int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = setns(fd, CLONE_NEWNET) == 0;
  ::close(fd);
  return ok;
}

// Walks netlink attributes in [p, p+len).
template <typename F>
void each_attr(const std::uint8_t* p, std::size_t len, F&& f) {
  while (len >= sizeof(nlattr)) {
    nlattr a;
    std::memcpy(&a, p, sizeof a);
    if (a.nla_len < sizeof(nlattr) || a.nla_len > len) return;
    f(static_cast<int>(a.nla_type & NLA_TYPE_MASK), p + NLA_HDRLEN, a.nla_len - NLA_HDRLEN);
    const std::size_t step = NLA_ALIGN(a.nla_len);
    if (step >= len) return;
    p += step;
    len -= step;
  }
}

// Whether one netlink message is a NEWSETELEM of set `set` holding the 4-byte key `key`.
bool adds_key(const nlmsghdr* h, const std::string& set, const std::array<std::uint8_t, 4>& key) {
  if (h->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWSETELEM)) return false;
  const std::size_t header = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  const auto* body = reinterpret_cast<const std::uint8_t*>(h) + header;
  if (h->nlmsg_len < header) return false;
  bool right_set = false, has_key = false;
  each_attr(body, h->nlmsg_len - header, [&](int type, const std::uint8_t* v, std::size_t n) {
    if (type == NFTA_SET_ELEM_LIST_SET) right_set = std::string(reinterpret_cast<const char*>(v), strnlen(reinterpret_cast<const char*>(v), n)) == set;
    if (type != NFTA_SET_ELEM_LIST_ELEMENTS) return;
    each_attr(v, n, [&](int, const std::uint8_t* elem, std::size_t elem_len) {
      each_attr(elem, elem_len, [&](int elem_type, const std::uint8_t* k, std::size_t k_len) {
        if (elem_type != NFTA_SET_ELEM_KEY) return;
        each_attr(k, k_len, [&](int data_type, const std::uint8_t* d, std::size_t d_len) {
          if (data_type == NFTA_DATA_VALUE && d_len == 4 && std::memcmp(d, key.data(), 4) == 0) has_key = true;
        });
      });
    });
  });
  return right_set && has_key;
}

std::string options_request(const std::string& from, const std::string& to, int i) {
  const std::string tag = "lat" + std::to_string(i);
  return "OPTIONS sip:100@" + to + " SIP/2.0\r\n"
         "Via: SIP/2.0/UDP " + from + ":5060;branch=z9hG4bK-" + tag + "\r\n"
         "From: <sip:100@" + from + ">;tag=" + tag + "\r\n"
         "To: <sip:100@" + to + ">\r\n"
         "Call-ID: " + tag + "@" + from + "\r\n"
         "CSeq: 1 OPTIONS\r\n"
         "User-Agent: friendly-scanner\r\n"
         "Max-Forwards: 70\r\n"
         "Content-Length: 0\r\n\r\n";
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  std::string fw_ns, peer_ns, dst = "192.0.2.1", samples_file;
  int count = 300;
  int gap_ms = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--fw-ns") fw_ns = v;
    else if (k == "--peer-ns") peer_ns = v;
    else if (k == "--count") count = std::stoi(v);
    else if (k == "--dst") dst = v;
    else if (k == "--samples") samples_file = v;
    else if (k == "--gap-ms") gap_ms = std::stoi(v);
  }
  if (fw_ns.empty() || peer_ns.empty() || count < 1 || count > kMaxSources || gap_ms < 0 || gap_ms > 10000) {
    std::fprintf(stderr, "usage: %s --fw-ns NAME --peer-ns NAME [--count 1..%d] [--dst ADDR] [--gap-ms 0..10000]\n",
                 argv[0], kMaxSources);
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5060);
  if (inet_pton(AF_INET, dst.c_str(), &to.sin_addr) != 1) return 2;

  if (!enter_netns(fw_ns)) {
    std::perror("entering the firewall's namespace");
    return 1;
  }
  const int monitor = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  const int group = NFNLGRP_NFTABLES;
  const int rcvbuf = 8 * 1024 * 1024;
  if (monitor < 0 || ::bind(monitor, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      setsockopt(monitor, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
    std::perror("nftables notifications");
    return 1;
  }
  (void)setsockopt(monitor, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);

  if (!enter_netns(peer_ns)) {
    std::perror("entering the peer's namespace");
    return 1;
  }
  std::vector<int> senders;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_port = htons(5060);
    const auto a = source(i);
    std::memcpy(&from.sin_addr, a.data(), 4);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      std::fprintf(stderr, "binding %s: %s\n", dotted(a).c_str(), std::strerror(errno));
      return 1;
    }
    senders.push_back(fd);
  }

  std::vector<double> samples_us;
  int timeouts = 0;
  std::vector<std::uint8_t> buffer(1 << 20);
  for (int i = 0; i < count; ++i) {
    if (i > 0 && gap_ms > 0) {
      // The workload's inter-arrival time, not a synchronisation: nothing is waited for here.
      const timespec pause{gap_ms / 1000, static_cast<long>(gap_ms % 1000) * 1'000'000};
      nanosleep(&pause, nullptr);
    }
    while (::recv(monitor, buffer.data(), buffer.size(), MSG_DONTWAIT) > 0) {
    }  // notifications of the previous round
    const auto a = source(i);
    const std::string request = options_request(dotted(a), dst, i);
    const auto start = Clock::now();
    if (::sendto(senders[static_cast<std::size_t>(i)], request.data(), request.size(), 0,
                 reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
      std::perror("sendto");
      return 1;
    }
    std::optional<Clock::time_point> seen;
    while (!seen) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(start + kDeadline - Clock::now());
      if (left.count() <= 0) break;
      pollfd p{monitor, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) continue;
      const ssize_t n = ::recv(monitor, buffer.data(), buffer.size(), MSG_DONTWAIT);
      const auto now = Clock::now();
      if (n <= 0) continue;
      // Messages one after the other, each aligned to 4 bytes.
      for (std::size_t at = 0; at + sizeof(nlmsghdr) <= static_cast<std::size_t>(n);) {
        const auto* h = reinterpret_cast<const nlmsghdr*>(buffer.data() + at);
        if (h->nlmsg_len < sizeof(nlmsghdr) || at + h->nlmsg_len > static_cast<std::size_t>(n)) break;
        if (adds_key(h, "blocked4", a)) seen = now;
        at += NLMSG_ALIGN(h->nlmsg_len);
      }
    }
    if (seen)
      samples_us.push_back(std::chrono::duration<double, std::micro>(*seen - start).count());
    else
      ++timeouts;
  }
  if (!samples_file.empty()) {
    if (FILE* f = std::fopen(samples_file.c_str(), "w")) {
      for (double v : samples_us) std::fprintf(f, "%.0f\n", v);
      std::fclose(f);
    }
  }
  std::sort(samples_us.begin(), samples_us.end());
  std::printf("blocks measured: %zu of %d (timeouts: %d, deadline %lld ms each)\n", samples_us.size(), count, timeouts,
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline).count()));
  std::printf("packet -> blocked4 (us): min %.0f  median %.0f  p90 %.0f  p99 %.0f  max %.0f\n",
              percentile(samples_us, 0), percentile(samples_us, 0.5), percentile(samples_us, 0.9),
              percentile(samples_us, 0.99), percentile(samples_us, 1));
  return timeouts == 0 ? 0 : 1;
}
