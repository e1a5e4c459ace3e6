// SIP message parser (RFC 3261 syntax), zero-copy: every string_view in a Message points into
// the caller's buffer, which must outlive the Message. Pure: no I/O, no allocation on the
// parse path.
//
// The parser extracts what the firewall needs to tell phones from attackers; it validates only
// as much syntax as that needs, but it never reads outside the buffer, and every reason it
// refuses a message (or notes something odd in one it accepts) is a named Anomaly with a
// counter-friendly name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pbxwall::sip {

enum class Method : std::uint8_t {
  unknown,  // any other token; Message::method_token holds it
  invite,
  ack,
  bye,
  cancel,
  register_,
  options,
  info,
  update,
  prack,
  subscribe,
  notify,
  refer,
  message,
  publish,
};

// Upper-case method name ("REGISTER"); "unknown" for Method::unknown.
const char* method_name(Method m);
// Case-sensitive as RFC 3261 requires ("register" is an unknown method).
Method method_from_token(std::string_view token);

enum class Transport : std::uint8_t { unknown, udp, tcp, tls, sctp, ws, wss };
const char* transport_name(Transport t);  // "udp", "tcp", ...

// Everything the parser can complain about. Fatal ones make parse() fail with that anomaly;
// the others are recorded in Message::anomalies and the message is still returned.
enum class Anomaly : std::uint8_t {
  // fatal: framing
  truncated_header_section,  // no empty line ending the headers (incomplete)
  truncated_body,            // fewer body bytes than Content-Length (incomplete)
  header_section_too_large,  // stream framer only: no end of headers within the limit
  empty_message,
  // fatal: first line
  bad_request_line,
  bad_status_line,
  bad_sip_version,
  bad_request_uri,
  bad_status_code,
  // fatal: header syntax
  bad_header_line,  // no colon, or bad header name
  // fatal: mandatory headers missing or unusable
  missing_call_id,
  missing_cseq,
  missing_from,
  missing_to,
  missing_via,
  duplicate_call_id,
  duplicate_cseq,
  duplicate_from,
  duplicate_to,
  bad_cseq,
  bad_from,
  bad_to,
  bad_via,
  bad_content_length,
  duplicate_content_length,
  cseq_method_mismatch,  // request whose CSeq method differs from the request line's
  // non-fatal (is_fatal() relies on every fatal anomaly being listed before this one)
  bad_max_forwards,
  bad_expires,
  bad_contact,
  bad_authorization,
  unknown_via_transport,
  missing_content_length,  // allowed on UDP; on TCP the framer assumes 0
  body_longer_than_content_length,  // extra bytes after the body in a datagram
  folded_header_line,
  // non-fatal, what a PBX reads in a datagram although it breaks the grammar (parse_datagram);
  // no phone sends them, so they are evidence against the sender
  unterminated_header_section,     // no empty line after the headers: they end with the datagram
  content_length_beyond_datagram,  // Content-Length larger than the body: the body is the rest
  cseq_method_differs,             // CSeq method differs from the request line's
  repeated_user_agent,             // more than one User-Agent header
  unbracketed_ipv6_uri,            // request-URI host an IPv6 address without [ ]
  count_  // number of anomalies; keep last
};

// Counter-friendly snake_case name ("missing_call_id").
const char* anomaly_name(Anomaly a);
// True if parse() refuses a message with this anomaly.
bool is_fatal(Anomaly a);

// A set of non-fatal anomalies seen in one message.
class AnomalySet {
 public:
  void add(Anomaly a) { bits_ |= bit(a); }
  bool has(Anomaly a) const { return (bits_ & bit(a)) != 0; }
  bool empty() const { return bits_ == 0; }
  std::uint64_t bits() const { return bits_; }

 private:
  static std::uint64_t bit(Anomaly a) { return std::uint64_t{1} << static_cast<unsigned>(a); }
  std::uint64_t bits_ = 0;
};

struct ParseError {
  enum Kind : std::uint8_t {
    incomplete,  // could become a message with more bytes (stream: wait; datagram: truncated)
    invalid,     // can never be a valid message
  };
  Kind kind = invalid;
  Anomaly anomaly = Anomaly::bad_header_line;
  const char* reason = "";  // human-readable, static storage
  std::size_t offset = 0;   // byte offset in the input where the problem was found
};

// A SIP or SIPS (or tel, or other scheme) URI, split as far as the firewall needs.
struct Uri {
  std::string_view whole;   // as written, without enclosing <>
  std::string_view scheme;  // "sip", "sips", "tel", ...
  std::string_view user;    // user part before '@' (without password); for tel: the number
  std::string_view host;    // hostname or address; IPv6 references without the brackets
  std::optional<std::uint16_t> port;
};

// From, To: name-addr or addr-spec, with the tag parameter.
struct NameAddr {
  bool present = false;
  // Raw display name: for a quoted display name the text between the quotes, escapes kept
  // as written (\" stays \"); otherwise the tokens before '<', trimmed.
  std::string_view display;
  Uri uri;
  std::string_view tag;
};

// One Via entry (the top one).
struct Via {
  std::string_view protocol;  // "SIP/2.0/UDP" as written
  std::string_view transport_token;  // "UDP"
  Transport transport = Transport::unknown;
  std::string_view host;  // sent-by host, IPv6 without brackets
  std::optional<std::uint16_t> port;
  std::string_view branch;
  std::string_view received;
  bool has_rport = false;                // "rport" parameter present (with or without value)
  std::optional<std::uint16_t> rport;    // its value, if given
};

struct Contact {
  bool present = false;
  bool is_star = false;  // "Contact: *" (unregister all)
  Uri uri;
  std::optional<std::uint32_t> expires;  // expires parameter of the first contact
  int count = 0;                         // contacts over all Contact headers
};

