// SetUpdater over libnftables: one tick's set changes become one script, applied in one
// nft_run_cmd_from_buffer call (one netlink transaction).
//
// Replacing an element must renew its timeout and comment, and deleting an absent element
// makes the whole transaction fail; nft 1.0.6 has no `destroy element`. So each queued key is
// first added bare (a no-op when present), then deleted, then added again with its timeout and
// comment (omitted for removals): every step is valid whatever the kernel set holds, without
// tracking it, and the kernel applies the three as one transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "kernel/kernel.h"
#include "packets/set_updater.h"

namespace pbxwall::packets {

struct SetWriterOptions {
  std::string family = std::string(kernel::kTableFamily);
  std::string table = std::string(kernel::kTableName);
  // Elements per `add element` / `delete element` command, kept well below what fits in one
  // netlink message.
  std::size_t max_elements_per_command = 1000;
};

struct SetWriterStats {
  std::uint64_t commits = 0;         // successful transactions
  std::uint64_t failed_commits = 0;
  std::uint64_t elements_added = 0;  // by successful transactions
  std::uint64_t elements_removed = 0;
};

class NftSetWriter final : public SetUpdater {
 public:
  // `applier` (usually kernel::NftApplier) must outlive the writer.
  explicit NftSetWriter(kernel::RulesetApplier& applier, SetWriterOptions options = {});

  void add(const SetElement& element) override;
  void remove(const SetKey& key) override;
  Status<std::string> commit() override;
  std::size_t pending() const override { return pending_.size(); }

  // The script commit() would apply now ("" when nothing is queued).
  std::string render() const;
  const SetWriterStats& stats() const { return stats_; }

 private:
  kernel::RulesetApplier& applier_;
  SetWriterOptions options_;
  // Keyed so that a set's elements are contiguous; nullopt marks a removal.
  std::map<SetKey, std::optional<SetElement>> pending_;
  SetWriterStats stats_;
};

// "192.0.2.1", "2001:db8::1 . udp . 5060": the key as nft writes it.
std::string nft_element_key(const SetKey& key);
// "900s", "1500ms"; empty for a zero or negative duration.
std::string nft_timeout(Duration d);

}  // namespace pbxwall::packets
