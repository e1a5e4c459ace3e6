#include "capture/signalling_tap.h"

#include <algorithm>
#include <string_view>

#include "iax/iax.h"

namespace pbxwall::capture {
namespace {

bool has_port(const std::vector<std::uint16_t>& ports, std::uint16_t p) {
  return std::find(ports.begin(), ports.end(), p) != ports.end();
}

// CRLF keep-alives (RFC 5626) and the empty or NUL-filled datagrams some phones send.
bool is_keepalive(std::span<const std::uint8_t> b) {
  if (b.size() > 4) return false;
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == '\r' || c == '\n' || c == 0 || c == ' '; });
}

// TLS records start with content type 20..23 and version 3.x: never the first byte of SIP.
bool looks_like_tls(std::span<const std::uint8_t> b) { return b.size() >= 3 && b[0] >= 20 && b[0] <= 23 && b[1] == 3; }

}  // namespace

SignallingTap::SignallingTap(SignallingPorts ports, std::size_t max_streams, std::size_t max_buffered_bytes)
    : ports_(std::move(ports)),
      max_streams_(std::max<std::size_t>(max_streams, 1)),
      max_buffered_bytes_(max_buffered_bytes) {}

void SignallingTap::drop(std::unordered_map<StreamKey, Stream, StreamKeyHash>::iterator it) {
  stats_.buffered_bytes -= it->second.framer.buffered();
  streams_by_age_.erase(it->second.age);
  streams_.erase(it);
}

bool SignallingTap::is_signalling(const Packet& p) const {
  if (p.transport == Transport::udp && (has_port(ports_.iax, p.dport) || has_port(ports_.iax, p.sport))) return true;
  return has_port(ports_.sip, p.dport) || has_port(ports_.sip, p.sport);
}

void SignallingTap::feed(const Packet& p, responsive::Direction dir, const Sink& sink) {
  responsive::PacketMeta meta;
  meta.t = p.t;
  meta.dir = dir;
  meta.src = p.src;
  meta.dst = p.dst;
  meta.sport = p.sport;
  meta.dport = p.dport;
  meta.transport = p.transport == Transport::tcp ? responsive::Transport::tcp : responsive::Transport::udp;
  if (p.transport == Transport::udp && (has_port(ports_.iax, p.dport) || has_port(ports_.iax, p.sport)))
    return iax_datagram(p, meta, sink);
  if (!has_port(ports_.sip, p.dport) && !has_port(ports_.sip, p.sport)) {
    ++stats_.not_signalling;
    return;
  }
  if (p.transport == Transport::tcp) return sip_stream(p, meta, sink);
  sip_datagram(p, meta, sink);
}

void SignallingTap::sip_result(const Result<sip::Message, sip::ParseError>& m, const responsive::PacketMeta& meta,
                               const Sink& sink) {
  if (m.ok()) {
    ++stats_.sip_messages;
    sink(responsive::from_sip(*m, meta));
  } else {
    ++stats_.malformed;
    sink(responsive::from_sip_error(m.error(), meta));
  }
}

void SignallingTap::sip_datagram(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink) {
  if (is_keepalive(p.payload)) {
    ++stats_.keepalives;
    return;
  }
  const std::string_view bytes(reinterpret_cast<const char*>(p.payload.data()), p.payload.size());
  auto m = sip::parse_datagram(bytes);
  if (!m.ok() && m.error().anomaly == sip::Anomaly::truncated_header_section &&
      bytes.find('\n') != std::string_view::npos) {
    // Headers that end with the datagram, without the empty line: the PBX reads them, so the
    // engine does too, from a copy with the empty line added (valid until the next packet).
    unterminated_.assign(bytes);
    unterminated_ += "\r\n\r\n";
    m = sip::parse_datagram(unterminated_);
    if (m.ok()) m.value().anomalies.add(sip::Anomaly::unterminated_header_section);
  }
  sip_result(m, meta, sink);
}

void SignallingTap::iax_datagram(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink) {
  auto frame = iax::parse(p.payload);
  if (!frame.ok()) {
    ++stats_.malformed;
    sink(responsive::from_iax_error(frame.error(), meta));
    return;
  }
  auto obs = responsive::from_iax(*frame, meta);
  if (!obs) {
    ++stats_.media;
    return;
  }
  ++stats_.iax_frames;
  sink(*obs);
}

// One framer per stream direction; a gap restarts it, and so does an unframeable message
// (resynchronising on the next bytes). TLS streams are recognised on their first bytes and
// skipped.
void SignallingTap::sip_stream(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink) {
  const StreamKey key{p.src, p.dst, p.sport, p.dport};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (p.payload.empty()) return;
    if (streams_.size() >= max_streams_) {
      drop(streams_.find(streams_by_age_.back()));
      ++stats_.stream_evictions;
    }
    streams_by_age_.push_front(key);
    it = streams_.try_emplace(key).first;
    it->second.age = streams_by_age_.begin();
    if (looks_like_tls(p.payload)) {
      it->second.tls = true;
      ++stats_.tls_streams;
    }
  } else {
    streams_by_age_.splice(streams_by_age_.begin(), streams_by_age_, it->second.age);
  }
  Stream& s = it->second;
  if (!s.tls) {
    stats_.buffered_bytes -= s.framer.buffered();
    if (p.stream_gap) s.framer.reset();
    s.framer.feed(p.payload);
    while (auto m = s.framer.next()) {
      sip_result(*m, meta, sink);
      if (!m->ok() && s.framer.broken()) s.framer.reset();
    }
    stats_.buffered_bytes += s.framer.buffered();
  }
  if (p.stream_end) {
    drop(it);
    return;
  }
  // Over the ceiling: the least recently used streams holding bytes go first, this one last.
  // Streams holding none keep their state (a TLS stream stays known as one).
  auto age = streams_by_age_.end();
  while (stats_.buffered_bytes > max_buffered_bytes_ && age != streams_by_age_.begin()) {
    --age;
    auto victim = streams_.find(*age);
    if (victim->second.framer.buffered() == 0) continue;
    age = std::next(age);  // drop() erases the list entry before it
    drop(victim);
    ++stats_.buffer_evictions;
  }
}

}  // namespace pbxwall::capture
