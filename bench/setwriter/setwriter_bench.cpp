// How long it takes to put 10,000 addresses into the kernel's blocked set:
//   - NftSetWriter, all in one tick (one libnftables call);
//   - NftSetWriter, in ticks of 100 (how a busy daemon loop would send them);
//   - NftSetWriter, one element per call (in-process, no batching);
//   - one `nft add element` process per address (what one-process-per-ban tools do).
// Run inside a scratch network namespace (bench/setwriter/run.sh does that); it creates and
// deletes its own table `inet pbxwall_bench`.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "packets/nft_set_writer.h"

extern char** environ;

namespace {

using pbxwall::IpAddress;
using namespace pbxwall::packets;
using Clock = std::chrono::steady_clock;

constexpr const char* kTable =
    "table inet pbxwall_bench {\n"
    "  set blocked4 { type ipv4_addr; flags dynamic,timeout; size 1048576; }\n"
    "  set blocked6 { type ipv6_addr; flags dynamic,timeout; size 1048576; }\n"
    "}\n";

// 10.x addresses would do as well; documentation ranges are used throughout the project, and
// 198.18.0.0/15 (benchmarking) has room for 131,072 distinct hosts.
IpAddress address(std::uint32_t i) { return IpAddress::v4(0xC6120000u + i); }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool reset_table(pbxwall::kernel::NftApplier& nft) {
  auto st = nft.apply(std::string("add table inet pbxwall_bench\ndelete table inet pbxwall_bench\n") + kTable);
  if (!st) std::fprintf(stderr, "loading table: %s\n", st.error().c_str());
  return st.ok();
}

std::size_t elements_in_set(pbxwall::kernel::NftApplier& nft) {
  auto out = nft.run("list set inet pbxwall_bench blocked4");
  if (!out) return 0;
  std::size_t n = 0;
  for (auto at = out->find(" expires "); at != std::string::npos; at = out->find(" expires ", at + 1))
    ++n;
  return n;
}

SetWriterOptions bench_options() {
  SetWriterOptions o;
  o.table = "pbxwall_bench";
  return o;
}

struct Row {
  std::string method;
  std::size_t elements;
  double seconds;
  std::size_t in_set;
};

Row batched(pbxwall::kernel::NftApplier& nft, std::size_t count, std::size_t tick, const char* name) {
  reset_table(nft);
  NftSetWriter writer(nft, bench_options());
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    writer.add({SetKey::blocked(address(static_cast<std::uint32_t>(i))), std::chrono::seconds(900),
                "svwar fingerprint: User-Agent friendly-scanner"});
    if (writer.pending() == tick) {
      if (auto st = writer.commit(); !st) std::fprintf(stderr, "%s: %s\n", name, st.error().c_str());
    }
  }
  if (auto st = writer.commit(); !st) std::fprintf(stderr, "%s: %s\n", name, st.error().c_str());
  const double elapsed = seconds_since(start);
  return {name, count, elapsed, elements_in_set(nft)};
}

Row refresh_all(pbxwall::kernel::NftApplier& nft, std::size_t count) {
  // The set is full from the previous run: every element is replaced (delete + add).
  NftSetWriter writer(nft, bench_options());
  const auto start = Clock::now();
  for (std::size_t i = 0; i < count; ++i)
    writer.add({SetKey::blocked(address(static_cast<std::uint32_t>(i))), std::chrono::seconds(1800),
                "blocked again"});
  if (auto st = writer.commit(); !st) std::fprintf(stderr, "refresh: %s\n", st.error().c_str());
  return {"NftSetWriter, renew all (one tick)", count, seconds_since(start), elements_in_set(nft)};
}

Row process_per_element(pbxwall::kernel::NftApplier& nft, std::size_t count) {
  reset_table(nft);
  const auto start = Clock::now();
  auto window_start = start;
  for (std::size_t i = 0; i < count; ++i) {
    // Each process reads the set before changing it, so its cost may grow with the set.
    constexpr std::size_t kWindow = 250;
    if (i % kWindow == 0 && i > 0) {
      std::fprintf(stderr, "one process per element: elements %zu-%zu took %.1f ms each\n",
                   i - kWindow, i - 1, seconds_since(window_start) * 1e3 / kWindow);
      window_start = Clock::now();
    }
    const std::string element = "{ " + address(static_cast<std::uint32_t>(i)).str() +
                                " timeout 900s comment \"svwar fingerprint\" }";
    const char* argv[] = {"nft", "add", "element", "inet", "pbxwall_bench", "blocked4",
                          element.c_str(), nullptr};
    pid_t pid = 0;
    if (posix_spawnp(&pid, "nft", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0) {
      std::perror("posix_spawnp nft");
      break;
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  return {"one nft process per element", count, seconds_since(start), elements_in_set(nft)};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t count = 10'000;
  std::size_t process_count = 2'000;  // one process each takes minutes for 10,000
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--elements") == 0) count = std::strtoul(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--process-elements") == 0)
      process_count = std::strtoul(argv[i + 1], nullptr, 10);
  }
  pbxwall::kernel::NftApplier nft;
  if (!reset_table(nft)) return 1;

  // Rows are printed as they finish: the per-process run takes minutes.
  std::printf("| method | elements | total | per element | in set after |\n");
  std::printf("|---|---:|---:|---:|---:|\n");
  auto print = [](const Row& r) {
    std::printf("| %s | %zu | %.3f s | %.1f µs | %zu |\n", r.method.c_str(), r.elements, r.seconds,
                r.elements != 0 ? r.seconds * 1e6 / static_cast<double>(r.elements) : 0.0, r.in_set);
    std::fflush(stdout);
  };
  print(batched(nft, count, count, "NftSetWriter, one tick"));
  print(refresh_all(nft, count));
  print(batched(nft, count, 100, "NftSetWriter, ticks of 100"));
  print(batched(nft, count, 1, "NftSetWriter, one element per tick"));
  print(process_per_element(nft, process_count));
  (void)nft.apply("delete table inet pbxwall_bench");
  return 0;
}
