#include "capture/tcp_streams.h"

#include <algorithm>
#include <chrono>

namespace pbxwall::capture {
namespace {

// Signed distance from b to a in sequence space (RFC 1982 arithmetic).
std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) {
  return static_cast<std::int32_t>(a - b);
}

}  // namespace

std::size_t StreamKeyHash::operator()(const StreamKey& k) const noexcept {
  const IpAddressHash h;
  std::size_t v = h(k.src);
  v = v * 0x9e3779b97f4a7c15ull + h(k.dst);
  v = v * 0x9e3779b97f4a7c15ull + (std::size_t{k.sport} << 16 | k.dport);
  return v;
}

void TcpStreams::remove(Lru::iterator it) {
  stats_.tcp_buffered_bytes -= it->waiting_bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

void TcpStreams::expire(TimePoint now) {
  if (now < next_sweep_) return;
  next_sweep_ = now + std::chrono::seconds(1);
  while (!lru_.empty() && lru_.back().last_seen + limits_.tcp_idle_timeout < now) {
    ++stats_.tcp_stream_evictions;
    remove(std::prev(lru_.end()));
  }
}

TcpStreams::Lru::iterator TcpStreams::find_or_add(const StreamKey& key, TimePoint t, bool& added) {
  added = false;
  if (auto f = index_.find(key); f != index_.end()) {
    lru_.splice(lru_.begin(), lru_, f->second);
    f->second->last_seen = std::max(f->second->last_seen, t);
    return f->second;
  }
  while (!lru_.empty() && lru_.size() >= limits_.max_tcp_streams) {
    ++stats_.tcp_stream_evictions;
    remove(std::prev(lru_.end()));
  }
  if (limits_.max_tcp_streams == 0) return lru_.end();
  lru_.push_front(Stream{});
  lru_.front().key = key;
  lru_.front().last_seen = t;
  index_.emplace(key, lru_.begin());
  added = true;
  return lru_.begin();
}

void TcpStreams::buffer(Stream& s, std::uint32_t seq, std::span<const std::uint8_t> data, bool fin) {
  const auto dist = seq_diff(seq, s.next);
  auto pos = std::lower_bound(s.waiting.begin(), s.waiting.end(), dist,
                              [&](const Segment& w, std::int32_t d) { return seq_diff(w.seq, s.next) < d; });
  if (pos != s.waiting.end() && pos->seq == seq && pos->data.size() >= data.size()) {
    ++stats_.tcp_retransmissions;  // the same out-of-order segment again
    return;
  }
  ++stats_.tcp_out_of_order;
  s.waiting_bytes += data.size();
  stats_.tcp_buffered_bytes += data.size();
  s.waiting.insert(pos, Segment{seq, std::vector<std::uint8_t>(data.begin(), data.end()), fin});
}

void TcpStreams::shed(Lru::iterator keep) {
  while (stats_.tcp_buffered_bytes > limits_.max_tcp_buffered_bytes) {
    auto victim = std::prev(lru_.end());
    if (victim == keep) {
      if (victim == lru_.begin()) return;  // alone: its own per-stream limits apply
      victim = std::prev(victim);
    }
    ++stats_.tcp_buffer_evictions;
    remove(victim);
  }
}

bool TcpStreams::drain(Stream& s, std::vector<std::uint8_t>& out) {
  bool fin = false;
  while (!s.waiting.empty()) {
    Segment& w = s.waiting.front();
    const auto dist = seq_diff(w.seq, s.next);
    if (dist > 0) break;
    const auto skip = static_cast<std::size_t>(-static_cast<std::int64_t>(dist));
    if (skip < w.data.size()) {
      out.insert(out.end(), w.data.begin() + static_cast<std::ptrdiff_t>(skip), w.data.end());
      s.next += static_cast<std::uint32_t>(w.data.size() - skip);
    } else if (!w.data.empty()) {
      ++stats_.tcp_retransmissions;
    }
    fin = fin || w.fin;
    s.waiting_bytes -= w.data.size();
    stats_.tcp_buffered_bytes -= w.data.size();
    s.waiting.erase(s.waiting.begin());
  }
  return fin;
}

TcpStreams::Delivery TcpStreams::segment(const StreamKey& key, TimePoint t, std::uint32_t seq,
                                         std::uint8_t flags, std::span<const std::uint8_t> data) {
  expire(t);
  Delivery d;
  bool added = false;
  auto it = find_or_add(key, t, added);
  if (it == lru_.end()) return d;
  Stream& s = *it;

  if (flags & tcp_flag::rst) {
    remove(it);
    d.end = true;
    return d;
  }
  if (flags & tcp_flag::syn) {
    if (added || !s.saw_syn || s.isn != seq) {
      // A new connection (or the port pair reused): start over after the SYN.
      s.saw_syn = true;
      s.isn = seq;
      s.next = seq + 1;
      s.waiting.clear();
      stats_.tcp_buffered_bytes -= s.waiting_bytes;
      s.waiting_bytes = 0;
    }
    seq += 1;  // data on a SYN (TCP Fast Open) starts after it
  } else if (added) {
    // Picked up mid-way: the capture started late, or the stream was evicted earlier.
    s.next = seq;
    d.gap = !data.empty();
  }
  const bool fin = flags & tcp_flag::fin;

  const auto dist = seq_diff(seq, s.next);
  if (dist > 0) {
    if (data.empty() && !fin) return d;
    buffer(s, seq, data, fin);
    shed(it);
    if (s.waiting.size() <= limits_.max_tcp_out_of_order_segments &&
        s.waiting_bytes <= limits_.max_tcp_out_of_order_bytes)
      return d;
    // Give up on the hole: continue from the first waiting segment.
    ++stats_.tcp_gaps;
    s.next = s.waiting.front().seq;
    out_.clear();
    d.gap = true;
    d.end = drain(s, out_);
    d.bytes = out_;
    if (d.end) remove(it);
    return d;
  }

  const auto skip = static_cast<std::size_t>(-static_cast<std::int64_t>(dist));
  if (skip >= data.size()) {
    if (!data.empty()) ++stats_.tcp_retransmissions;
    if (fin && skip == data.size()) {
      d.end = true;
      remove(it);
    }
    return d;
  }
  auto fresh = data.subspan(skip);
  s.next += static_cast<std::uint32_t>(fresh.size());
  if (s.waiting.empty() || seq_diff(s.waiting.front().seq, s.next) > 0) {
    d.bytes = fresh;  // the common case: no copy
    d.end = fin;
  } else {
    out_.assign(fresh.begin(), fresh.end());
    d.end = drain(s, out_) || fin;
    d.bytes = out_;
  }
  if (d.end) remove(it);
  return d;
}

}  // namespace pbxwall::capture
