// The boundary for reading what the kernel holds in our table: whether the table is there
// and which of the daemon's keys a responsive set lacks. The daemon puts back what is missing
// (see daemon/table_healer.h). NetlinkSetReader asks the kernel; tests use a fake over
// RecordingSetUpdater.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "packets/set_updater.h"

namespace pbxwall::packets {

class SetReader {
 public:
  virtual ~SetReader() = default;
  // Whether table inet pbxwall exists.
  virtual Result<bool> table_exists() = 0;
  // Of `keys` (keys of set `name`: blocked4, validated6, grants4, ...), those the set lacks, in
  // the order given; an error when the table or the set is missing. The kernel is asked about
  // these keys only: a dump of a whole hash set costs time quadratic in its size.
  virtual Result<std::vector<SetKey>> absent(const std::string& name, std::span<const SetKey> keys) = 0;
};

// The responsive sets whose elements the daemon decides, by name.
inline constexpr std::string_view kResponsiveSets[] = {"blocked4", "blocked6", "validated4",
                                                       "validated6", "grants4",  "grants6"};
// Whether `name` is one of kResponsiveSets.
bool is_responsive_set(std::string_view name);
// The key of an element of a responsive set from the bytes the kernel stores (the inverse of
// nft_key_bytes); nullopt for another set or bytes of the wrong length.
std::optional<SetKey> set_key_of(std::string_view set_name, std::span<const std::uint8_t> bytes);

}  // namespace pbxwall::packets
