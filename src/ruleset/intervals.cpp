// Flattening overlapping networks into disjoint ranges, so every address is in at most one
// zone set and nft never sees conflicting intervals.
#include "ruleset/intervals.h"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {

namespace detail {

u128 to_u128(const IpAddress& a) {
  u128 v = 0;
  const int n = a.is_v4() ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes()[static_cast<unsigned>(i)];
  return v;
}

IpAddress from_u128(u128 v, Family family) {
  std::uint8_t b[16];
  const int n = family == Family::v4 ? 4 : 16;
  for (int i = n - 1; i >= 0; --i) {
    b[i] = static_cast<std::uint8_t>(v & 0xff);
    v >>= 8;
  }
  return family == Family::v4 ? IpAddress::v4_bytes(b) : IpAddress::v6_bytes(b);
}

std::string range_text(const IpAddress& first, const IpAddress& last) {
  const u128 lo = to_u128(first);
  const u128 diff = to_u128(last) - lo;
  // A range is a CIDR when its size is a power of two and its start is aligned to it.
  if ((diff & (diff + 1)) == 0 && (lo & diff) == 0) {
    const int host_bits = std::popcount(static_cast<std::uint64_t>(diff)) +
                          std::popcount(static_cast<std::uint64_t>(diff >> 64));
    return Cidr(first, first.bit_width() - host_bits).str();
  }
  return first.str() + "-" + last.str();
}

}  // namespace detail

namespace {

using detail::u128;

struct Item {
  u128 lo;
  u128 hi;
  int prefix;
  model::Zone zone;
};

void flatten_family(std::vector<Item> items, Family family, std::vector<ZoneRange>& out) {
  // Parents before children (same start: shorter prefix first); for the same network twice,
  // the more restrictive zone last so it overwrites.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    if (a.lo != b.lo) return a.lo < b.lo;
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return model::restrictiveness(a.zone) < model::restrictiveness(b.zone);
  });
  std::vector<ZoneRange> ranges;
  auto emit = [&](u128 a, u128 b, model::Zone z) {
    if (!ranges.empty() && ranges.back().zone == z &&
        detail::to_u128(ranges.back().last) + 1 == a) {
      ranges.back().last = detail::from_u128(b, family);
      return;
    }
    ranges.push_back({detail::from_u128(a, family), detail::from_u128(b, family), z});
  };
  // CIDRs are nested or disjoint, so a stack of enclosing networks describes the sweep.
  std::vector<Item> stack;
  u128 cursor = 0;
  bool exhausted = false;  // the cursor passed the top of the address space
  auto close_top = [&] {
    const Item top = stack.back();
    stack.pop_back();
    if (!exhausted && cursor <= top.hi) emit(cursor, top.hi, top.zone);
    if (top.hi == ~u128{0}) exhausted = true;
    else if (!exhausted && cursor <= top.hi) cursor = top.hi + 1;
  };
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Item& e = items[i];
    if (i + 1 < items.size() && items[i + 1].lo == e.lo && items[i + 1].prefix == e.prefix)
      continue;  // the same network again: the later (more restrictive) one wins
    while (!stack.empty() && stack.back().hi < e.lo) close_top();
    if (!stack.empty() && cursor < e.lo) emit(cursor, e.lo - 1, stack.back().zone);
    cursor = e.lo;
    stack.push_back(e);
  }
  while (!stack.empty()) close_top();
  out.insert(out.end(), ranges.begin(), ranges.end());
}

}  // namespace

std::vector<ZoneRange> flatten_zones(std::vector<std::pair<Cidr, model::Zone>> networks) {
  std::vector<Item> v4;
  std::vector<Item> v6;
  for (const auto& [cidr, zone] : networks) {
    const u128 lo = detail::to_u128(cidr.address());
    const int host_bits = cidr.address().bit_width() - cidr.prefix();
    const u128 span = host_bits == 128 ? ~u128{0} : ((u128{1} << host_bits) - 1);
    (cidr.family() == Family::v4 ? v4 : v6).push_back({lo, lo + span, cidr.prefix(), zone});
  }
  std::vector<ZoneRange> out;
  flatten_family(std::move(v4), Family::v4, out);
  flatten_family(std::move(v6), Family::v6, out);
  return out;
}

}  // namespace pbxwall::ruleset
