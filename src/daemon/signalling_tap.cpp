#include "daemon/signalling_tap.h"

#include "iax/iax.h"

namespace pbxwall::daemon {

SignallingTap::SignallingTap(std::set<std::uint16_t> sip_ports, std::set<std::uint16_t> iax_ports,
                             std::size_t max_streams)
    : sip_ports_(std::move(sip_ports)), iax_ports_(std::move(iax_ports)), max_streams_(max_streams) {}

void SignallingTap::feed(const capture::Packet& p, responsive::Direction dir, const Sink& sink) {
  responsive::PacketMeta meta;
  meta.t = p.t;
  meta.dir = dir;
  meta.src = p.src;
  meta.dst = p.dst;
  meta.sport = p.sport;
  meta.dport = p.dport;
  meta.transport = p.transport == capture::Transport::udp ? responsive::Transport::udp : responsive::Transport::tcp;
  const std::uint16_t pbx_port = dir == responsive::Direction::to_pbx ? p.dport : p.sport;

  if (p.transport == capture::Transport::udp && iax_ports_.count(pbx_port)) {
    auto frame = iax::parse(p.payload);
    if (!frame.ok()) {
      ++stats_.iax_errors;
      sink(responsive::from_iax_error(frame.error(), meta));
      return;
    }
    auto obs = responsive::from_iax(*frame, meta);
    if (!obs) {
      ++stats_.ignored;
      return;
    }
    ++stats_.iax_frames;
    sink(*obs);
    return;
  }
  if (!sip_ports_.count(pbx_port)) {
    ++stats_.ignored;
    return;
  }
  if (p.transport == capture::Transport::udp) {
    auto m = sip::parse(p.payload);
    if (!m.ok()) {
      ++stats_.sip_errors;
      sink(responsive::from_sip_error(m.error(), meta));
      return;
    }
    ++stats_.sip_messages;
    sink(responsive::from_sip(*m, meta));
    return;
  }

  // TCP: one framer per stream direction, bounded; a gap or a broken framer starts afresh.
  StreamKey key{p.src, p.sport, p.dst, p.dport};
  auto it = streams_.find(key);
  if (it == streams_.end()) {
    if (p.payload.empty()) return;
    if (streams_.size() >= max_streams_) {
      streams_.erase(streams_.begin());
      ++stats_.stream_resets;
    }
    it = streams_.emplace(key, sip::StreamFramer{}).first;
  }
  auto& framer = it->second;
  if (p.stream_gap || framer.broken()) {
    framer.reset();
    ++stats_.stream_resets;
  }
  framer.feed(p.payload);
  while (auto m = framer.next()) {
    if (m->ok()) {
      ++stats_.sip_messages;
      sink(responsive::from_sip(**m, meta));
    } else {
      ++stats_.sip_errors;
      sink(responsive::from_sip_error(m->error(), meta));
      if (framer.broken()) break;
    }
  }
  if (p.stream_end) streams_.erase(it);
}

}  // namespace pbxwall::daemon
