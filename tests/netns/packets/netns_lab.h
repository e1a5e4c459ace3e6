// Two network namespaces joined by a veth pair, for tests of the live packet path:
//   fw   (the firewall host): v0 192.0.2.1/24, 2001:db8:1::1/64
//   peer (senders):           v1 192.0.2.2/24, 192.0.2.3/24, 2001:db8:1::2/64
// Created by the constructor and always deleted by the destructor. Namespace names carry the
// prefix from $PBXWALL_NETNS_PREFIX (set by run_netns_test.sh so that it can delete leftovers
// of a crashed run) or "pbxw-pk<pid>-".
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "base/address.h"

namespace pbxwall::test {

// Runs a shell command (with a time limit); returns its exit status and stdout.
struct CommandResult {
  int status = -1;
  std::string output;
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  const std::string bounded = "timeout 20 " + command + " 2>&1";
  FILE* p = popen(bounded.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// While alive, the calling thread is in another network namespace. Sockets, netlink handles
// and nft contexts created meanwhile stay in that namespace after the thread returns.
class InNetns {
 public:
  explicit InNetns(const std::string& name) {
    original_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (original_ < 0 || target < 0 || setns(target, CLONE_NEWNET) != 0) {
      if (target >= 0) ::close(target);
      throw std::runtime_error("cannot enter network namespace " + name);
    }
    ::close(target);
  }
  ~InNetns() {
    if (setns(original_, CLONE_NEWNET) != 0) std::abort();  // the test would run in the wrong place
    ::close(original_);
  }
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

 private:
  int original_ = -1;
};

class NetnsLab {
 public:
  NetnsLab() {
    const char* env = std::getenv("PBXWALL_NETNS_PREFIX");
    const std::string prefix = env != nullptr ? env : "pbxw-pk" + std::to_string(getpid()) + "-";
    fw = prefix + "fw";
    peer = prefix + "peer";
    const std::string steps[] = {
        "ip netns add " + fw,
        "ip netns add " + peer,
        "ip -n " + fw + " link add v0 type veth peer name v1 netns " + peer,
        "ip -n " + fw + " addr add 192.0.2.1/24 dev v0",
        "ip -n " + fw + " addr add 2001:db8:1::1/64 dev v0 nodad",
        "ip -n " + peer + " addr add 192.0.2.2/24 dev v1",
        "ip -n " + peer + " addr add 192.0.2.3/24 dev v1",
        "ip -n " + peer + " addr add 2001:db8:1::2/64 dev v1 nodad",
        "ip -n " + fw + " link set lo up",
        "ip -n " + peer + " link set lo up",
        "ip -n " + fw + " link set v0 up",
        "ip -n " + peer + " link set v1 up",
    };
    for (const auto& step : steps) {
      auto r = run_command(step);
      if (r.status != 0) {
        remove();
        throw std::runtime_error("lab setup failed: " + step + ": " + r.output);
      }
    }
  }
  ~NetnsLab() { remove(); }
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  // Runs a command inside a namespace.
  static CommandResult in(const std::string& ns, const std::string& command) {
    return run_command("ip netns exec " + ns + " " + command);
  }

  std::string fw;
  std::string peer;

 private:
  void remove() {
    run_command("ip netns del " + fw);
    run_command("ip netns del " + peer);
  }
};

// A UDP socket in the peer namespace, bound to `source`, sending to the firewall.
class PeerSender {
 public:
  PeerSender(const NetnsLab& lab, const IpAddress& source, std::uint16_t source_port = 0) {
    InNetns in(lab.peer);
    family_ = source.is_v4() ? AF_INET : AF_INET6;
    fd_ = ::socket(family_, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error("socket failed");
    sockaddr_storage ss{};
    const socklen_t len = fill(ss, source, source_port);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0)
      throw std::runtime_error("bind to " + source.str() + " failed");
  }
  ~PeerSender() { ::close(fd_); }
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  bool send(const IpAddress& to, std::uint16_t port, const std::string& payload) {
    sockaddr_storage ss{};
    const socklen_t len = fill(ss, to, port);
    return ::sendto(fd_, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss),
                    len) == static_cast<ssize_t>(payload.size());
  }

 private:
  static socklen_t fill(sockaddr_storage& ss, const IpAddress& a, std::uint16_t port) {
    if (a.is_v4()) {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port);
      std::memcpy(&s4->sin_addr, a.bytes().data(), 4);
      return sizeof(sockaddr_in);
    }
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes().data(), 16);
    return sizeof(sockaddr_in6);
  }
  int fd_ = -1;
  int family_ = AF_INET;
};

// Polls `fd` and calls `step` whenever it is readable, until `done()` or the deadline.
inline bool wait_until(int fd, const std::function<void()>& step, const std::function<bool()>& done,
                       std::chrono::milliseconds deadline = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) step();
  }
  return true;
}

}  // namespace pbxwall::test
