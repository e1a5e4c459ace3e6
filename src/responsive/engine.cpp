// Engine entry points and the decisions every rule ends in.
#include <algorithm>
#include <bit>
#include <cstdlib>
#include <functional>

#include "responsive/engine_impl.h"

namespace pbxwall::responsive {

using detail::SourceRecord;

namespace {

std::uint64_t table_salt(const void* self) {
  // Spreads addresses differently in each engine, so chosen addresses cannot aim at one chain.
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(self)) * 0x9e3779b97f4a7c15ull;
}

}  // namespace

Engine::Impl::Impl(Settings s, NeverBlock nb, AllowFrom af, KnownUser ku)
    : settings(std::move(s)),
      never_block(std::move(nb)),
      allow_from(std::move(af)),
      known_user(std::move(ku)),
      table(settings.max_sources, table_salt(this)),
      names(settings.max_sources),
      fingerprints(settings.fingerprints) {
  if (auto why = responsive::validate(settings); !why.empty()) {
    // Settings come through settings_from_toml, which reports this as a located error; a
    // caller passing unchecked settings is a programming error.
    std::abort();
  }
  flood_shape = detail::bucket_shape(settings.flood.count, settings.flood.window.count());
  guess_shape = detail::bucket_shape(settings.guessing.count, settings.guessing.window.count());
  flood_port_shape = detail::bucket_shape(settings.flood_port.count, settings.flood_port.window.count());
  const std::int64_t window = settings.enumeration.window.count();
  enum_fail_weight = std::max<std::int64_t>(1, window / settings.enumeration.count);
  enum_unanswered_weight = std::max<std::int64_t>(1, window / settings.enumeration_unanswered);
  enum_ignored_weight = settings.enumeration_ignored == 0 ? 0 : std::max<std::int64_t>(1, window / settings.enumeration_ignored);
  enum_capacity = window - std::min(enum_fail_weight, enum_unanswered_weight);
  if (enum_ignored_weight > 0) enum_capacity = std::max(enum_capacity, window - enum_ignored_weight);
  const auto& ladder = settings.block_ladder;
  fingerprint_step = static_cast<std::uint32_t>(ladder.size() - 1);
  for (std::size_t i = 0; i < ladder.size(); ++i)
    if (ladder[i] >= settings.fingerprint_block) {
      fingerprint_step = static_cast<std::uint32_t>(i);
      break;
    }
  counters.table_ceiling = table.ceiling();
  remembered.resize(std::clamp<std::size_t>(std::bit_ceil(std::max<std::size_t>(settings.max_sources / 4, 4)), 64, 16384));
  nets.resize(std::clamp<std::size_t>(std::bit_ceil(std::max<std::size_t>(settings.max_sources / 4, 1)), 16, 4096));
  net_salt = table_salt(this) ^ 0x2545f4914f6cdd1dull;
  if (settings.extension_alarm_sources > 0) alarms.resize(1024);
}

Engine::Impl::UserAlarm& Engine::Impl::alarm_of(std::uint32_t user) {
  std::uint64_t h = (std::uint64_t{user} ^ net_salt) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 31;
  UserAlarm& a = alarms[static_cast<std::size_t>(h) & (alarms.size() - 1)];
  if (a.user != user) {
    a = UserAlarm{};
    a.user = user;
  }
  return a;
}

Engine::Impl::NetRecord* Engine::Impl::net_of(const IpAddress& addr, bool create) {
  if (addr.is_v4() || nets.empty()) return nullptr;
  std::uint64_t prefix = 0;
  for (std::size_t i = 0; i < 8; ++i) prefix = prefix << 8 | addr.bytes()[i];
  std::uint64_t h = (prefix ^ net_salt) * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  NetRecord& n = nets[static_cast<std::size_t>(h) & (nets.size() - 1)];
  if (n.used && n.prefix == prefix) return &n;
  if (!create) return nullptr;
  n = NetRecord{};
  n.used = true;
  n.prefix = prefix;
  return &n;
}

