// A SetUpdater that keeps what the kernel refused and sends it again: the set changes of a
// commit that failed stay owed, ride along with the next commit (a later change of the same
// key supersedes the owed one) and are sent alone by retry(). The daemon wraps its kernel
// writer in one, so a block the kernel did not take is not forgotten; after the whole table
// was rendered again with the live state, forgive() drops what that table already holds.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "packets/set_updater.h"

namespace pbxwall::packets {

struct RetryStats {
  std::uint64_t failed_commits = 0;  // commits the inner updater refused
  std::uint64_t retries = 0;         // retry() calls that sent owed changes
  std::uint64_t retried_ok = 0;      // of them, accepted
};

class RetryingSetUpdater final : public SetUpdater {
 public:
  // `inner` (the kernel writer) must outlive this updater.
  explicit RetryingSetUpdater(SetUpdater& inner) : inner_(inner) {}

  void add(const SetElement& element) override;
  void remove(const SetKey& key) override;
  // Sends the queued changes with the owed ones. On failure all of them are owed.
  Status<std::string> commit() override;
  // Queued changes of this tick; owed ones are counted by owed().
  std::size_t pending() const override { return queued_.size(); }

  // Sends the owed changes alone (nothing owed: nothing sent, success).
  Status<std::string> retry();
  // Changes the kernel refused and that are still to be sent.
  std::size_t owed() const { return owed_.size(); }
  // The error of the last failed commit, until a commit succeeds.
  const std::optional<std::string>& last_error() const { return last_error_; }
  void forgive() { owed_.clear(); }
  const RetryStats& stats() const { return stats_; }

 private:
  using Change = std::optional<SetElement>;  // nullopt: removal
  SetUpdater& inner_;
  std::map<SetKey, Change> queued_;
  std::map<SetKey, Change> owed_;
  std::optional<std::string> last_error_;
  RetryStats stats_;
};

}  // namespace pbxwall::packets
