// IAX2 frame parser (RFC 5456 sections 8.1 and 8.6).
#include "iax/iax.h"

namespace pbxwall::iax {

namespace {

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

constexpr std::size_t kFullHeader = 12;
constexpr std::size_t kMiniHeader = 4;
constexpr std::size_t kMetaHeader = 4;  // meta indicator + the smallest meta header word

Unexpected<ParseError> error(Anomaly a, const char* reason, std::size_t offset) {
  return fail(ParseError{ParseError::invalid, a, reason, offset});
}

Command command_from(std::uint32_t subclass) {
  if (subclass == 0 || subclass > 40 || subclass == 31) return Command::unknown;  // 31: reserved
  return static_cast<Command>(subclass);
}

std::string_view text(std::span<const std::uint8_t> data) {
  return std::string_view(reinterpret_cast<const char*>(data.data()), data.size());
}

// Walks the IEs of an IAX frame; every length is checked against the end of the frame.
std::optional<ParseError> walk_ies(std::span<const std::uint8_t> bytes, std::size_t pos, InformationElements* ies) {
  const std::size_t n = bytes.size();
  while (pos < n) {
    if (n - pos < 2) return ParseError{ParseError::invalid, Anomaly::truncated_ie, "information element header cut short", pos};
    const std::uint8_t id = bytes[pos];
    const std::size_t len = bytes[pos + 1];
    if (n - pos - 2 < len)
      return ParseError{ParseError::invalid, Anomaly::truncated_ie, "information element longer than the frame", pos};
    auto data = bytes.subspan(pos + 2, len);
    ++ies->count;
    switch (id) {
      case ie::username: ies->username = text(data); break;
      case ie::called_number: ies->called_number = text(data); break;
      case ie::calling_number: ies->calling_number = text(data); break;
      case ie::calling_name: ies->calling_name = text(data); break;
      case ie::called_context: ies->called_context = text(data); break;
      case ie::cause: ies->cause = text(data); break;
      case ie::challenge: ies->has_challenge = true; break;
      case ie::md5_result: ies->has_md5_result = true; break;
      case ie::rsa_result: ies->has_rsa_result = true; break;
      case ie::calltoken: ies->has_calltoken = true; break;
      case ie::causecode:
        if (len == 1) ies->causecode = data[0];
        else ++ies->malformed;
        break;
      case ie::refresh:
      case ie::authmethods:
      case ie::version: {
        if (len != 2) {
          ++ies->malformed;
          break;
        }
        std::uint16_t v = be16(data.data());
        if (id == ie::refresh) ies->refresh = v;
        else if (id == ie::authmethods) ies->authmethods = v;
        else ies->version = v;
        break;
      }
      default:
        break;
    }
    pos += 2 + len;
  }
  return std::nullopt;
}

}  // namespace

Result<Frame, ParseError> parse(std::span<const std::uint8_t> bytes) {
  const std::size_t n = bytes.size();
  if (n == 0) return error(Anomaly::empty, "empty datagram", 0);
  Frame f;
  if (bytes[0] & 0x80) {
    if (n < kFullHeader) return error(Anomaly::truncated_full_header, "full frame shorter than its 12-byte header", n);
    f.kind = FrameKind::full;
    f.source_call = be16(&bytes[0]) & 0x7fff;
    f.retransmitted = (bytes[2] & 0x80) != 0;
    f.dest_call = be16(&bytes[2]) & 0x7fff;
    f.timestamp = be32(&bytes[4]);
    f.oseqno = bytes[8];
    f.iseqno = bytes[9];
    f.frame_type = bytes[10];
    const std::uint8_t sc = bytes[11];
    if (sc & 0x80) {
      // C bit: the value is a power of two; exponents past 31 cannot be represented.
      const unsigned exponent = sc & 0x7fu;
      f.subclass = exponent < 32 ? (std::uint32_t{1} << exponent) : 0;
    } else {
      f.subclass = sc;
    }
    f.payload = bytes.subspan(kFullHeader);
    if (f.frame_type == frame_type::iax) {
      f.command = command_from(f.subclass);
      if (auto e = walk_ies(bytes, kFullHeader, &f.ies)) return fail(*e);
    }
    return f;
  }
  if (n < 2) return error(Anomaly::truncated_mini_header, "mini frame shorter than its 4-byte header", n);
  if (bytes[0] == 0 && bytes[1] == 0) {
    if (n < kMetaHeader) return error(Anomaly::truncated_meta_header, "meta frame shorter than its header", n);
    f.kind = FrameKind::meta;
    f.payload = bytes.subspan(2);
    return f;
  }
  if (n < kMiniHeader) return error(Anomaly::truncated_mini_header, "mini frame shorter than its 4-byte header", n);
  f.kind = FrameKind::mini;
  f.source_call = be16(&bytes[0]) & 0x7fff;
  f.timestamp = be16(&bytes[2]);
  f.payload = bytes.subspan(kMiniHeader);
  return f;
}

Result<Frame, ParseError> parse(std::string_view bytes) {
  return parse(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

const char* command_name(Command c) {
  switch (c) {
    case Command::new_: return "NEW";
    case Command::ping: return "PING";
    case Command::pong: return "PONG";
    case Command::ack: return "ACK";
    case Command::hangup: return "HANGUP";
    case Command::reject: return "REJECT";
    case Command::accept: return "ACCEPT";
    case Command::authreq: return "AUTHREQ";
    case Command::authrep: return "AUTHREP";
    case Command::inval: return "INVAL";
    case Command::lagrq: return "LAGRQ";
    case Command::lagrp: return "LAGRP";
    case Command::regreq: return "REGREQ";
    case Command::regauth: return "REGAUTH";
    case Command::regack: return "REGACK";
    case Command::regrej: return "REGREJ";
    case Command::regrel: return "REGREL";
    case Command::vnak: return "VNAK";
    case Command::dpreq: return "DPREQ";
    case Command::dprep: return "DPREP";
    case Command::dial: return "DIAL";
    case Command::txreq: return "TXREQ";
    case Command::txcnt: return "TXCNT";
    case Command::txacc: return "TXACC";
    case Command::txready: return "TXREADY";
    case Command::txrel: return "TXREL";
    case Command::txrej: return "TXREJ";
    case Command::quelch: return "QUELCH";
    case Command::unquelch: return "UNQUELCH";
    case Command::poke: return "POKE";
    case Command::mwi: return "MWI";
    case Command::unsupport: return "UNSUPPORT";
    case Command::transfer: return "TRANSFER";
    case Command::provision: return "PROVISION";
    case Command::fwdownl: return "FWDOWNL";
    case Command::fwdata: return "FWDATA";
    case Command::txmedia: return "TXMEDIA";
    case Command::rtkey: return "RTKEY";
    case Command::calltoken: return "CALLTOKEN";
    case Command::unknown: break;
  }
  return "UNKNOWN";
}

const char* anomaly_name(Anomaly a) {
  switch (a) {
    case Anomaly::empty: return "empty";
    case Anomaly::truncated_full_header: return "truncated_full_header";
    case Anomaly::truncated_mini_header: return "truncated_mini_header";
    case Anomaly::truncated_meta_header: return "truncated_meta_header";
    case Anomaly::truncated_ie: return "truncated_ie";
    case Anomaly::bad_ie_length: return "bad_ie_length";
    case Anomaly::count_: break;
  }
  return "unknown_anomaly";
}

}  // namespace pbxwall::iax
