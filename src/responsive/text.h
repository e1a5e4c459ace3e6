// Hashing and printing of names that come from the network (usernames, dialled numbers,
// User-Agents): the engine keeps 32-bit hashes per source, and a small shared cache maps
// hashes back to names for the reasons it writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pbxwall::responsive::detail {

// FNV-1a, never 0 (0 marks an empty slot).
inline std::uint32_t name_hash(std::string_view s) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h == 0 ? 1 : h;
}

// Printable form of untrusted text: bytes outside printable ASCII become '?', and text longer
// than `max` ends with "…".
std::string printable(std::string_view s, std::size_t max = 40);

// Direct-mapped: a newer name with the same slot replaces an older one, so a lookup may miss
// (the reason then says "?"); memory stays fixed at slots * 32 bytes.
class NameCache {
 public:
  // A power of two between 64 and kMaxSlots, about four names per tracked source, so a small
  // table (tests, fuzzing) does not pay for a large cache.
  explicit NameCache(std::size_t sources = kMaxSlots);

  void remember(std::uint32_t hash, std::string_view name);
  // The name for `hash`, or "?" when it was not kept.
  std::string lookup(std::uint32_t hash) const;

 private:
  static constexpr std::size_t kMaxSlots = 4096;
  static constexpr std::size_t kNameBytes = 27;
  struct Slot {
    std::uint32_t hash = 0;
    std::uint8_t len = 0;
    char text[kNameBytes] = {};
  };
  std::vector<Slot> slots_;
};

// "100, 101, 102, …": the names of `hashes` (first `n`), with "…" when `total` is larger.
// With `has_probe`, the first name that looks_like_random_probe() is marked as svwar's check.
std::string name_list(const NameCache& cache, const std::uint32_t* hashes, std::size_t n, std::size_t total,
                      bool has_probe = false);

// svwar's check is a source's first request, or follows the few of another tool run before it
// (svmap's OPTIONS): a random-looking user among a source's first this many requests is taken
// for it. A 10-digit number dialled later is a number, not the check.
inline constexpr std::uint32_t kRandomProbeWindow = 3;

// SIPVicious svwar opens every scan with a request for a random extension (a random 32-bit
// number in decimal, 9 or 10 digits for 97% of them) to learn how the PBX answers unknown users.
bool looks_like_random_probe(std::string_view user);
// How a reason names that request's user: "3514970746 (svwar's random check, not an extension it targets)".
std::string random_probe_text(std::string_view user);

// Seconds as people read them: "40 s", "15 min", "24 h", "7 days", "1.5 s".
std::string human_duration(std::int64_t microseconds);

}  // namespace pbxwall::responsive::detail
