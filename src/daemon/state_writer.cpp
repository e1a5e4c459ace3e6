#include "daemon/state_writer.h"

#include <algorithm>
#include <map>

namespace pbxwall::daemon {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

}  // namespace

StateWriter::StateWriter(store::StateStore& store, std::size_t capacity)
    : store_(store), capacity_(std::max<std::size_t>(capacity, 1)) {}

void StateWriter::queue(StateChange change) {
  index(change);
  queue_.push_back(std::move(change));
  health_.unsaved = queue_.size();
}

void StateWriter::index(const StateChange& change) {
  if (const auto* b = std::get_if<store::BlockRecord>(&change)) queued_blocks_[b->address] = b->until;
  else if (const auto* r = std::get_if<RecoveredBlock>(&change)) queued_blocks_[r->record.address] = r->record.until;
  else if (const auto* u = std::get_if<RemoveBlock>(&change)) queued_blocks_[u->address] = std::nullopt;
}

Status<> StateWriter::apply(StateChange& change) {
  return std::visit(
      Overloaded{
          [&](store::BlockRecord& r) { return store_.add_block(r); },
          [&](RecoveredBlock& b) -> Status<> {
            auto previous = store_.find_block(b.record.address);
            if (previous.ok() && *previous) b.record.times_blocked = std::max<std::int64_t>((*previous)->times_blocked, 1);
            return store_.upsert_block(b.record);
          },
          [&](RemoveBlock& r) { return store_.remove_block(r.address); },
          [&](store::ValidatedRecord& r) { return store_.upsert_validated(r); },
          [&](RemoveValidation& r) { return store_.remove_validated(r.address); },
          [&](store::RememberedRecord& r) { return store_.remember_validated(r); },
          [&](store::FlagRecord& r) { return store_.count_flag(r); },
          [&](store::EventRecord& e) -> Status<> {
            auto id = store_.add_event(e);
            if (!id.ok()) return fail(id.error());
            e.id = *id;
            return {};
          },
      },
      change);
}

void StateWriter::trim() {
  health_.unsaved = queue_.size();
  if (queue_.size() <= capacity_) return;
  while (queue_.size() > capacity_) {
    queue_.pop_front();
    ++health_.dropped;
  }
  health_.unsaved = queue_.size();
  queued_blocks_.clear();
  for (const auto& change : queue_) index(change);
}

bool StateWriter::write(std::vector<store::EventRecord>& events, TimePoint now) {
  const std::size_t first_event = queue_.size();
  for (const auto& e : events) queue_.push_back(e);
  if (queue_.empty()) return true;
  if (!health_.ok && last_attempt_ && now - *last_attempt_ < kRetryInterval && now >= *last_attempt_) {
    trim();
    return false;
  }
  last_attempt_ = now;
  auto written = store_.transaction([&]() -> Status<> {
    for (auto& change : queue_)
      if (auto st = apply(change); !st.ok()) return st;
    return {};
  });
  if (!written.ok()) {
    ++health_.failures;
    health_.ok = false;
    health_.error = written.error();
    if (!health_.failing_since) health_.failing_since = now;
    trim();
    return false;
  }
  for (std::size_t i = 0; i < events.size(); ++i)
    if (const auto* e = std::get_if<store::EventRecord>(&queue_[first_event + i])) events[i].id = e->id;
  queue_.clear();
  queued_blocks_.clear();
  health_.ok = true;
  health_.unsaved = 0;
  health_.error.clear();
  health_.failing_since.reset();
  return true;
}