namespace {

Cidr cidr_of_prefix(std::uint64_t prefix) {
  std::uint8_t bytes[16] = {};
  for (std::size_t i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(prefix >> (56 - 8 * i));
  return Cidr(IpAddress::v6_bytes(bytes), 64);
}

std::uint32_t address_tag(const IpAddress& a) {
  const auto h = static_cast<std::uint32_t>(IpAddressHash{}(a));
  return h == 0 ? 1 : h;
}

}  // namespace

void Engine::Impl::count_rotation(Step& s) {
  const std::uint32_t needed = settings.ipv6_rotation_sources;
  if (needed == 0) return;
  NetRecord* n = net_of(s.rec.addr, true);
  if (!n) return;
  if (n->last_block_s != 0 && std::int64_t{s.now_s} - n->last_block_s > memory_s()) {
    n->count = 0;  // the previous run is too old to count
    std::fill(std::begin(n->members), std::end(n->members), 0u);
  }
  n->last_block_s = s.now_s;
  const std::uint32_t tag = address_tag(s.rec.addr);
  if (std::find(std::begin(n->members), std::begin(n->members) + std::min<std::size_t>(n->count, 8), tag) ==
      std::begin(n->members) + std::min<std::size_t>(n->count, 8)) {
    if (n->count < 8) n->members[n->count] = tag;
    if (n->count < 255) ++n->count;
  }
  if (n->count < needed || us_of(n->until_s) > s.now_us) return;
  const auto& ladder = settings.block_ladder;
  const bool again = n->until_s != 0 && std::int64_t{s.now_s} - n->until_s <= memory_s();
  const std::uint32_t step = again ? std::min<std::uint32_t>(n->step + 1u, static_cast<std::uint32_t>(ladder.size() - 1)) : 0;
  const std::int64_t until_us = s.now_us + ladder[step].count();
  n->step = static_cast<std::uint8_t>(step);
  n->until_s = ceil_s(until_us);
  const std::uint32_t counted = n->count;
  n->count = 0;
  std::fill(std::begin(n->members), std::end(n->members), 0u);
  const Cidr net = cidr_of_prefix(n->prefix);
  std::string reason = std::to_string(counted) + " addresses of " + net.str() + " blocked within " +
                       detail::human_duration(settings.escalation_memory.count()) + ": blocking the network";
  if (again) reason += " (blocked again within " + detail::human_duration(settings.escalation_memory.count()) + ")";
  emit(s, Decision{Action::block, s.rec.addr, {}, TimePoint(Duration(until_us)), Rule::address_rotation, std::move(reason), net});
}

void Engine::Impl::emit(Step& s, Decision d) {
  ++counters.decisions[static_cast<std::size_t>(d.rule)];
  s.out.push_back(std::move(d));
}

std::string Engine::Impl::user_of(const SourceRecord& r) const { return std::string(r.user, r.user_len); }

void Engine::Impl::enqueue(std::uint32_t index) {
  SourceRecord& r = table.at(index);
  // An entry due no later than until_s re-queues itself when it pops early; an entry due later
  // would be late, so a new one is added and the old one is skipped when it pops.
  if ((r.flags & detail::record_flag::queued) && r.queued_s <= r.until_s) return;
  r.flags |= detail::record_flag::queued;
  r.queued_s = r.until_s;
  queue.push_back({r.until_s, index});
  std::push_heap(queue.begin(), queue.end(), queue_later);
}

void Engine::Impl::clear_rule_state(SourceRecord& r) {
  r.flood_tat = r.enum_tat = 0;
  r.enum_names = 0;
  r.enum_start_s = 0;
  std::fill(std::begin(r.first_names), std::end(r.first_names), 0u);
  r.probe_count = r.probe_intl = 0;
  std::fill(std::begin(r.probe_dest), std::end(r.probe_dest), 0u);
  for (std::size_t i = 0; i < detail::kUserSlots; ++i) {
    r.fail_tat[i] = 0;
    r.failures[i] = r.burst_failures[i] = 0;
    r.burst_start_s[i] = 0;
    r.user_flags[i] &= detail::user_flag::registered | detail::user_flag::accepted;
  }
  r.flags &= static_cast<std::uint8_t>(~detail::record_flag::flagged);
  r.last_fail_us = 0;
  r.last_fail_port = 0;
  r.last_fail_slot = 0;
  r.fast_run = 0;
  r.loop_run = 0;
  r.ignored_names = 0;
  for (auto& p : r.pending)
    if (p.flags & detail::pending_flag::challenge_open) p = {};
  r.last_fail_call = r.last_fail_cseq = 0;
  for (auto& c : r.conversations) c = {};
  r.flood_port_tat = 0;
  r.flood_port_of = 0;
}

int Engine::Impl::user_slot(SourceRecord& r, std::uint32_t hash, bool create) {
  if (hash == 0) return -1;
  for (std::size_t i = 0; i < detail::kUserSlots; ++i)
    if (r.user_hash[i] == hash) return static_cast<int>(i);
  if (!create) return -1;
  // Reuse round-robin, sparing registered users while another slot is free to take.
  const std::size_t next = r.cursors & 0x0fu;
  std::size_t pick = next % detail::kUserSlots;
  for (std::size_t k = 0; k < detail::kUserSlots; ++k) {
    const std::size_t i = (next + k) % detail::kUserSlots;
    if (r.user_hash[i] == 0 || !(r.user_flags[i] & detail::user_flag::registered)) {
      pick = i;
      break;
    }
  }
  r.cursors = static_cast<std::uint8_t>((r.cursors & 0xf0u) | ((pick + 1) % detail::kUserSlots));
  r.user_hash[pick] = hash;
  for (auto& c : r.conversations)
    if (c.slot == pick) c = {};
  r.fail_tat[pick] = 0;
  r.failures[pick] = r.burst_failures[pick] = 0;
  r.burst_start_s[pick] = 0;
  r.user_flags[pick] = 0;
  return static_cast<int>(pick);
}

detail::Pending* Engine::Impl::find_pending(SourceRecord& r, std::uint32_t key, std::uint32_t cseq, bool iax) {
  for (auto& p : r.pending) {
    if (p.key != key || p.key == 0) continue;
    if (p.flags & (detail::pending_flag::challenge_open | detail::pending_flag::answered)) continue;  // not requests
    if (((p.flags & detail::pending_flag::iax) != 0) != iax) continue;
    if (!iax && p.cseq != cseq) continue;
    return &p;
  }
  return nullptr;
}

void Engine::Impl::add_pending(SourceRecord& r, const detail::Pending& p) {
  const std::size_t next = (r.cursors >> 4) % detail::kPendingSlots;
  r.pending[next] = p;
  r.cursors = static_cast<std::uint8_t>((r.cursors & 0x0fu) | (((next + 1) % detail::kPendingSlots) << 4));
}

namespace {
std::uint32_t address_hash(const IpAddress& a, std::uint64_t salt) {
  std::uint32_t h = 2166136261u ^ static_cast<std::uint32_t>(salt);
  for (const auto b : a.bytes()) h = (h ^ b) * 16777619u;
  return h;
}
}  // namespace

void Engine::Impl::remember(const IpAddress& addr, std::uint32_t at_s) {
  if (settings.validated_memory.count() <= 0 || remembered.empty()) return;
  const std::size_t base = (address_hash(addr, table_salt(this)) % (remembered.size() / 4)) * 4;
  RememberedAddress* slot = &remembered[base];
  for (std::size_t i = 0; i < 4; ++i) {
    RememberedAddress& e = remembered[base + i];
    if (e.last_s != 0 && e.addr == addr) {
      e.last_s = std::max(e.last_s, at_s);
      return;
    }
    if (e.last_s < slot->last_s) slot = &e;  // free slots (0) first, then the oldest
  }
  *slot = RememberedAddress{addr, std::max<std::uint32_t>(at_s, 1)};
}

bool Engine::Impl::remembered_recently(const IpAddress& addr, std::uint32_t now_s) const {
  if (settings.validated_memory.count() <= 0 || remembered.empty()) return false;
  const std::int64_t memory_s = settings.validated_memory.count() / 1'000'000;
  const std::size_t base = (address_hash(addr, table_salt(this)) % (remembered.size() / 4)) * 4;
  for (std::size_t i = 0; i < 4; ++i) {
    const RememberedAddress& e = remembered[base + i];
    if (e.last_s != 0 && e.addr == addr) return std::int64_t{now_s} - std::int64_t{e.last_s} <= memory_s;
  }
  return false;
}

bool Engine::Impl::spoof_guard(Step& s, Rule rule) {
  SourceRecord& r = s.rec;
  // An operator's block and a registration the PBX accepted (rule 11) prove themselves.
  if (rule == Rule::manual || rule == Rule::outside_allow_from) return false;
  // The conversation judged answered a nonce sent to the address. A proof is not kept on the
  // record: the phone's own registrations answer nonces too, and must not vouch for a forged
  // packet that comes later.
  if (s.proved) return false;
  if (s.obs.meta.transport != Transport::udp) return false;   // a stream: the handshake completed
  if (!remembered_recently(r.addr, s.now_s)) return false;
  ++counters.spoof_guarded;
  s.guarded = rule;
  r.guarded_rule = rule;
  clear_rule_state(r);  // count afresh: the next proof, not this packet, decides
  r.fingerprint_hash = 0;  // and judge the next packet's User-Agent again
  return true;
}

bool Engine::Impl::take_block(Step& s, Rule rule, std::string user, std::string reason, bool fingerprint) {
  SourceRecord& r = s.rec;
  if (never_block && never_block(r.addr)) {
    ++counters.never_block_spared;
    clear_rule_state(r);  // start counting afresh rather than trying again on every packet
    return false;
  }
  if (spoof_guard(s, rule)) return false;
  const auto& ladder = settings.block_ladder;
  const std::uint32_t memory_s = static_cast<std::uint32_t>(
      std::min<std::int64_t>(settings.escalation_memory.count() / 1'000'000, 0xffffffffLL));
  const bool again = r.last_block_end_s != 0 && std::uint64_t{s.now_s} <= std::uint64_t{r.last_block_end_s} + memory_s;
  std::uint32_t step = again ? std::min<std::uint32_t>(r.block_step + 1u, static_cast<std::uint32_t>(ladder.size() - 1)) : 0;
  Duration length = ladder[step];
  if (fingerprint) {
    step = std::max(step, fingerprint_step);
    length = std::max(ladder[step], settings.fingerprint_block);
  }
  if (r.state == SourceState::validated) forget(s, rule, "validation withdrawn: " + reason);

  const std::int64_t until_us = s.now_us + length.count();
  r.state = SourceState::blocked;
  r.block_step = static_cast<std::uint8_t>(step);
  r.until_s = ceil_s(until_us);
  r.last_block_end_s = r.until_s;
  r.last_rule = rule;
  clear_rule_state(r);
  r.flags &= static_cast<std::uint8_t>(~(detail::record_flag::authenticated | detail::record_flag::answers_challenges));
  r.nonce_hash = 0;
  r.fingerprint_hash = 0;
  for (auto& p : r.pending) p = {};
  for (std::size_t i = 0; i < detail::kUserSlots; ++i) {
    r.user_hash[i] = 0;
    r.user_flags[i] = 0;
  }
  r.user_len = 0;
  enqueue(s.index);
  if (again) reason += " (blocked again within " + detail::human_duration(settings.escalation_memory.count()) + ")";
  emit(s, Decision{Action::block, r.addr, std::move(user), TimePoint(Duration(until_us)), rule, std::move(reason)});
  if (rule != Rule::manual) count_rotation(s);  // an operator picks addresses deliberately
  return true;
}

void Engine::Impl::validate(Step& s, std::string_view user, std::uint32_t user_hash, std::uint32_t expires_s) {
  SourceRecord& r = s.rec;
  const std::int64_t until_us = s.now_us + std::int64_t{expires_s} * 1'000'000 + settings.registration_grace.count();
  const bool extends = r.state != SourceState::validated || ceil_s(until_us) >= r.until_s;
  if (r.state != SourceState::validated) r.until_s = 0;
  r.state = SourceState::validated;
  r.until_s = std::max(r.until_s, ceil_s(until_us));
  clear_rule_state(r);  // a successful registration clears the failure counters
  const std::size_t n = std::min(user.size(), detail::kUserNameBytes);
  std::copy_n(user.data(), n, r.user);
  r.user_len = static_cast<std::uint8_t>(n);
  if (int i = user_slot(r, user_hash, true); i >= 0) r.user_flags[i] |= detail::user_flag::registered;
  enqueue(s.index);
  remember(r.addr, s.now_s);
  const std::int64_t reported_us = extends ? until_us : us_of(r.until_s);
  emit(s, Decision{Action::validate, r.addr, std::string(user), TimePoint(Duration(reported_us)), Rule::registration,
                   "registered as " + detail::printable(user) + " for " + detail::human_duration(std::int64_t{expires_s} * 1'000'000) +
                       " (+" + detail::human_duration(settings.registration_grace.count()) + " grace)"});
}

void Engine::Impl::forget(Step& s, Rule rule, std::string reason) {
  SourceRecord& r = s.rec;
  std::string user = user_of(r);
  r.state = SourceState::none;
  r.user_len = 0;
  for (std::size_t i = 0; i < detail::kUserSlots; ++i) r.user_flags[i] &= static_cast<std::uint8_t>(~detail::user_flag::registered);
  emit(s, Decision{Action::forget, r.addr, std::move(user), std::nullopt, rule, std::move(reason)});
}

void Engine::Impl::flag(Step& s, int slot, std::string_view user, std::string reason, bool again) {
  auto& user_flags = s.rec.user_flags[slot];
  // The first flag of the user counts the failures that led to it; later ones count themselves.
  const std::uint32_t failures = (user_flags & detail::user_flag::flagged) ? 1u : s.rec.failures[slot];
  user_flags |= detail::user_flag::flagged;
  if (!again) {
    s.rec.flags |= detail::record_flag::flagged;
    s.rec.last_flag_s = s.now_s;
  }
  Decision d{again ? Action::failed_again : Action::flag, s.rec.addr, std::string(user), std::nullopt,
             Rule::misconfigured_device, std::move(reason)};
  d.failures = failures;
  emit(s, std::move(d));
}

// ---------------------------------------------------------------------------------------------

Engine::Engine(Settings settings, NeverBlock never_block, AllowFrom allow_from, KnownUser known_user)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(never_block), std::move(allow_from),
                                   std::move(known_user))) {}
