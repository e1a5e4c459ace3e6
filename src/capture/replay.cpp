#include "capture/replay.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "capture/signalling_tap.h"

namespace pbxwall::capture {
namespace {

using responsive::Action;
using responsive::Decision;
using responsive::Direction;
using responsive::IaxCommand;
using responsive::Observation;

bool has_port(const std::vector<std::uint16_t>& ports, std::uint16_t p) {
  return std::find(ports.begin(), ports.end(), p) != ports.end();
}

bool starts_with(std::span<const std::uint8_t> b, std::string_view s) {
  return b.size() >= s.size() && std::equal(s.begin(), s.end(), b.begin());
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
        tap({o.sip_ports, o.iax_ports}, o.max_tcp_framers), engine(o.settings, o.never_block, o.allow_from, o.known_user) {}

  ReplayOptions options;
  std::vector<IpAddress> pbx;
  DecisionSink sink;
  Decoder decoder;
  SignallingTap tap;
  responsive::Engine engine;
  ReplayStats stats;
  std::optional<TimePoint> first, last;
  TimePoint next_expire{};
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
      if (d.action != Action::failed_again) ++stats.decisions;
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
          s.summary.flag_failures += d.failures;
          break;
        case Action::failed_again:
          s.summary.flag_failures += d.failures;
          break;
      }
      if (sink && d.action != Action::failed_again) sink(d, t);
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

  void packet(const Packet& p) {
    ++stats.packets;
    if (!tap.is_signalling(p)) {
      ++stats.not_signalling;
      return;
    }
    Direction dir;
    if (is_pbx(p.dst)) {
      dir = Direction::to_pbx;
    } else if (is_pbx(p.src)) {
      dir = Direction::from_pbx;
    } else {
      ++stats.not_pbx;
      return;
    }
    tap.feed(p, dir, [&](const Observation& obs) {
      account(obs);
      observe(obs, p.t);
    });
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
    report.stats.sip_messages = tap.stats().sip_messages;
    report.stats.iax_frames = tap.stats().iax_frames;
    report.stats.malformed = tap.stats().malformed;
    report.stats.keepalives = tap.stats().keepalives;
    report.stats.tls_streams = tap.stats().tls_streams;
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
