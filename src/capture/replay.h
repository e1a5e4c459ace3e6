// Replay: runs the responsive engine over a capture, with the capture's timestamps, and reports
// the decisions it would have taken and, per remote source, what that source got done before
// being blocked. The same decoding, parsing and engine as the daemon; only time comes from the
// packets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"
#include "capture/capture.h"
#include "responsive/responsive.h"

namespace pbxwall::capture {

struct ReplayOptions {
  std::vector<IpAddress> pbx;  // the PBX's addresses; empty: worked out from the capture
  std::vector<std::uint16_t> sip_ports = {5060, 5061};
  std::vector<std::uint16_t> iax_ports = {4569};
  responsive::Settings settings;
  responsive::Engine::NeverBlock never_block;  // null: none
  responsive::Engine::AllowFrom allow_from;    // [users] allow_from; null: anywhere
  responsive::Engine::KnownUser known_user;    // the PBX's accounts ([pbx] accounts); null: not known
  DecoderLimits limits;
  std::size_t max_tcp_framers = 65536;  // SIP framers for TCP streams (oldest dropped beyond)
};

enum class FinalState : std::uint8_t { none, flagged, validated, blocked };
const char* final_state_name(FinalState s);  // "none", "flagged", "validated", "blocked"

// What one remote source did and got. Requests are SIP requests and IAX2 request frames
// (NEW, REGREQ, REGREL, AUTHREP, POKE) sent to the PBX; answers are final SIP responses
// (status >= 200) and IAX2 answers (ACCEPT, REJECT, REGACK, REGREJ, REGAUTH, AUTHREQ, PONG)
// from the PBX. "Before block" counts what was seen before the first block decision: the
// request that triggered it is included (it had reached the PBX), the PBX's answer to it is not.
struct SourceSummary {
  IpAddress addr;
  std::uint64_t requests = 0;
  std::uint64_t malformed = 0;  // packets to the PBX on a signalling port that did not parse
  std::uint64_t answers = 0;
  std::uint64_t requests_before_block = 0;
  std::uint64_t answered_before_block = 0;
  std::uint32_t blocks = 0;
  std::optional<TimePoint> first_block;
  FinalState state = FinalState::none;  // at the capture's last packet time
  std::string user;                     // validated or flagged user, else the last blocked one
  // Wrong passwords counted on its flags (rule 7): those that led to the first one and every
  // later one (failed_again decisions, which the decision sink does not get).
  std::uint64_t flag_failures = 0;
};

struct ReplayStats {
  std::uint64_t frames = 0;
  std::uint64_t decode_errors = 0;
  std::uint64_t packets = 0;        // transport payloads out of the decoder
  std::uint64_t not_signalling = 0; // neither port is a SIP or IAX2 port
  std::uint64_t not_pbx = 0;        // signalling between two addresses that are not the PBX
  std::uint64_t sip_messages = 0;
  std::uint64_t iax_frames = 0;     // full frames given to the engine
  std::uint64_t malformed = 0;      // SIP or IAX2 payloads that did not parse
  std::uint64_t keepalives = 0;     // CRLF keep-alives and empty datagrams
  std::uint64_t tls_streams = 0;    // TCP streams carrying TLS (not decodable, skipped)
  std::uint64_t decisions = 0;
  DecoderStats decoder;
};

struct ReplayReport {
  std::vector<IpAddress> pbx;
  bool pbx_detected = false;  // worked out from the capture rather than given
  std::optional<TimePoint> first_packet, last_packet;
  ReplayStats stats;
  responsive::Counters engine;
  std::vector<SourceSummary> sources;  // most requests first, then by address
  // Set when the file ended in the middle of a record (a capture cut short): everything up to
  // there was replayed.
  std::string read_error;
};

// Receives each decision with the packet time at which it was taken.
using DecisionSink = std::function<void(const responsive::Decision&, TimePoint)>;

// Works out the PBX from packets: addresses that receive SIP requests or IAX2 NEW/REGREQ/POKE
// on a signalling port. Candidates are taken by requests received, most first; a candidate
// whose requests all came from addresses already taken as PBX is a phone the PBX talks to
// (qualify OPTIONS, NOTIFY) and is left out.
class PbxFinder {
 public:
  explicit PbxFinder(const ReplayOptions& options);
  ~PbxFinder();
  void packet(const Packet& p);
  std::vector<IpAddress> result() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Feeds frames of a capture through decoder, parsers and engine. Not copyable; one per replay.
class Replay {
 public:
  // `pbx` must not be empty.
  Replay(std::vector<IpAddress> pbx, const ReplayOptions& options, DecisionSink sink);
  ~Replay();
  Replay(const Replay&) = delete;
  Replay& operator=(const Replay&) = delete;

  void frame(std::uint32_t linktype, TimePoint t, std::span<const std::uint8_t> bytes);
  // The summary at the last packet's time. Call once, after the last frame.
  ReplayReport finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads the file once to find the PBX (unless options.pbx is given), then replays it.
Result<ReplayReport> replay_file(const std::string& path, const ReplayOptions& options,
                                 const DecisionSink& sink);
// The first pass alone.
Result<std::vector<IpAddress>> find_pbx_in_file(const std::string& path, const ReplayOptions& options);

}  // namespace pbxwall::capture