// Authorization / Proxy-Authorization (digest credentials).
struct Credentials {
  bool present = false;
  std::string_view scheme;    // "Digest"
  // Raw parameter values; quoted values without the quotes (escapes kept as written).
  std::string_view username;
  std::string_view realm;
  std::string_view uri;
  std::string_view nonce;  // the nonce answered (empty when absent)
  bool has_nonce = false;
  bool has_response = false;
};

// WWW-Authenticate / Proxy-Authenticate (a challenge).
struct Challenge {
  bool present = false;
  std::string_view scheme;
  std::string_view realm;
  std::string_view qop;  // raw value of the qop parameter, e.g. auth or auth,auth-int
  std::string_view nonce;
};

struct Message {
  bool is_request = false;

  // Requests.
  Method method = Method::unknown;
  std::string_view method_token;
  Uri request_uri;

  // Responses.
  int status_code = 0;
  std::string_view reason_phrase;

  std::string_view call_id;
  std::uint32_t cseq = 0;
  Method cseq_method = Method::unknown;
  std::string_view cseq_method_token;
  NameAddr from;
  NameAddr to;
  Via top_via;
  int via_count = 0;  // Via entries over all Via headers
  Contact contact;
  std::optional<std::uint32_t> expires;  // Expires header
  std::optional<std::uint32_t> max_forwards;
  std::string_view user_agent;       // the first User-Agent header
  std::string_view user_agent_last;  // the last one when there are several (else empty)
  std::string_view server;
  Credentials authorization;
  Credentials proxy_authorization;
  Challenge www_authenticate;
  Challenge proxy_authenticate;
  std::optional<std::uint32_t> content_length;
  std::string_view body;

  AnomalySet anomalies;  // non-fatal anomalies
  std::string_view raw;      // the whole message (start line to end of body)
  std::string_view headers;  // from the first header line to the end of the empty line

  // First value of a header by name (case-insensitive; "v" finds Via and so on for every
  // compact form), trimmed; folded lines are returned as written. Empty if absent.
  // Scans the header section: for headers the parser does not extract.
  std::string_view header(std::string_view name) const;
  // All values of a header (each header line; comma-separated lists are not split).
  std::vector<std::string_view> header_values(std::string_view name) const;
};

// Parses one message (a UDP datagram, or one framed message of a stream). A datagram whose
// body is longer than Content-Length is accepted with body_longer_than_content_length, the
// extra bytes are ignored (RFC 3261 18.3); a body shorter than Content-Length is an
// incomplete message. Without Content-Length the body is the rest of the buffer.
Result<Message, ParseError> parse(std::string_view bytes);
Result<Message, ParseError> parse(std::span<const std::uint8_t> bytes);

// Parses one UDP datagram as a PBX reads it (Kamailio and Asterisk answer all of these): a
// Content-Length larger than the body, a CSeq method other than the request's and an IPv6
// request-URI host without brackets are accepted, each recorded as its anomaly
// (content_length_beyond_datagram, cseq_method_differs, unbracketed_ipv6_uri). Headers without
// the empty line ending them fail with truncated_header_section as in parse(); the caller
// that can copy the datagram appends the empty line and records unterminated_header_section.
Result<Message, ParseError> parse_datagram(std::string_view bytes);

// True for the anomalies parse_datagram() accepts and phones do not send.
bool is_evasive(Anomaly a);

// The same parse into a message the caller owns and reuses, for a loop that parses packet
// after packet: it saves copying the ~1 KiB Message into a Result. Returns the error, or
// nothing when out holds the message (after an error, out holds partial fields: ignore them).
std::optional<ParseError> parse_into(std::string_view bytes, Message& out);

// Frames SIP messages on a byte stream (TCP, TLS after decryption) by Content-Length.
//
// Usage: feed() what arrived, then call next() until it returns std::nullopt:
//
//   framer.feed(segment);
//   while (auto m = framer.next()) { if (m->ok()) use(**m); else count((*m).error()); }
//
// Messages returned by next() point into the framer's buffer: they stay valid until the next
// call to feed() or reset(), which may move the buffer.
//
// CRLF keep-alives ("\r\n\r\n" pings and "\r\n" pongs, RFC 5626) between messages are skipped.
// A message whose headers parse but are invalid (missing Call-ID, say) is returned as an error
// and skipped, since its length is known. When the stream cannot be framed any further (no end
// of headers within max_header_bytes, a body over max_body_bytes, an unusable
// Content-Length) next() returns that error and the framer is broken: every later next()
// returns the same error and feed() discards input until reset().
class StreamFramer {
 public:
  static constexpr std::size_t default_max_header_bytes = 64 * 1024;
  static constexpr std::size_t default_max_body_bytes = 1024 * 1024;

  explicit StreamFramer(std::size_t max_header_bytes = default_max_header_bytes,
                        std::size_t max_body_bytes = default_max_body_bytes);

  void feed(std::span<const std::uint8_t> bytes);
  void feed(std::string_view bytes);
  // The next whole message, or an error, or nullopt when more bytes are needed.
  std::optional<Result<Message, ParseError>> next();

  bool broken() const { return broken_.has_value(); }
  // Bytes held that do not form a whole message yet.
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  void reset();

 private:
  std::vector<char> buffer_;
  std::size_t consumed_ = 0;  // bytes of buffer_ already returned as messages or skipped
  std::size_t scanned_ = 0;   // bytes after consumed_ known to hold no end of headers
  std::size_t header_end_ = 0;  // if non-zero: end of the pending message's header section
  std::size_t max_header_bytes_;
  std::size_t max_body_bytes_;
  std::optional<ParseError> broken_;
};

}  // namespace pbxwall::sip
