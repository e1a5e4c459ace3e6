// A process that dies without closing the database (killed, or exiting without cleanup) loses
// nothing it committed: the next process to open the file finds every committed decision.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "temp_dir.h"

namespace pbxwall::store {
namespace {

const TimePoint t0 = from_epoch_seconds(1'700'000'000);
constexpr int kBlocks = 200;  // 192.0.2.0 ... 192.0.2.199

// In the child: commits kBlocks blocks in one transaction and one validation on its own, then
// starts a second transaction, writes a block in it, reports over `report_fd` ('k' ok, 'e'
// error) and dies inside that transaction: stays alive to be killed, or exits at once without
// running destructors.
[[noreturn]] void report_and_die(int report_fd, bool exit_without_close, char c) {
  if (write(report_fd, &c, 1) != 1) _exit(3);
  if (exit_without_close || c != 'k') _exit(0);
  for (;;) pause();
}

[[noreturn]] void child_writes(const std::string& path, int fd, bool exit_without_close) {
  auto s = StateStore::open(path);
  if (!s) report_and_die(fd, exit_without_close, 'e');
  auto committed = (*s)->transaction([&]() -> Status<> {
    for (int i = 0; i < kBlocks; ++i) {
      BlockRecord b{"192.0.2." + std::to_string(i), "fingerprint", "svwar", t0,
                    t0 + std::chrono::hours(1), 1};
      if (auto st = (*s)->upsert_block(b); !st) return st;
    }
    return {};
  });
  if (!committed) report_and_die(fd, exit_without_close, 'e');
  if (!(*s)->upsert_validated({"203.0.113.1", "300", t0 + std::chrono::hours(1)}))
    report_and_die(fd, exit_without_close, 'e');
  (void)(*s)->transaction([&]() -> Status<> {
    BlockRecord pending{"203.0.113.2", "r", "never committed", t0, t0 + std::chrono::hours(1), 1};
    if (!(*s)->upsert_block(pending))
      report_and_die(fd, exit_without_close, 'e');
    report_and_die(fd, exit_without_close, 'k');
    return {};
  });
  report_and_die(fd, exit_without_close, 'e');
}

// Waits up to 10 s for the child's report byte.
char read_report(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 10'000) != 1) return 't';
  char c = 0;
  return read(fd, &c, 1) == 1 ? c : 'r';
}

void crash_and_reopen(bool kill_child) {
  test::TempDir dir;
  const std::string path = dir.path() / "state.db";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child_writes(path, fds[1], !kill_child);
  }
  close(fds[1]);
  char report = read_report(fds[0]);
  close(fds[0]);
  if (kill_child || report != 'k') kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_EQ(report, 'k') << "child failed to write ('t' = timeout)";
  if (kill_child) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  } else {
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }

  auto s = StateStore::open(path);
  ASSERT_TRUE(s.ok()) << s.error();
  auto blocks = (*s)->active_blocks(t0);
  ASSERT_TRUE(blocks.ok());
  EXPECT_EQ(blocks->size(), static_cast<std::size_t>(kBlocks));
  auto validated = (*s)->active_validated(t0);
  ASSERT_TRUE(validated.ok());
  EXPECT_EQ(validated->size(), 1u);  // written outside any transaction: committed at once
  auto uncommitted = (*s)->find_block("203.0.113.2");
  ASSERT_TRUE(uncommitted.ok());
  EXPECT_FALSE(uncommitted->has_value());
}

TEST(StateStoreCrash, KilledWriterLosesNoCommittedData) { crash_and_reopen(true); }

TEST(StateStoreCrash, ExitWithoutCloseLosesNoCommittedData) { crash_and_reopen(false); }

}  // namespace
}  // namespace pbxwall::store
