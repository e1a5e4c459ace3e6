// From transport payloads on signalling ports to engine observations: SIP over UDP (one
// message per datagram), SIP over TCP (framed per stream direction by Content-Length), IAX2
// over UDP. Used on live packets (the daemon) and on captures (replay) alike.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "capture/capture.h"
#include "responsive/responsive.h"
#include "sip/sip.h"

namespace pbxwall::daemon {

struct TapStats {
  std::uint64_t sip_messages = 0;
  std::uint64_t sip_errors = 0;
  std::uint64_t iax_frames = 0;
  std::uint64_t iax_errors = 0;
  std::uint64_t ignored = 0;         // not on a signalling port, or media (IAX mini frames)
  std::uint64_t stream_resets = 0;   // TCP framers dropped after a gap or a broken stream
};

class SignallingTap {
 public:
  using Sink = std::function<void(const responsive::Observation&)>;

  // `is_pbx(addr)` tells the PBX's own addresses; a packet whose destination is the PBX goes
  // to it (to_pbx), one whose source is the PBX comes from it (from_pbx).
  SignallingTap(std::set<std::uint16_t> sip_ports, std::set<std::uint16_t> iax_ports,
                std::size_t max_streams = 4096);

  // Turns one payload into zero or more observations (a TCP segment may finish several SIP
  // messages) and hands each to `sink` while its views are valid.
  void feed(const capture::Packet& packet, responsive::Direction dir, const Sink& sink);

  const TapStats& stats() const { return stats_; }

 private:
  using StreamKey = std::tuple<IpAddress, std::uint16_t, IpAddress, std::uint16_t>;
  std::set<std::uint16_t> sip_ports_, iax_ports_;
  std::size_t max_streams_;
  std::map<StreamKey, sip::StreamFramer> streams_;
  TapStats stats_;
};

}  // namespace pbxwall::daemon