std::vector<store::BlockRecord> StateWriter::active_blocks(TimePoint now) const {
  auto saved = store_.active_blocks(now);  // in address order (SQLite's binary collation)
  std::vector<store::BlockRecord> stored = saved.ok() ? std::move(*saved) : std::vector<store::BlockRecord>();
  // The unsaved changes, the last one of each address winning (nullopt: removed).
  std::map<std::string, std::optional<store::BlockRecord>> queued;
  for (const auto& change : queue_) {
    if (const auto* b = std::get_if<store::BlockRecord>(&change)) queued[b->address] = *b;
    if (const auto* r = std::get_if<RecoveredBlock>(&change)) queued[r->record.address] = r->record;
    if (const auto* u = std::get_if<RemoveBlock>(&change)) queued[u->address] = std::nullopt;
  }
  if (queued.empty()) return stored;
  // Both in address order: merged, an unsaved change replacing the saved block of its address.
  std::vector<store::BlockRecord> out;
  out.reserve(stored.size() + queued.size());
  auto q = queued.begin();
  auto take_queued = [&] {
    if (q->second && q->second->until > now) out.push_back(std::move(*q->second));
    ++q;
  };
  for (auto& b : stored) {
    while (q != queued.end() && q->first < b.address) take_queued();
    if (q != queued.end() && q->first == b.address) {
      take_queued();
      continue;
    }
    out.push_back(std::move(b));
  }
  while (q != queued.end()) take_queued();
  return out;
}

std::size_t StateWriter::count_active_blocks(TimePoint now) const {
  std::size_t n = 0;
  if (auto saved = store_.count_active_blocks(now); saved.ok()) n = static_cast<std::size_t>(*saved);
  for (const auto& change : queue_) {
    if (const auto* b = std::get_if<store::BlockRecord>(&change)) n += b->until > now;
    if (const auto* r = std::get_if<RecoveredBlock>(&change)) n += r->record.until > now;
  }
  return n;
}

void StateWriter::each_active_block(TimePoint now, const std::string& after,
                                    const std::function<bool(const store::BlockRecord&)>& each) const {
  // The unsaved changes by address (nullopt: removed), merged into the database's order.
  std::map<std::string, std::optional<store::BlockRecord>> overlay;
  for (const auto& change : queue_) {
    if (const auto* b = std::get_if<store::BlockRecord>(&change); b && b->address > after) overlay[b->address] = *b;
    if (const auto* r = std::get_if<RecoveredBlock>(&change); r && r->record.address > after)
      overlay[r->record.address] = r->record;
    if (const auto* u = std::get_if<RemoveBlock>(&change); u && u->address > after) overlay[u->address] = std::nullopt;
  }
  auto next = overlay.begin();
  bool go_on = true;
  // The overlay's entries before `address` (all of them for nullptr).
  auto overlay_until = [&](const std::string* address) {
    for (; go_on && next != overlay.end() && (address == nullptr || next->first < *address); ++next)
      if (next->second && next->second->until > now) go_on = each(*next->second);
  };
  (void)store_.each_active_block(now, after, [&](const store::BlockRecord& b) {
    overlay_until(&b.address);
    if (!go_on) return false;
    if (next != overlay.end() && next->first == b.address) {
      const auto& replaced = next->second;
      ++next;
      if (replaced && replaced->until > now) go_on = each(*replaced);
      return go_on;
    }
    go_on = each(b);
    return go_on;
  });
  overlay_until(nullptr);
}

bool StateWriter::is_active_block(const std::string& address, TimePoint now) const {
  if (const auto queued = queued_blocks_.find(address); queued != queued_blocks_.end())
    return queued->second && *queued->second > now;
  auto saved = store_.block_until(address);
  return saved.ok() && *saved && **saved > now;
}

std::vector<store::ValidatedRecord> StateWriter::active_validated(TimePoint now) const {
  std::map<std::string, store::ValidatedRecord> by_address;
  if (auto saved = store_.active_validated(now); saved.ok())
    for (auto& v : *saved) by_address[v.address] = std::move(v);
  for (const auto& change : queue_) {
    if (const auto* v = std::get_if<store::ValidatedRecord>(&change)) by_address[v->address] = *v;
    if (const auto* f = std::get_if<RemoveValidation>(&change)) by_address.erase(f->address);
  }
  std::vector<store::ValidatedRecord> out;
  for (auto& [address, v] : by_address)
    if (v.until > now) out.push_back(std::move(v));
  return out;
}

}  // namespace pbxwall::daemon
