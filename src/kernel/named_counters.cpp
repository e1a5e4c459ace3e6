// Named counters from `nft list` text, and the default RulesetApplier::named_counters() that
// reads them from list_table() (DryRunApplier: the last applied script stands for the table).
#include <regex>

#include "kernel/kernel.h"

namespace pbxwall::kernel {

std::vector<NamedCounter> named_counters_of(std::string_view listing) {
  static const std::regex counter(R"(\n\s*counter (\w+) \{\s*packets (\d+) bytes (\d+))");
  std::vector<NamedCounter> out;
  const std::string text(listing);
  for (std::sregex_iterator it(text.begin(), text.end(), counter), done; it != done; ++it)
    out.push_back({(*it)[1], std::stoull((*it)[2]), std::stoull((*it)[3])});
  return out;
}

Result<std::optional<std::vector<NamedCounter>>> RulesetApplier::named_counters() {
  auto table = list_table();
  if (!table) return fail(table.error());
  if (table->empty()) return std::optional<std::vector<NamedCounter>>();
  return std::optional(named_counters_of(*table));
}

}  // namespace pbxwall::kernel
