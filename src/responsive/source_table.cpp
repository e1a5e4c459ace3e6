#include "responsive/source_table.h"

#include <algorithm>
#include <bit>

namespace pbxwall::responsive::detail {
namespace {

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

constexpr std::size_t kFirstCapacity = 256;

}  // namespace

SourceTable::SourceTable(std::size_t ceiling, std::uint64_t salt)
    : ceiling_(std::clamp<std::size_t>(ceiling, 1, kNone - 1)), salt_(salt) {
  buckets_.assign(std::min<std::size_t>(std::bit_ceil(ceiling_), 1024), kNone);
}

std::size_t SourceTable::bucket_of(const IpAddress& addr) const {
  return static_cast<std::size_t>(mix(IpAddressHash{}(addr) ^ salt_)) & (buckets_.size() - 1);
}

std::uint32_t SourceTable::find(const IpAddress& addr) const {
  for (std::uint32_t i = buckets_[bucket_of(addr)]; i != kNone; i = records_[i].hash_next)
    if (records_[i].addr == addr) return i;
  return kNone;
}

void SourceTable::link_front(std::uint32_t i) {
  SourceRecord& r = records_[i];
  r.lru_prev = kNone;
  r.lru_next = lru_head_;
  if (lru_head_ != kNone) records_[lru_head_].lru_prev = i;
  lru_head_ = i;
  if (lru_tail_ == kNone) lru_tail_ = i;
}

void SourceTable::unlink(std::uint32_t i) {
  SourceRecord& r = records_[i];
  if (r.lru_prev != kNone) records_[r.lru_prev].lru_next = r.lru_next;
  else lru_head_ = r.lru_next;
  if (r.lru_next != kNone) records_[r.lru_next].lru_prev = r.lru_prev;
  else lru_tail_ = r.lru_prev;
  r.lru_prev = r.lru_next = kNone;
}

void SourceTable::unchain(std::uint32_t i) {
  std::uint32_t* link = &buckets_[bucket_of(records_[i].addr)];
  while (*link != i) link = &records_[*link].hash_next;  // i is in its chain by construction
  *link = records_[i].hash_next;
  records_[i].hash_next = kNone;
}

void SourceTable::grow_buckets() {
  buckets_.assign(buckets_.size() * 2, kNone);
  for (std::uint32_t i = 0; i < records_.size(); ++i) {
    std::uint32_t& head = buckets_[bucket_of(records_[i].addr)];
    records_[i].hash_next = head;
    head = i;
  }
}

std::uint32_t SourceTable::touch(const IpAddress& addr, bool& evicted) {
  evicted = false;
  std::uint32_t i = find(addr);
  if (i != kNone) {
    if (i != lru_head_) {
      unlink(i);
      link_front(i);
    }
    return i;
  }
  if (records_.size() < ceiling_) {
    if (records_.size() + 1 > buckets_.size() && buckets_.size() < std::bit_ceil(ceiling_)) grow_buckets();
    if (records_.size() == records_.capacity())  // grow, but never past the ceiling
      records_.reserve(std::min(std::max(kFirstCapacity, records_.capacity() * 2), ceiling_));
    records_.emplace_back();
    i = static_cast<std::uint32_t>(records_.size() - 1);
  } else {
    i = lru_tail_;
    unlink(i);
    unchain(i);
    // The expiry queue may still point at this slot; the new owner inherits that entry.
    const std::uint8_t queued = records_[i].flags & record_flag::queued;
    const std::uint32_t queued_s = records_[i].queued_s;
    records_[i] = SourceRecord{};
    records_[i].flags = queued;
    records_[i].queued_s = queued_s;
    evicted = true;
  }
  SourceRecord& r = records_[i];
  r.addr = addr;
  std::uint32_t& head = buckets_[bucket_of(addr)];
  r.hash_next = head;
  head = i;
  link_front(i);
  return i;
}

std::size_t SourceTable::memory_bytes() const {
  return records_.capacity() * sizeof(SourceRecord) + buckets_.capacity() * sizeof(std::uint32_t);
}

}  // namespace pbxwall::responsive::detail
