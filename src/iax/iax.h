// IAX2 frame parser (RFC 5456). Pure and zero-copy: string_views point into the caller's
// buffer. Full frames are decoded with the information elements the firewall needs; mini and
// meta frames (media) are only recognised, so callers can ignore them cheaply.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/result.h"

namespace pbxwall::iax {

enum class FrameKind : std::uint8_t {
  full,  // F bit set: signalling or media with a 12-byte header
  mini,  // F bit clear: voice with a 4-byte header
  meta,  // F bit clear and the first 16 bits zero: trunk or video meta frame
};

// Frame types (RFC 5456 section 8.2). Other values are kept as numbers in Frame::frame_type.
namespace frame_type {
inline constexpr std::uint8_t dtmf_end = 1;
inline constexpr std::uint8_t voice = 2;
inline constexpr std::uint8_t video = 3;
inline constexpr std::uint8_t control = 4;
inline constexpr std::uint8_t null = 5;
inline constexpr std::uint8_t iax = 6;
inline constexpr std::uint8_t text = 7;
inline constexpr std::uint8_t image = 8;
inline constexpr std::uint8_t html = 9;
inline constexpr std::uint8_t comfort_noise = 10;
inline constexpr std::uint8_t modem = 11;
inline constexpr std::uint8_t dtmf_begin = 12;
}  // namespace frame_type

// Subclasses of IAX frames (frame type 6), RFC 5456 section 8.4. A value not listed here is
// still carried in Frame::subclass; Frame::command is then Command::unknown.
enum class Command : std::uint8_t {
  unknown = 0,
  new_ = 1,
  ping = 2,
  pong = 3,
  ack = 4,
  hangup = 5,
  reject = 6,
  accept = 7,
  authreq = 8,
  authrep = 9,
  inval = 10,
  lagrq = 11,
  lagrp = 12,
  regreq = 13,
  regauth = 14,
  regack = 15,
  regrej = 16,
  regrel = 17,
  vnak = 18,
  dpreq = 19,
  dprep = 20,
  dial = 21,
  txreq = 22,
  txcnt = 23,
  txacc = 24,
  txready = 25,
  txrel = 26,
  txrej = 27,
  quelch = 28,
  unquelch = 29,
  poke = 30,
  mwi = 32,
  unsupport = 33,
  transfer = 34,
  provision = 35,
  fwdownl = 36,
  fwdata = 37,
  txmedia = 38,
  rtkey = 39,
  calltoken = 40,
};

// Upper-case name as in RFC 5456 ("REGREQ"); "UNKNOWN" for others.
const char* command_name(Command c);

// Information element identifiers (RFC 5456 section 8.6) that the parser decodes.
namespace ie {
inline constexpr std::uint8_t called_number = 1;
inline constexpr std::uint8_t calling_number = 2;
inline constexpr std::uint8_t calling_name = 4;
inline constexpr std::uint8_t called_context = 5;
inline constexpr std::uint8_t username = 6;
inline constexpr std::uint8_t version = 11;
inline constexpr std::uint8_t authmethods = 14;
inline constexpr std::uint8_t challenge = 15;
inline constexpr std::uint8_t md5_result = 16;
inline constexpr std::uint8_t rsa_result = 17;
inline constexpr std::uint8_t refresh = 19;
inline constexpr std::uint8_t cause = 22;
inline constexpr std::uint8_t causecode = 42;
inline constexpr std::uint8_t calltoken = 54;
}  // namespace ie

// Bits of the AUTHMETHODS information element.
namespace authmethod {
inline constexpr std::uint16_t plaintext = 1;
inline constexpr std::uint16_t md5 = 2;
inline constexpr std::uint16_t rsa = 4;
}  // namespace authmethod

// The decoded information elements of an IAX frame. Absent text elements are empty views.
struct InformationElements {
  std::string_view username;
  std::string_view called_number;
  std::string_view calling_number;
  std::string_view calling_name;
  std::string_view called_context;
  std::string_view cause;  // text
  std::optional<std::uint8_t> causecode;
  std::optional<std::uint16_t> refresh;      // seconds
  std::optional<std::uint16_t> authmethods;  // authmethod bits
  std::optional<std::uint16_t> version;
  bool has_challenge = false;
  bool has_md5_result = false;
  bool has_rsa_result = false;
  bool has_calltoken = false;
  int count = 0;      // elements walked, including ones not decoded
  int malformed = 0;  // fixed-size elements skipped because of a wrong length
};

enum class Anomaly : std::uint8_t {
  empty,
  truncated_full_header,  // F bit set but fewer than 12 bytes
  truncated_mini_header,  // fewer than 4 bytes
  truncated_meta_header,
  truncated_ie,           // an IE's length runs past the end of the frame
  bad_ie_length,  // non-fatal: a fixed-size IE of the wrong size is skipped and counted in
                  // InformationElements::malformed (as Asterisk does)
  count_
};
const char* anomaly_name(Anomaly a);

struct ParseError {
  enum Kind : std::uint8_t { incomplete, invalid };
  Kind kind = invalid;  // a datagram is never incomplete in a way more bytes could fix; kept
                        // for symmetry with sip::ParseError, parse() always returns invalid
  Anomaly anomaly = Anomaly::empty;
  const char* reason = "";
  std::size_t offset = 0;
};

struct Frame {
  FrameKind kind = FrameKind::full;
  std::uint16_t source_call = 0;  // 15 bits
  // Full frames only.
  std::uint16_t dest_call = 0;  // 15 bits
  bool retransmitted = false;   // R bit
  std::uint32_t timestamp = 0;  // full: 32 bits; mini: 16 bits
  std::uint8_t oseqno = 0;
  std::uint8_t iseqno = 0;
  std::uint8_t frame_type = 0;  // see namespace frame_type
  // Subclass value; when the C bit is set the wire holds a power of two and this is 2^value.
  std::uint32_t subclass = 0;
  Command command = Command::unknown;  // when frame_type == frame_type::iax
  InformationElements ies;             // when frame_type == frame_type::iax
  std::span<const std::uint8_t> payload;  // bytes after the header (IEs for IAX frames)

  bool is_iax(Command c) const { return kind == FrameKind::full && frame_type == frame_type::iax && command == c; }
};

// Parses one UDP payload. IEs of IAX frames are walked with bounds checks: an IE that runs
// past the end of the datagram makes the frame invalid.
Result<Frame, ParseError> parse(std::span<const std::uint8_t> bytes);
Result<Frame, ParseError> parse(std::string_view bytes);

}  // namespace pbxwall::iax