Engine::~Engine() = default;

std::size_t Engine::observe(const Observation& obs, TimePoint now, std::vector<Decision>& out) {
  Impl& m = *impl_;
  const std::size_t before = out.size();
  ++m.counters.observations[static_cast<std::size_t>(obs.kind())];
  if (const Impl::NetRecord* net = m.net_of(obs.meta.remote(), false); net && to_us(now) < us_of(net->until_s)) {
    ++m.counters.while_blocked;  // its /64 is blocked: the kernel drops these live
    m.latest_us = std::max(m.latest_us, to_us(now));
    return 0;
  }
  const std::uint32_t index = m.touch_source(obs.meta.remote(), to_us(now));
  SourceRecord& rec = m.table.at(index);
  Impl::Step step{obs, to_us(now), floor_s(to_us(now)), index, rec, out};

  if (rec.state == SourceState::blocked) {
    if (step.now_us < us_of(rec.until_s)) {
      ++rec.while_blocked;
      ++m.counters.while_blocked;
      return 0;  // the kernel drops these live; in a replay they still arrive
    }
    rec.state = SourceState::none;
  } else if (rec.state == SourceState::validated && step.now_us >= us_of(rec.until_s)) {
    m.forget(step, Rule::registration_expired, "registration of " + detail::printable(m.user_of(rec)) + " expired");
  }

  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, SipRequest>) m.on_sip_request(step, body);
        else if constexpr (std::is_same_v<T, SipResponse>) m.on_sip_response(step, body);
        else if constexpr (std::is_same_v<T, IaxFrame>) m.on_iax(step, body);
        else if constexpr (std::is_same_v<T, SecurityEvent>) m.on_security_event(step, body);
        else m.on_malformed(step);
      },
      obs.body);
  return out.size() - before;
}

