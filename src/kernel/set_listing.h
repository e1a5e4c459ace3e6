// Reading the elements of one set back from `nft list table` output (RulesetApplier::
// list_table()), so what the kernel holds can be kept when the daemon's own record of it is
// lost. Pure text parsing: the listing comes from the caller.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"

namespace pbxwall::kernel {

struct ListedElement {
  std::string key;                 // "192.0.2.1", "2001:db8:1::/64"
  std::optional<Duration> timeout; // as added
  std::optional<Duration> expires; // left; absent in a script that was never applied
  std::string comment;
  bool operator==(const ListedElement&) const = default;
};

// The elements of `set_name` in `listing` (empty when the set is absent or has none). Elements
// with concatenated keys ("a . b . c") keep the whole key. An unterminated element list or
// quoted comment is an error naming the set.
Result<std::vector<ListedElement>> listed_elements(std::string_view listing, std::string_view set_name);

// nft's duration text: "1d2h3m4s5ms", "3600s", "59m59s868ms".
std::optional<Duration> parse_nft_duration(std::string_view text);

}  // namespace pbxwall::kernel
