#include "responsive/text.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>

namespace pbxwall::responsive::detail {

std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(s.size(), max);
  out.reserve(n + 3);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (s.size() > max) out += "\u2026";
  return out;
}

NameCache::NameCache(std::size_t sources)
    : slots_(std::clamp<std::size_t>(std::bit_ceil(std::min(sources, kMaxSlots) * 4), 64, kMaxSlots)) {}

void NameCache::remember(std::uint32_t hash, std::string_view name) {
  Slot& slot = slots_[hash & (slots_.size() - 1)];
  if (slot.hash == hash) return;
  slot.hash = hash;
  // A name longer than the slot is stored with one byte more than fits, marking truncation.
  const std::size_t n = std::min(name.size(), kNameBytes);
  slot.len = static_cast<std::uint8_t>(name.size() > kNameBytes ? kNameBytes + 1 : n);
  std::memcpy(slot.text, name.data(), n);
}

std::string NameCache::lookup(std::uint32_t hash) const {
  const Slot& slot = slots_[hash & (slots_.size() - 1)];
  if (slot.hash != hash || hash == 0) return "?";
  const bool truncated = slot.len > kNameBytes;
  std::string s = printable(std::string_view(slot.text, truncated ? kNameBytes : slot.len), kNameBytes);
  if (truncated) s += "\u2026";
  return s;
}

bool looks_like_random_probe(std::string_view user) {
  if (user.size() < 9 || user.size() > 10 || user.front() == '0') return false;
  std::uint64_t v = 0;
  for (char c : user) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v <= 0xffffffffu;
}

std::string random_probe_text(std::string_view user) {
  return std::string(user) + " (svwar's random check, not an extension it targets)";
}

std::string name_list(const NameCache& cache, const std::uint32_t* hashes, std::size_t n, std::size_t total,
                      bool has_probe) {
  std::string s;
  bool marked = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (hashes[i] == 0) continue;
    if (!s.empty()) s += ", ";
    const std::string name = cache.lookup(hashes[i]);
    const bool probe = has_probe && !marked && looks_like_random_probe(name);
    marked = marked || probe;
    s += probe ? random_probe_text(name) : name;
  }
  if (total > n) s += ", \u2026";
  return s;
}

std::string human_duration(std::int64_t us) {
  char buf[32];
  const std::int64_t s = us / 1'000'000;
  if (us < 10'000'000 && us % 1'000'000 != 0) {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(us) / 1e6);
  } else if (s < 120 || s % 60 != 0) {
    std::snprintf(buf, sizeof buf, "%lld s", static_cast<long long>(s));
  } else if (s < 7200 || s % 3600 != 0) {
    std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(s / 60));
  } else if (s < 2 * 86400 || s % 86400 != 0) {
    std::snprintf(buf, sizeof buf, "%lld h", static_cast<long long>(s / 3600));
  } else {
    std::snprintf(buf, sizeof buf, "%lld days", static_cast<long long>(s / 86400));
  }
  return buf;
}

}  // namespace pbxwall::responsive::detail