std::vector<Decision> Engine::observe(const Observation& obs, TimePoint now) {
  std::vector<Decision> out;
  observe(obs, now, out);
  return out;
}

std::size_t Engine::expire(TimePoint now, std::vector<Decision>& out) {
  Impl& m = *impl_;
  const std::size_t before = out.size();
  const std::int64_t now_us = to_us(now);
  m.latest_us = std::max(m.latest_us, now_us);
  while (!m.queue.empty() && us_of(m.queue.front().until_s) <= now_us) {
    std::pop_heap(m.queue.begin(), m.queue.end(), Impl::queue_later);
    const std::uint32_t index = m.queue.back().index;
    const std::uint32_t due_s = m.queue.back().until_s;
    m.queue.pop_back();
    SourceRecord& rec = m.table.at(index);
    if (!(rec.flags & detail::record_flag::queued) || rec.queued_s != due_s) continue;  // superseded
    rec.flags &= static_cast<std::uint8_t>(~detail::record_flag::queued);
    if (rec.state == SourceState::none) continue;
    if (us_of(rec.until_s) > now_us) {  // extended since it was queued
      m.enqueue(index);
      continue;
    }
    if (rec.state == SourceState::validated) {
      static const Observation kNoObservation{};
      Impl::Step step{kNoObservation, now_us, floor_s(now_us), index, rec, out};
      m.forget(step, Rule::registration_expired, "registration of " + detail::printable(m.user_of(rec)) + " expired");
    } else {
      rec.state = SourceState::none;  // block over: the kernel's set timeout lifts it
    }
  }
  return out.size() - before;
}

