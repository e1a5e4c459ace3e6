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

}  // namespace

SourceTable::SourceTable(std::size_t ceiling, std::uint64_t salt)
    : ceiling_(std::clamp<std::size_t>(ceiling, 1, kNone - 1)), salt_(salt) {
  buckets_.assign(std::min<std::size_t>(std::bit_ceil(ceiling_), 1024), kNone);
}

std::size_t SourceTable::bucket_of(const IpAddress& addr) const {
  return static_cast<std::size_t>(mix(IpAddressHash{}(addr) ^ salt_)) & (buckets_.size() - 1);
}

std::uint32_t SourceTable::find(const IpAddress& addr) const {
  for (std::uint32_t i = buckets_[bucket_of(addr)]; i != kNone; i = at(i).hash_next)
    if (at(i).addr == addr) return i;
  return kNone;
}

void SourceTable::link_front(std::uint32_t i) {
  SourceRecord& r = at(i);
  r.lru_prev = kNone;
  r.lru_next = lru_head_;
  if (lru_head_ != kNone) at(lru_head_).lru_prev = i;
  lru_head_ = i;
  if (lru_tail_ == kNone) lru_tail_ = i;
}

void SourceTable::unlink(std::uint32_t i) {
  SourceRecord& r = at(i);
  if (r.lru_prev != kNone) at(r.lru_prev).lru_next = r.lru_next;
  else lru_head_ = r.lru_next;
  if (r.lru_next != kNone) at(r.lru_next).lru_prev = r.lru_prev;
  else lru_tail_ = r.lru_prev;
  r.lru_prev = r.lru_next = kNone;
}

void SourceTable::unchain(std::uint32_t i) {
  std::uint32_t* link = &buckets_[bucket_of(at(i).addr)];
  while (*link != i) link = &at(*link).hash_next;  // i is in its chain by construction
  *link = at(i).hash_next;
  at(i).hash_next = kNone;
}

void SourceTable::grow_buckets() {
  buckets_.assign(buckets_.size() * 2, kNone);
  for (std::uint32_t i = 0; i < size_; ++i) {
    std::uint32_t& head = buckets_[bucket_of(at(i).addr)];
    at(i).hash_next = head;
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
  if (size_ < ceiling_) {
    if (size_ + 1 > buckets_.size() && buckets_.size() < std::bit_ceil(ceiling_)) grow_buckets();
    if (size_ == chunks_.size() * kChunkRecords) {
      // The last chunk is cut to the ceiling, so small tables stay small.
      chunks_.push_back(std::make_unique<SourceRecord[]>(std::min(kChunkRecords, ceiling_ - size_)));
    }
    i = static_cast<std::uint32_t>(size_++);
  } else {
    i = lru_tail_;
    unlink(i);
    unchain(i);
    // The expiry queue may still point at this slot; the new owner inherits that entry.
    const std::uint8_t queued = at(i).flags & record_flag::queued;
    const std::uint32_t queued_s = at(i).queued_s;
    at(i) = SourceRecord{};
    at(i).flags = queued;
    at(i).queued_s = queued_s;
    evicted = true;
  }
  SourceRecord& r = at(i);
  r.addr = addr;
  std::uint32_t& head = buckets_[bucket_of(addr)];
  r.hash_next = head;
  head = i;
  link_front(i);
  return i;
}

std::size_t SourceTable::memory_bytes() const {
  std::size_t records = 0;
  for (std::size_t c = 0; c < chunks_.size(); ++c) records += std::min(kChunkRecords, ceiling_ - c * kChunkRecords);
  return records * sizeof(SourceRecord) + buckets_.capacity() * sizeof(std::uint32_t);
}

}  // namespace pbxwall::responsive::detail
