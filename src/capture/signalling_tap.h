// From decoded packets on signalling ports to engine observations: SIP over UDP (one message
// per datagram), SIP over TCP (framed per stream direction by Content-Length), IAX2 over UDP.
// One component for live packets (pbxwalld) and captures (replay), so both give the engine
// exactly the same observations.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/capture.h"
#include "capture/tcp_streams.h"
#include "responsive/responsive.h"
#include "sip/sip.h"

namespace pbxwall::capture {

struct SignallingPorts {
  std::vector<std::uint16_t> sip = {5060, 5061};
  std::vector<std::uint16_t> iax = {4569};
};

struct SignallingStats {
  std::uint64_t sip_messages = 0;
  std::uint64_t iax_frames = 0;     // full frames given to the engine
  std::uint64_t malformed = 0;      // SIP or IAX2 payloads that did not parse
  std::uint64_t keepalives = 0;     // CRLF keep-alives and empty datagrams (no observation)
  std::uint64_t media = 0;          // IAX2 frames that are media, not signalling
  std::uint64_t tls_streams = 0;    // TCP streams carrying TLS (not decodable, skipped)
  std::uint64_t not_signalling = 0; // fed packets on no SIP or IAX2 port
  std::uint64_t stream_evictions = 0;  // TCP framers dropped, least recently used, at the limit
  std::uint64_t buffer_evictions = 0;  // TCP framers dropped, least recently used, over the byte ceiling
  std::uint64_t buffered_bytes = 0;    // bytes of partial SIP messages held by all framers now
};

// Bytes of partial SIP-over-TCP messages held by all stream directions together. One stream may
// declare a 1 MB body (the framer's limit); thousands of them must not take the daemon's memory.
inline constexpr std::size_t kDefaultMaxBufferedStreamBytes = 32u << 20;

class SignallingTap {
 public:
  using Sink = std::function<void(const responsive::Observation&)>;

  // At most `max_streams` TCP stream directions are framed at once, holding at most
  // `max_buffered_bytes` of partial messages together; beyond either, the least recently used
  // streams are dropped (their next bytes start a fresh framer).
  explicit SignallingTap(SignallingPorts ports, std::size_t max_streams = 4096,
                         std::size_t max_buffered_bytes = kDefaultMaxBufferedStreamBytes);

  // Whether either port of `p` is a SIP port, or an IAX2 port over UDP.
  bool is_signalling(const Packet& p) const;

  // Turns one payload into zero or more observations (a TCP segment may finish several SIP
  // messages, a keep-alive none) and hands each to `sink` while its views are valid. `dir`
  // tells which side is the PBX.
  void feed(const Packet& p, responsive::Direction dir, const Sink& sink);

  const SignallingStats& stats() const { return stats_; }

 private:
  struct Stream {
    sip::StreamFramer framer;
    bool tls = false;
    std::list<StreamKey>::iterator age;  // position in streams_by_age_
  };
  void sip_datagram(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink);
  void sip_stream(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink);
  void iax_datagram(const Packet& p, const responsive::PacketMeta& meta, const Sink& sink);
  void drop(std::unordered_map<StreamKey, Stream, StreamKeyHash>::iterator it);
  void sip_result(const Result<sip::Message, sip::ParseError>& m, const responsive::PacketMeta& meta, const Sink& sink);

  SignallingPorts ports_;
  std::size_t max_streams_;
  std::size_t max_buffered_bytes_;
  std::unordered_map<StreamKey, Stream, StreamKeyHash> streams_;
  std::list<StreamKey> streams_by_age_;  // most recently used first
  SignallingStats stats_;
  std::string unterminated_;  // a datagram whose headers lack the empty line, with it added
};

}  // namespace pbxwall::capture