std::vector<Decision> Engine::expire(TimePoint now) {
  std::vector<Decision> out;
  expire(now, out);
  return out;
}

std::vector<Decision> Engine::block(const IpAddress& addr, TimePoint now, std::optional<Duration> duration,
                                    std::string reason) {
  Impl& m = *impl_;
  std::vector<Decision> out;
  if (m.never_block && m.never_block(addr)) {
    ++m.counters.never_block_spared;
    return out;
  }
  const std::uint32_t index = m.touch_source(addr, to_us(now));
  SourceRecord& rec = m.table.at(index);
  static const Observation kNoObservation{};
  Impl::Step step{kNoObservation, to_us(now), floor_s(to_us(now)), index, rec, out};
  if (!m.take_block(step, Rule::manual, {}, reason.empty() ? "blocked by an operator" : std::move(reason), false)) return out;
  if (duration) {  // an explicit length replaces the ladder's; the step still counts
    const std::int64_t until_us = step.now_us + duration->count();
    rec.until_s = ceil_s(until_us);
    rec.last_block_end_s = rec.until_s;
    out.back().until = TimePoint(Duration(until_us));
    m.enqueue(index);
  }
  return out;
}

std::uint32_t Engine::Impl::touch_source(const IpAddress& addr, std::int64_t now_us) {
  bool evicted = false;
  const std::uint32_t index = table.touch(addr, evicted);
  if (evicted) ++counters.evictions;
  table.at(index).last_seen_s = floor_s(now_us);
  latest_us = std::max(latest_us, now_us);
  return index;
}

