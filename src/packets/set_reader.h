// The boundary for reading what the kernel holds in our table: whether the table is there
// and the keys of a responsive set. The daemon compares them with its own state and puts back
// what is missing (see daemon/table_healer.h). NetlinkSetReader asks the kernel; tests use a
// fake over RecordingSetUpdater.
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
  // The keys of the elements of set `name` (blocked4, validated6, grants4, ...); an error when
  // the table or the set is missing.
  virtual Result<std::vector<SetKey>> keys(const std::string& name) = 0;
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
