// The boundary to the kernel's packet filter. Everything pbxwall changes in nftables passes
// through a RulesetApplier as one script text; one apply() is one netlink transaction, so the
// kernel holds either the old table or the new one, never a mix.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pbxwall::kernel {

// The table pbxwall owns. No other table is ever read or written.
inline constexpr std::string_view kTableFamily = "inet";
inline constexpr std::string_view kTableName = "pbxwall";

// A named counter of the table (`counter responsive { packets N bytes M }`).
struct NamedCounter {
  std::string name;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  bool operator==(const NamedCounter&) const = default;
};

// The named counters in `nft list` output of the table, in the listing's order.
std::vector<NamedCounter> named_counters_of(std::string_view listing);

// The script with each empty counter declaration (`counter NAME {\n\t}`) of a counter in `now`
// given that counter's packets and bytes, so that replacing the table keeps what the kernel
// counted. Declarations that already hold values and counters not in `now` are left as written.
std::string with_counter_values(std::string_view script, const std::vector<NamedCounter>& now);

class RulesetApplier {
 public:
  virtual ~RulesetApplier() = default;

  // Runs the script as one transaction. On failure nothing changed and the error holds
  // nft's own message (with the script's line and column).
  virtual Status<std::string> apply(std::string_view script) = 0;

  // Parses and evaluates the script against the kernel without committing it.
  virtual Status<std::string> check(std::string_view script) = 0;

  // `nft list table inet pbxwall` output; "" when the table does not exist.
  virtual Result<std::string> list_table() = 0;

  // The table's named counters, without reading its sets: what `pbxwall status` reads, as
  // fast with a million blocked addresses as with none. nullopt when the table does not exist.
  virtual Result<std::optional<std::vector<NamedCounter>>> named_counters();
};

// libnftables, in-process. Needs CAP_NET_ADMIN in the network namespace it runs in.
class NftApplier final : public RulesetApplier {
 public:
  NftApplier();
  ~NftApplier() override;
  NftApplier(const NftApplier&) = delete;
  NftApplier& operator=(const NftApplier&) = delete;

  // A script that replaces the table carries the table's named counters over (read just
  // before the transaction; what is counted between that read and the commit is lost).
  Status<std::string> apply(std::string_view script) override;
  Status<std::string> check(std::string_view script) override;
  Result<std::string> list_table() override;
  // Over nftables netlink (a GETTABLE, a GETOBJ dump of the table's counters): libnftables
  // would first fetch every set with its elements into its cache, a second per 100,000 blocks.
  Result<std::optional<std::vector<NamedCounter>>> named_counters() override;

  // Any nft command (e.g. "list table inet pbxwall"); its output on success.
  Result<std::string> run(std::string_view command, bool dry_run = false);

 private:
  std::string locate_error(std::string_view script, std::string error);
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// Records scripts instead of applying them; keeps the last applied script as "the table" so
// list_table() answers like the kernel would (non-empty after an apply, "" after a script
// that only removes the table). Tests can make the next call fail.
class DryRunApplier final : public RulesetApplier {
 public:
  Status<std::string> apply(std::string_view script) override;
  Status<std::string> check(std::string_view script) override;
  Result<std::string> list_table() override;

  std::vector<std::string> applied;  // every script passed to apply(), in order
  std::vector<std::string> checked;  // every script passed to check()
  std::string table;                 // what list_table() returns
  std::string fail_next;             // non-empty: the next apply/check fails with this error
};

// True when the script, after replacing the table, declares it again (a `table inet pbxwall {`
// block); false for a removal script. Used by DryRunApplier and by callers that log intent.
bool script_defines_table(std::string_view script);

}  // namespace pbxwall::kernel