bool Engine::restore_block(const IpAddress& addr, TimePoint now, TimePoint until, Rule rule, std::uint32_t times_blocked) {
  Impl& m = *impl_;
  if (until <= now || (m.never_block && m.never_block(addr))) return false;
  const std::uint32_t index = m.touch_source(addr, to_us(now));
  SourceRecord& rec = m.table.at(index);
  rec.state = SourceState::blocked;
  rec.until_s = ceil_s(to_us(until));
  rec.last_block_end_s = rec.until_s;
  const std::size_t top = m.settings.block_ladder.size() - 1;
  rec.block_step = static_cast<std::uint8_t>(std::min<std::size_t>(std::max<std::uint32_t>(times_blocked, 1) - 1, top));
  rec.last_rule = rule;
  m.enqueue(index);
  return true;
}

bool Engine::restore_validation(const IpAddress& addr, TimePoint now, const std::string& user, TimePoint until) {
  Impl& m = *impl_;
  if (until <= now) return false;
  const std::uint32_t index = m.touch_source(addr, to_us(now));
  SourceRecord& rec = m.table.at(index);
  rec.state = SourceState::validated;
  rec.until_s = ceil_s(to_us(until));
  const std::size_t n = std::min(user.size(), detail::kUserNameBytes);
  std::copy_n(user.data(), n, rec.user);
  rec.user_len = static_cast<std::uint8_t>(n);
  const std::uint32_t hash = user.empty() ? 0 : detail::name_hash(user);
  if (hash) m.names.remember(hash, user);
  if (int i = m.user_slot(rec, hash, true); i >= 0) rec.user_flags[i] |= detail::user_flag::registered;
  m.enqueue(index);
  m.remember(addr, static_cast<std::uint32_t>(ceil_s(to_us(now))));
  return true;
}

