#include "capture/replay.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "capture/tcp_streams.h"
#include "iax/iax.h"
#include "sip/sip.h"

namespace pbxwall::capture {
namespace {

using responsive::Action;
using responsive::Decision;
using responsive::Direction;
using responsive::IaxCommand;
using responsive::Observation;
using responsive::PacketMeta;

enum class Signalling { none, sip, iax };

bool has_port(const std::vector<std::uint16_t>& ports, std::uint16_t p) {
  return std::find(ports.begin(), ports.end(), p) != ports.end();
}

Signalling signalling_of(const Packet& p, const ReplayOptions& o) {
  if (p.transport == Transport::udp && (has_port(o.iax_ports, p.dport) || has_port(o.iax_ports, p.sport)))
    return Signalling::iax;
  if (has_port(o.sip_ports, p.dport) || has_port(o.sip_ports, p.sport)) return Signalling::sip;
  return Signalling::none;
}

bool starts_with(std::span<const std::uint8_t> b, std::string_view s) {
  return b.size() >= s.size() && std::equal(s.begin(), s.end(), b.begin());
}

// CRLF keep-alives (RFC 5626) and the empty or NUL-filled datagrams some phones send.
bool is_keepalive(std::span<const std::uint8_t> b) {
  if (b.size() > 4) return false;
  return std::all_of(b.begin(), b.end(), [](std::uint8_t c) { return c == '\r' || c == '\n' || c == 0 || c == ' '; });
}

// TLS records start with content type 20..23 and version 3.x: never the first byte of SIP.
bool looks_like_tls(std::span<const std::uint8_t> b) {
  return b.size() >= 3 && b[0] >= 20 && b[0] <= 23 && b[1] == 3;
}

bool looks_like_sip_request(std::span<const std::uint8_t> b) {
  if (b.empty() || b[0] < 'A' || b[0] > 'Z' || starts_with(b, "SIP/")) return false;
  const auto n = std::min<std::size_t>(b.size(), 20);
  return std::find(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n), ' ') != b.begin() + static_cast<std::ptrdiff_t>(n);
}

// IAX2 full frame of type IAX with one of the subclasses a client opens with.
bool is_iax_request_frame(std::span<const std::uint8_t> b, bool* registers) {
  if (b.size() < 12 || !(b[0] & 0x80) || b[10] != 6) return false;
  *registers = b[11] == 13;                                  // REGREQ
  return b[11] == 1 || b[11] == 13 || b[11] == 17 || b[11] == 30;  // NEW, REGREQ, REGREL, POKE
}

bool is_iax_request(IaxCommand c) {
  return c == IaxCommand::new_ || c == IaxCommand::regreq || c == IaxCommand::regrel ||
         c == IaxCommand::authrep || c == IaxCommand::poke;
}
bool is_iax_answer(IaxCommand c) {
  return c == IaxCommand::accept || c == IaxCommand::reject || c == IaxCommand::regack ||
         c == IaxCommand::regrej || c == IaxCommand::regauth || c == IaxCommand::authreq ||
         c == IaxCommand::pong;
}

}  // namespace

const char* final_state_name(FinalState s) {
  switch (s) {
    case FinalState::none: return "none";
    case FinalState::flagged: return "flagged";
    case FinalState::validated: return "validated";
    case FinalState::blocked: return "blocked";
  }
  return "none";
}

// ---------------------------------------------------------------------------------------------

struct PbxFinder::Impl {
  static constexpr std::size_t kSendersKept = 16;
  struct Candidate {
    std::uint64_t requests = 0;
    bool registrations = false;  // received REGISTER / REGREQ: a registrar
    std::vector<IpAddress> senders;
    bool more_senders = false;
  };
  ReplayOptions options;
  std::unordered_map<IpAddress, Candidate, IpAddressHash> receivers;
  std::unordered_map<IpAddress, std::uint64_t, IpAddressHash> responders;
};

PbxFinder::PbxFinder(const ReplayOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}
PbxFinder::~PbxFinder() = default;

