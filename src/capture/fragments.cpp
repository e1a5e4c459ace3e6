#include "capture/fragments.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace pbxwall::capture {

std::size_t FragmentKeyHash::operator()(const FragmentKey& k) const noexcept {
  const IpAddressHash h;
  std::size_t v = h(k.src);
  v = v * 0x9e3779b97f4a7c15ull + h(k.dst);
  v = v * 0x9e3779b97f4a7c15ull + (std::size_t{k.id} << 8 | k.protocol);
  return v;
}

void FragmentTable::erase(Map::iterator it) {
  bytes_held_ -= it->second.bytes;
  datagrams_.erase(it);
}

void FragmentTable::expire(TimePoint now) {
  if (datagrams_.empty() || now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  for (auto it = datagrams_.begin(); it != datagrams_.end();) {
    if (it->second.first_seen + limits_.fragment_timeout < now) {
      ++stats_.fragment_timeouts;
      auto next = std::next(it);
      erase(it);
      it = next;
    } else {
      ++it;
    }
  }
}

void FragmentTable::evict_oldest() {
  auto oldest = datagrams_.begin();
  for (auto it = datagrams_.begin(); it != datagrams_.end(); ++it)
    if (it->second.first_seen < oldest->second.first_seen) oldest = it;
  if (oldest == datagrams_.end()) return;
  ++stats_.fragment_evictions;
  erase(oldest);
}

bool FragmentTable::complete(const Datagram& d) const {
  if (!d.have_last) return false;
  std::uint32_t covered = 0;
  for (const auto& p : d.pieces) {
    if (p.offset != covered) return false;
    covered += static_cast<std::uint32_t>(p.data.size());
  }
  return covered == d.total;
}

FragmentTable::Outcome FragmentTable::add(const FragmentKey& key, TimePoint t, std::uint32_t offset,
                                          bool more, std::span<const std::uint8_t> data,
                                          std::uint8_t next_header, std::vector<std::uint8_t>& out,
                                          std::uint8_t& out_next_header) {
  expire(t);
  const auto end = offset + static_cast<std::uint32_t>(data.size());

  auto it = datagrams_.find(key);
  if (it == datagrams_.end()) {
    if (data.size() > limits_.max_fragment_bytes) {
      ++stats_.fragment_evictions;
      return Outcome::dropped;
    }
    while (!datagrams_.empty() && (datagrams_.size() >= limits_.max_fragmented_datagrams ||
                                   bytes_held_ + data.size() > limits_.max_fragment_bytes))
      evict_oldest();
    if (limits_.max_fragmented_datagrams == 0) {
      ++stats_.fragment_evictions;
      return Outcome::dropped;
    }
    it = datagrams_.emplace(key, Datagram{}).first;
    it->second.first_seen = t;
  } else {
    while (bytes_held_ + data.size() > limits_.max_fragment_bytes && datagrams_.size() > 1) {
      // Evict others first; this datagram is the one making progress.
      auto oldest = datagrams_.end();
      for (auto o = datagrams_.begin(); o != datagrams_.end(); ++o)
        if (o != it && (oldest == datagrams_.end() || o->second.first_seen < oldest->second.first_seen))
          oldest = o;
      ++stats_.fragment_evictions;
      erase(oldest);
    }
    if (bytes_held_ + data.size() > limits_.max_fragment_bytes) {
      ++stats_.fragment_evictions;
      erase(it);
      return Outcome::dropped;
    }
  }
  Datagram& d = it->second;

  // The last fragment fixes the length; anything beyond it, or a second different end, is
  // an inconsistent datagram.
  if (!more) {
    if ((d.have_last && d.total != end) || (!d.pieces.empty() && d.pieces.back().offset +
                                                                         d.pieces.back().data.size() > end)) {
      ++stats_.fragment_overlaps;
      erase(it);
      return Outcome::dropped;
    }
    d.have_last = true;
    d.total = end;
  } else if (d.have_last && end > d.total) {
    ++stats_.fragment_overlaps;
    erase(it);
    return Outcome::dropped;
  }

  auto pos = std::lower_bound(d.pieces.begin(), d.pieces.end(), offset,
                              [](const Piece& p, std::uint32_t o) { return p.offset < o; });
  if (pos != d.pieces.end() && pos->offset == offset && pos->data.size() == data.size() &&
      std::equal(data.begin(), data.end(), pos->data.begin())) {
    return Outcome::pending;  // an exact duplicate (retransmitted fragment)
  }
  const bool overlaps_next = pos != d.pieces.end() && end > pos->offset;
  const bool overlaps_prev =
      pos != d.pieces.begin() && std::prev(pos)->offset + std::prev(pos)->data.size() > offset;
  if (overlaps_next || overlaps_prev) {
    ++stats_.fragment_overlaps;
    erase(it);
    return Outcome::dropped;
  }
  d.pieces.insert(pos, Piece{offset, std::vector<std::uint8_t>(data.begin(), data.end())});
  d.bytes += data.size();
  bytes_held_ += data.size();
  if (offset == 0) d.next_header = next_header;

  if (!complete(d)) return Outcome::pending;
  out.resize(d.total);
  for (const auto& p : d.pieces)
    if (!p.data.empty()) std::memcpy(out.data() + p.offset, p.data.data(), p.data.size());
  out_next_header = d.next_header;
  erase(it);
  ++stats_.reassembled;
  return Outcome::complete;
}

}  // namespace pbxwall::capture