void Engine::remember_validation(const IpAddress& addr, TimePoint validated_at) {
  impl_->remember(addr, static_cast<std::uint32_t>(ceil_s(to_us(validated_at))));
}

bool Engine::restore_network_block(const Cidr& network, TimePoint now, TimePoint until) {
  Impl& m = *impl_;
  if (until <= now || network.family() != Family::v6 || network.prefix() != 64) return false;
  Impl::NetRecord* n = m.net_of(network.address(), true);
  if (!n) return false;
  n->until_s = ceil_s(to_us(until));
  m.latest_us = std::max(m.latest_us, to_us(now));
  return true;
}

std::optional<Decision> Engine::unblock(const IpAddress& addr, TimePoint now) {
  Impl& m = *impl_;
  const std::uint32_t index = m.table.find(addr);
  if (index == detail::kNone) return std::nullopt;
  SourceRecord& rec = m.table.at(index);
  if (rec.state != SourceState::blocked || to_us(now) >= us_of(rec.until_s)) return std::nullopt;
  rec.state = SourceState::none;
  rec.last_block_end_s = 0;  // an operator's unblock says the block was a mistake: no escalation
  rec.block_step = 0;
  ++m.counters.decisions[static_cast<std::size_t>(Rule::manual)];
  return Decision{Action::unblock, addr, {}, std::nullopt, Rule::manual, "unblocked by an operator"};
}

namespace {

SourceView view_of(const SourceRecord& r, std::int64_t now_us) {
  SourceView v;
  v.addr = r.addr;
  v.state = r.state;
  if (r.state != SourceState::none && now_us >= us_of(r.until_s)) v.state = SourceState::none;
  v.flagged = (r.flags & detail::record_flag::flagged) != 0;
  if (v.state != SourceState::none) v.until = TimePoint(Duration(us_of(r.until_s)));
  if (v.state == SourceState::validated) v.user.assign(r.user, r.user_len);
  v.last_rule = r.last_rule;
  v.requests = r.requests;
  v.packets_while_blocked = r.while_blocked;
  v.last_seen = TimePoint(Duration(us_of(r.last_seen_s)));
  return v;
}

}  // namespace

std::vector<SourceView> Engine::snapshot() const {
  const Impl& m = *impl_;
  std::vector<SourceView> out;
  for (std::uint32_t i = 0; i < m.table.size(); ++i) {
    SourceView v = view_of(m.table.at(i), m.latest_us);
    if (v.state != SourceState::none || v.flagged) out.push_back(std::move(v));
  }
  return out;
}

Engine::StateCounts Engine::state_counts() const {
  const Impl& m = *impl_;
  StateCounts c;
  for (std::uint32_t i = 0; i < m.table.size(); ++i) {
    const SourceRecord& r = m.table.at(i);
    const bool in_force = r.state != SourceState::none && m.latest_us < us_of(r.until_s);
    c.blocked += in_force && r.state == SourceState::blocked;
    c.validated += in_force && r.state == SourceState::validated;
    c.flagged += (r.flags & detail::record_flag::flagged) != 0;
  }
  return c;
}

std::optional<SourceView> Engine::source(const IpAddress& addr) const {
  const Impl& m = *impl_;
  const std::uint32_t i = m.table.find(addr);
  if (i == detail::kNone) return std::nullopt;
  return view_of(m.table.at(i), m.latest_us);
}

Counters Engine::counters() const {
  Counters c = impl_->counters;
  c.table_size = impl_->table.size();
  return c;
}

const Settings& Engine::settings() const { return impl_->settings; }

std::size_t Engine::bytes_per_source() {
  // Record + bucket head (the bucket array is the next power of two of the ceiling) + at most
  // one expiry-queue entry.
  return sizeof(SourceRecord) + sizeof(std::uint32_t) + sizeof(Impl::QueueEntry);
}

}  // namespace pbxwall::responsive