void PbxFinder::packet(const Packet& p) {
  const auto& o = impl_->options;
  bool request = false, registers = false;
  if (p.transport == Transport::udp && has_port(o.iax_ports, p.dport)) {
    request = is_iax_request_frame(p.payload, &registers);
  } else if (has_port(o.sip_ports, p.dport) && looks_like_sip_request(p.payload)) {
    request = true;
    registers = starts_with(p.payload, "REGISTER ");
  } else if (has_port(o.sip_ports, p.sport) && starts_with(p.payload, "SIP/2.0 ")) {
    ++impl_->responders[p.src];
  }
  if (!request) return;
  auto& c = impl_->receivers[p.dst];
  ++c.requests;
  c.registrations = c.registrations || registers;
  if (std::find(c.senders.begin(), c.senders.end(), p.src) == c.senders.end()) {
    if (c.senders.size() < Impl::kSendersKept)
      c.senders.push_back(p.src);
    else
      c.more_senders = true;
  }
}

std::vector<IpAddress> PbxFinder::result() const {
  using Entry = std::pair<IpAddress, const Impl::Candidate*>;
  std::vector<Entry> order;
  for (const auto& [addr, c] : impl_->receivers) order.emplace_back(addr, &c);
  std::sort(order.begin(), order.end(), [](const Entry& a, const Entry& b) {
    const auto key = [](const Entry& e) {
      return std::tuple(e.second->registrations, e.second->senders.size() + (e.second->more_senders ? 1 : 0),
                        e.second->requests);
    };
    if (key(a) != key(b)) return key(a) > key(b);
    return a.first < b.first;
  });
  std::vector<IpAddress> pbx;
  for (const auto& [addr, c] : order) {
    const bool only_from_pbx =
        !c->more_senders && std::all_of(c->senders.begin(), c->senders.end(), [&](const IpAddress& s) {
          return std::find(pbx.begin(), pbx.end(), s) != pbx.end();
        });
    if (!only_from_pbx) pbx.push_back(addr);
  }
  if (pbx.empty() && !impl_->responders.empty()) {
    // Only answers in the capture (an output-only log): the address answering most.
    auto best = std::max_element(impl_->responders.begin(), impl_->responders.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    pbx.push_back(best->first);
  }
  return pbx;
}

// ---------------------------------------------------------------------------------------------

struct Replay::Impl {
  struct Framer {
    sip::StreamFramer framer;
    bool tls = false;
    std::uint64_t last_use = 0;
  };
  struct Source {
    SourceSummary summary;
    bool blocked = false;
    std::optional<TimePoint> blocked_until;
    bool validated = false;
    std::optional<TimePoint> validated_until;
    std::string validated_user;
    bool flagged = false;
    std::string flagged_user;
  };

  Impl(std::vector<IpAddress> pbx_addrs, const ReplayOptions& o, DecisionSink s)
      : options(o), pbx(std::move(pbx_addrs)), sink(std::move(s)), decoder(o.limits),
        engine(o.settings, o.never_block) {}

  ReplayOptions options;
  std::vector<IpAddress> pbx;
  DecisionSink sink;
  Decoder decoder;
  responsive::Engine engine;
  ReplayStats stats;
  std::optional<TimePoint> first, last;
  TimePoint next_expire{};
  std::unordered_map<StreamKey, Framer, StreamKeyHash> framers;
  std::uint64_t framer_clock = 0;
  std::unordered_map<IpAddress, Source, IpAddressHash> sources;
  std::vector<Decision> decisions;

  bool is_pbx(const IpAddress& a) const { return std::find(pbx.begin(), pbx.end(), a) != pbx.end(); }

  // A request and its answer come one after the other: remember the last source looked up
  // (node addresses of an unordered_map are stable).
  Source* last_source = nullptr;

  Source& source(const IpAddress& a) {
    if (last_source && last_source->summary.addr == a) return *last_source;
    auto [it, added] = sources.try_emplace(a);
    if (added) it->second.summary.addr = a;
    last_source = &it->second;
    return it->second;
  }

  void emit(TimePoint t) {
    for (const auto& d : decisions) {
      ++stats.decisions;
      Source& s = source(d.addr);
      switch (d.action) {
        case Action::block:
          if (s.summary.blocks++ == 0) {
            s.summary.first_block = t;
            s.summary.requests_before_block = s.summary.requests;
            s.summary.answered_before_block = s.summary.answers;
          }
          s.blocked = true;
          s.blocked_until = d.until;
          if (!d.user.empty()) s.summary.user = d.user;
          break;
        case Action::unblock:
          s.blocked = false;
          break;
        case Action::validate:
          s.validated = true;
          s.validated_until = d.until;
          s.validated_user = d.user;
          break;
        case Action::forget:
          s.validated = false;
          break;
        case Action::flag:
          s.flagged = true;
          s.flagged_user = d.user;
          break;
      }
      if (sink) sink(d, t);
    }
    decisions.clear();
  }

  void observe(const Observation& obs, TimePoint t) {
    engine.observe(obs, t, decisions);
    if (!decisions.empty()) emit(t);
  }

  // Counts what the summary reports, before the engine sees the packet.
  void account(const Observation& obs) {
    const bool to_pbx = obs.meta.dir == Direction::to_pbx;
    Source& s = source(obs.meta.remote());
    if (const auto* req = std::get_if<responsive::SipRequest>(&obs.body)) {
      (void)req;
      if (to_pbx) ++s.summary.requests;
    } else if (const auto* resp = std::get_if<responsive::SipResponse>(&obs.body)) {
      if (!to_pbx && resp->status >= 200) ++s.summary.answers;
    } else if (const auto* f = std::get_if<responsive::IaxFrame>(&obs.body)) {
      if (to_pbx && is_iax_request(f->command)) ++s.summary.requests;
      if (!to_pbx && is_iax_answer(f->command)) ++s.summary.answers;
    } else if (std::holds_alternative<responsive::Malformed>(obs.body)) {
      if (to_pbx) ++s.summary.malformed;
    }
  }

  void sip_message(const sip::Message& m, const PacketMeta& meta) {
    ++stats.sip_messages;
    const Observation obs = responsive::from_sip(m, meta);
    account(obs);
    observe(obs, meta.t);
  }

  void sip_error(const sip::ParseError& e, const PacketMeta& meta) {
    ++stats.malformed;
    const Observation obs = responsive::from_sip_error(e, meta);
    account(obs);
    observe(obs, meta.t);
  }

  void sip_stream(const Packet& p, const PacketMeta& meta) {
    const StreamKey key{p.src, p.dst, p.sport, p.dport};
    auto it = framers.find(key);
    if (it == framers.end()) {
      if (p.payload.empty()) return;
      if (framers.size() >= options.max_tcp_framers && !framers.empty()) {
        auto oldest = std::min_element(framers.begin(), framers.end(), [](const auto& a, const auto& b) {
          return a.second.last_use < b.second.last_use;
        });
        framers.erase(oldest);
      }
      it = framers.try_emplace(key).first;
      if (looks_like_tls(p.payload)) {
        it->second.tls = true;
        ++stats.tls_streams;
      }
    }
    Framer& f = it->second;
    f.last_use = ++framer_clock;
    if (!f.tls) {
      if (p.stream_gap) f.framer.reset();
      f.framer.feed(p.payload);
      while (auto m = f.framer.next()) {
        if (m->ok()) {
          sip_message(**m, meta);
        } else {
          sip_error(m->error(), meta);
          if (f.framer.broken()) f.framer.reset();  // resynchronise on the next bytes
        }
      }
    }
    if (p.stream_end) framers.erase(it);
  }

  void iax(const Packet& p, const PacketMeta& meta) {
    auto r = iax::parse(p.payload);
    if (!r.ok()) {
      ++stats.malformed;
      const Observation obs = responsive::from_iax_error(r.error(), meta);
      account(obs);
      observe(obs, meta.t);
      return;
    }
    auto obs = responsive::from_iax(*r, meta);
    if (!obs) return;  // media
    ++stats.iax_frames;
    account(*obs);
    observe(*obs, meta.t);
  }

  void packet(const Packet& p) {
    ++stats.packets;
    const Signalling sig = signalling_of(p, options);
    if (sig == Signalling::none) {
      ++stats.not_signalling;
      return;
    }
    PacketMeta meta;
    meta.t = p.t;
    meta.src = p.src;
    meta.dst = p.dst;
    meta.sport = p.sport;
    meta.dport = p.dport;
    meta.transport = p.transport == Transport::tcp ? responsive::Transport::tcp : responsive::Transport::udp;
    if (is_pbx(p.dst))
      meta.dir = Direction::to_pbx;
    else if (is_pbx(p.src))
      meta.dir = Direction::from_pbx;
    else {
      ++stats.not_pbx;
      return;
    }
    if (sig == Signalling::iax) return iax(p, meta);
    if (p.transport == Transport::tcp) return sip_stream(p, meta);
    if (is_keepalive(p.payload)) {
      ++stats.keepalives;
      return;
    }
    auto r = sip::parse(p.payload);
    if (r.ok())
      sip_message(*r, meta);
    else
      sip_error(r.error(), meta);
  }

  void frame(std::uint32_t linktype, TimePoint t, std::span<const std::uint8_t> bytes) {
    ++stats.frames;
    if (!first) first = t;
    if (!last || t > *last) last = t;
    if (t >= next_expire) {
      engine.expire(t, decisions);
      if (!decisions.empty()) emit(t);
      next_expire = t + std::chrono::seconds(1);
    }
    auto r = decoder.feed(linktype, t, bytes);
    if (!r.ok()) {
      ++stats.decode_errors;
      return;
    }
    if (*r) packet(**r);
  }

  ReplayReport finish() {
    ReplayReport report;
    report.pbx = pbx;
    report.first_packet = first;
    report.last_packet = last;
    report.stats = stats;
    report.stats.decoder = decoder.stats();
    report.engine = engine.counters();
    const TimePoint end = last.value_or(TimePoint{});
    for (auto& [addr, s] : sources) {
      SourceSummary out = s.summary;
      if (s.blocked && (!s.blocked_until || *s.blocked_until > end)) {
        out.state = FinalState::blocked;
      } else if (s.validated && (!s.validated_until || *s.validated_until > end)) {
        out.state = FinalState::validated;
        out.user = s.validated_user;
      } else if (s.flagged) {
        out.state = FinalState::flagged;
        out.user = s.flagged_user;
      }
      if (out.state == FinalState::none && out.requests == 0 && out.malformed == 0 && out.blocks == 0)
        continue;  // only ever answered (a phone the PBX qualifies): not a source of requests
      report.sources.push_back(std::move(out));
    }
    std::sort(report.sources.begin(), report.sources.end(), [](const SourceSummary& a, const SourceSummary& b) {
      if (a.requests != b.requests) return a.requests > b.requests;
      return a.addr < b.addr;
    });
    return report;
  }
};

Replay::Replay(std::vector<IpAddress> pbx, const ReplayOptions& options, DecisionSink sink)
    : impl_(std::make_unique<Impl>(std::move(pbx), options, std::move(sink))) {}
Replay::~Replay() = default;

void Replay::frame(std::uint32_t linktype, TimePoint t, std::span<const std::uint8_t> bytes) {
  impl_->frame(linktype, t, bytes);
}

ReplayReport Replay::finish() { return impl_->finish(); }

// ---------------------------------------------------------------------------------------------

Result<std::vector<IpAddress>> find_pbx_in_file(const std::string& path, const ReplayOptions& options) {
  auto reader = PcapReader::open(path);
  if (!reader.ok()) return fail(reader.error());
  Decoder decoder(options.limits);
  PbxFinder finder(options);
  for (;;) {
    auto f = reader->next();
    if (!f.ok() || !*f) break;  // a cut-short file: decide from what was read
    auto p = decoder.feed(reader->linktype(), (*f)->t, (*f)->bytes);
    if (p.ok() && *p) finder.packet(**p);
  }
  auto pbx = finder.result();
  if (pbx.empty())
    return fail(path + ": no SIP or IAX2 requests to a signalling port: cannot tell which side is the PBX (use --pbx ADDR)");
  return pbx;
}

Result<ReplayReport> replay_file(const std::string& path, const ReplayOptions& options, const DecisionSink& sink) {
  if (auto why = responsive::validate(options.settings); !why.empty()) return fail("responsive settings: " + why);
  std::vector<IpAddress> pbx = options.pbx;
  const bool detected = pbx.empty();
  if (detected) {
    auto found = find_pbx_in_file(path, options);
    if (!found.ok()) return fail(found.error());
    pbx = std::move(*found);
  }
  auto reader = PcapReader::open(path);
  if (!reader.ok()) return fail(reader.error());
  Replay replay(pbx, options, sink);
  std::string read_error;
  for (;;) {
    auto f = reader->next();
    if (!f.ok()) {
      read_error = f.error();
      break;
    }
    if (!*f) break;
    replay.frame(reader->linktype(), (*f)->t, (*f)->bytes);
  }
  auto report = replay.finish();
  report.pbx_detected = detected;
  report.read_error = std::move(read_error);
  return report;
}

}  // namespace pbxwall::capture
