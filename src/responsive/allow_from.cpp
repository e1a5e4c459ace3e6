// Rule 11: an extension registering from outside its allow_from networks. The PBX accepted
// the credentials, so whoever holds them is not guessing: they leaked. The source is blocked
// rather than validated (see docs/responsive.md).
#include <algorithm>
#include <string>

#include "responsive/engine_impl.h"

namespace pbxwall::responsive {

namespace {

// Networks quoted in a reason; a longer list ends with "…" (reasons stay one line).
constexpr std::size_t kQuotedNetworks = 4;

std::string network_list(std::span<const Cidr> nets) {
  std::string out;
  for (std::size_t i = 0; i < nets.size() && i < kQuotedNetworks; ++i) out += (i ? ", " : "") + nets[i].str();
  if (nets.size() > kQuotedNetworks) out += ", \u2026";
  return out;
}

}  // namespace

bool Engine::Impl::outside_allow_from(const IpAddress& addr, std::string_view user) const {
  if (!allow_from || user.empty()) return false;
  const std::span<const Cidr> allowed = allow_from(user);
  return !allowed.empty() && std::none_of(allowed.begin(), allowed.end(), [&](const Cidr& c) { return c.contains(addr); });
}

bool Engine::Impl::refuse_registration(Step& s, std::string_view user) {
  const std::span<const Cidr> allowed = allow_from ? allow_from(user) : std::span<const Cidr>{};
  std::string reason = "extension " + detail::printable(user) + " registered from " + s.rec.addr.str() +
                       ", outside its allow_from";
  if (!allowed.empty()) reason += " " + network_list(allowed);
  return take_block(s, Rule::outside_allow_from, detail::printable(user), std::move(reason), false);
}

bool Engine::registration_allowed(const IpAddress& addr, TimePoint now, std::string_view user, std::vector<Decision>& out) {
  Impl& m = *impl_;
  if (!m.outside_allow_from(addr, user)) return true;
  if (m.never_block && m.never_block(addr)) {
    ++m.counters.never_block_spared;
    return false;
  }
  const std::uint32_t index = m.touch_source(addr, to_us(now));
  detail::SourceRecord& rec = m.table.at(index);
  if (rec.state == SourceState::blocked && to_us(now) < us_of(rec.until_s)) return false;  // blocked already
  static const Observation kNoObservation{};
  Impl::Step step{kNoObservation, to_us(now), floor_s(to_us(now)), index, rec, out};
  m.refuse_registration(step, user);
  return false;
}

}  // namespace pbxwall::responsive
