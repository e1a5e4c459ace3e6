// Named counters from `nft list` text, and the default RulesetApplier::named_counters() that
// reads them from list_table() (DryRunApplier: the last applied script stands for the table).
#include <regex>
#include <string>

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

std::string with_counter_values(std::string_view script, const std::vector<NamedCounter>& now) {
  std::string out(script);
  for (const auto& c : now) {
    const std::string opening = "counter " + c.name + " {";
    for (std::size_t at = out.find(opening); at != std::string::npos; at = out.find(opening, at + 1)) {
      // A whole word: not the tail of a longer name, not a `counter name "x"` reference.
      if (at > 0 && out[at - 1] != ' ' && out[at - 1] != '\t' && out[at - 1] != '\n') continue;
      const std::size_t body = at + opening.size();
      const std::size_t close = out.find_first_not_of(" \t\n", body);
      if (close == std::string::npos || out[close] != '}') continue;  // already has values
      out.replace(body, close - body,
                  " packets " + std::to_string(c.packets) + " bytes " + std::to_string(c.bytes) + " ");
    }
  }
  return out;
}

Result<std::optional<std::vector<NamedCounter>>> RulesetApplier::named_counters() {
  auto table = list_table();
  if (!table) return fail(table.error());
  if (table->empty()) return std::optional<std::vector<NamedCounter>>();
  return std::optional(named_counters_of(*table));
}

}  // namespace pbxwall::kernel
