// parse(): start line, one pass over the header lines, body by Content-Length.
#include <algorithm>
#include <cstring>

#include "sip/sip.h"
#include "sip/syntax.h"

namespace pbxwall::sip {

using namespace detail;

namespace {

ParseError error(Anomaly a, const char* reason, std::size_t offset, ParseError::Kind kind = ParseError::invalid) {
  return ParseError{kind, a, reason, offset};
}

struct StartLineError {
  Anomaly anomaly;
  const char* reason;
};

bool is_hex_or_colon(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// sip:user@2001:db8::1;params: an IPv6 host written without brackets (RFC 3261 wants [ ]),
// which Kamailio and Asterisk read as the address. No port can be told apart, so none is.
bool parse_unbracketed_ipv6_uri(std::string_view text, Uri* out) {
  *out = Uri{};
  out->whole = text;
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  out->scheme = text.substr(0, colon);
  if (!iequals(out->scheme, "sip") && !iequals(out->scheme, "sips")) return false;
  std::string_view rest = text.substr(colon + 1);
  const std::size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    out->user = rest.substr(0, std::min(rest.find(':'), at));
    if (out->user.empty()) return false;
    rest = rest.substr(at + 1);
  }
  const std::string_view host = rest.substr(0, std::min(rest.find(';'), rest.find('?')));
  std::size_t colons = 0;
  for (char c : host) {
    if (!is_hex_or_colon(c)) return false;
    colons += c == ':';
  }
  if (colons < 2) return false;
  out->host = host;
  return true;
}

std::optional<StartLineError> parse_start_line(std::string_view line, Message* m, bool datagram) {
  if (line.size() >= 4 && iequals_both(line.substr(0, 4), "sip/")) {
    m->is_request = false;
    std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return StartLineError{Anomaly::bad_status_line, "status line without status code"};
    if (!iequals_both(line.substr(0, sp), "sip/2.0"))
      return StartLineError{Anomaly::bad_sip_version, "SIP version is not SIP/2.0"};
    std::string_view rest = line.substr(sp + 1);
    std::size_t sp2 = rest.find(' ');
    std::string_view code = rest.substr(0, sp2);
    auto v = parse_decimal(code, 699);
    if (code.size() != 3 || !v || *v < 100)
      return StartLineError{Anomaly::bad_status_code, "status code is not a number from 100 to 699"};
    m->status_code = static_cast<int>(*v);
    m->reason_phrase = sp2 == std::string_view::npos ? std::string_view{} : rest.substr(sp2 + 1);
    return std::nullopt;
  }
  m->is_request = true;
  // Method SP Request-URI SP SIP-Version, single spaces (RFC 3261 section 7.1).
  std::size_t sp1 = line.find(' ');
  std::size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1)
    return StartLineError{Anomaly::bad_request_line, "request line is not: method, URI, version"};
  m->method_token = line.substr(0, sp1);
  if (!is_token(m->method_token)) return StartLineError{Anomaly::bad_request_line, "method is not a token"};
  m->method = method_from_token(m->method_token);
  std::string_view version = line.substr(sp2 + 1);
  if (version.size() < 4 || !iequals_both(version.substr(0, 4), "sip/"))
    return StartLineError{Anomaly::bad_request_line, "request line does not end with a SIP version"};
  if (!iequals_both(version, "sip/2.0")) return StartLineError{Anomaly::bad_sip_version, "SIP version is not SIP/2.0"};
  std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!parse_uri(uri, &m->request_uri)) {
    if (datagram && parse_unbracketed_ipv6_uri(uri, &m->request_uri)) {
      m->anomalies.add(Anomaly::unbracketed_ipv6_uri);
      return std::nullopt;
    }
    return StartLineError{Anomaly::bad_request_uri, "request URI is not a URI"};
  }
  return std::nullopt;
}

struct Seen {
  bool call_id = false, cseq = false, from = false, to = false, content_length = false;
  bool expires = false, max_forwards = false, user_agent = false, server = false;
};

// Handles one header; returns a fatal anomaly with its reason, or nothing.
std::optional<StartLineError> take_header(const HeaderLine& h, Message* m, Seen* seen) {
  const std::string_view v = h.value;
  const HeaderId id = header_id(h.name);
  switch (id) {
    case HeaderId::call_id:
      if (seen->call_id) return StartLineError{Anomaly::duplicate_call_id, "more than one Call-ID"};
      seen->call_id = true;
      m->call_id = v;
      break;
    case HeaderId::cseq: {
      if (seen->cseq) return StartLineError{Anomaly::duplicate_cseq, "more than one CSeq"};
      seen->cseq = true;
      std::size_t pos = 0;
      while (pos < v.size() && is_digit(v[pos])) ++pos;
      auto number = parse_decimal(v.substr(0, pos), 0x7fffffff);  // < 2^31, RFC 3261 8.1.1.5
      std::string_view method = trim(v.substr(pos));
      if (!number || pos == 0 || pos == v.size() || !is_lws(v[pos]) || !is_token(method))
        return StartLineError{Anomaly::bad_cseq, "CSeq is not: number below 2^31, method"};
      m->cseq = static_cast<std::uint32_t>(*number);
      m->cseq_method_token = method;
      m->cseq_method = method_from_token(method);
      break;
    }
    case HeaderId::from:
    case HeaderId::to: {
      const bool is_from = id == HeaderId::from;
      bool& already = is_from ? seen->from : seen->to;
      if (already)
        return is_from ? StartLineError{Anomaly::duplicate_from, "more than one From"}
                       : StartLineError{Anomaly::duplicate_to, "more than one To"};
      already = true;
      AddressElement a;
      std::size_t pos = 0;
      if (!parse_address(v, pos, &a) || pos != v.size())
        return is_from ? StartLineError{Anomaly::bad_from, "From is not a name-addr or addr-spec"}
                       : StartLineError{Anomaly::bad_to, "To is not a name-addr or addr-spec"};
      NameAddr& na = is_from ? m->from : m->to;
      na.present = true;
      na.display = a.display;
      na.uri = a.uri;
      na.tag = a.tag;
      break;
    }
    case HeaderId::via: {
      std::size_t pos = 0;
      for (;;) {
        Via via;
        if (!parse_via(v, pos, &via)) return StartLineError{Anomaly::bad_via, "Via is not: protocol, sent-by, parameters"};
        if (m->via_count == 0) {
          m->top_via = via;
          if (via.transport == Transport::unknown) m->anomalies.add(Anomaly::unknown_via_transport);
        }
        ++m->via_count;
        if (pos >= v.size()) break;
        ++pos;  // ','
      }
      break;
    }
    case HeaderId::contact: {
      Contact& c = m->contact;
      c.present = true;
      if (v == "*") {
        c.is_star = true;
        ++c.count;
        break;
      }
      std::size_t pos = 0;
      for (;;) {
        AddressElement a;
        if (!parse_address(v, pos, &a)) {
          m->anomalies.add(Anomaly::bad_contact);
          break;
        }
        if (c.count == 0) {
          c.uri = a.uri;
          if (a.expires) c.expires = static_cast<std::uint32_t>(*a.expires);
        }
        if (a.bad_expires) m->anomalies.add(Anomaly::bad_expires);
        ++c.count;
        if (pos >= v.size()) break;
        ++pos;
      }
      break;
    }
    case HeaderId::expires:
      if (seen->expires) break;
      seen->expires = true;
      if (auto e = parse_decimal(v, UINT32_MAX)) m->expires = static_cast<std::uint32_t>(*e);
      else m->anomalies.add(Anomaly::bad_expires);
      break;
    case HeaderId::max_forwards:
      if (seen->max_forwards) break;
      seen->max_forwards = true;
      if (auto mf = parse_decimal(v, UINT32_MAX)) {
        m->max_forwards = static_cast<std::uint32_t>(*mf);
        if (*mf > 255) m->anomalies.add(Anomaly::bad_max_forwards);
      } else {
        m->anomalies.add(Anomaly::bad_max_forwards);
      }
      break;
    case HeaderId::user_agent:
      // Every one is kept for judging: a harmless first one may hide a tool's second one.
      if (!seen->user_agent) m->user_agent = v;
      else {
        m->user_agent_last = v;
        m->anomalies.add(Anomaly::repeated_user_agent);
      }
      seen->user_agent = true;
      break;
    case HeaderId::server:
      if (!seen->server) m->server = v;
      seen->server = true;
      break;
    case HeaderId::authorization:
    case HeaderId::proxy_authorization: {
      Credentials& c = id == HeaderId::authorization ? m->authorization
                                                                      : m->proxy_authorization;
      if (c.present) break;
      if (!parse_credentials(v, &c)) m->anomalies.add(Anomaly::bad_authorization);
      break;
    }
    case HeaderId::www_authenticate:
    case HeaderId::proxy_authenticate: {
      Challenge& c = id == HeaderId::www_authenticate ? m->www_authenticate
                                                                      : m->proxy_authenticate;
      if (c.present) break;
      if (!parse_challenge(v, &c)) m->anomalies.add(Anomaly::bad_authorization);
      break;
    }
    case HeaderId::content_length: {
      auto cl = parse_decimal(v, UINT32_MAX);
      if (!cl) return StartLineError{Anomaly::bad_content_length, "Content-Length is not a number"};
      if (seen->content_length)
        return StartLineError{Anomaly::duplicate_content_length, "more than one Content-Length"};
      seen->content_length = true;
      m->content_length = static_cast<std::uint32_t>(*cl);
      break;
    }
    default:
      break;
  }
  if (h.folded) m->anomalies.add(Anomaly::folded_header_line);
  return std::nullopt;
}

// Fills m (which starts empty); returns the error that makes the bytes not a message, if any.
std::optional<ParseError> fill(std::string_view bytes, Message& m, bool datagram) {
  std::size_t start = 0;
  while (start < bytes.size() && (bytes[start] == '\r' || bytes[start] == '\n')) ++start;
  if (start >= bytes.size()) return error(Anomaly::empty_message, "no message, only line breaks", 0);

  const std::size_t nl_pos = find_byte(bytes, start, '\n');
  if (nl_pos == std::string_view::npos)
    return error(Anomaly::truncated_header_section, "start line has no end", bytes.size(), ParseError::incomplete);
  std::size_t line_end = nl_pos > start && bytes[nl_pos - 1] == '\r' ? nl_pos - 1 : nl_pos;
  if (auto e = parse_start_line(bytes.substr(start, line_end - start), &m, datagram))
    return error(e->anomaly, e->reason, start);

  const std::size_t headers_start = nl_pos + 1;
  HeaderCursor cursor(bytes.substr(headers_start));
  Seen seen;
  HeaderLine h;
  for (;;) {
    auto step = cursor.next(&h);
    if (step == HeaderCursor::Step::end) break;
    if (step == HeaderCursor::Step::truncated)
      return error(Anomaly::truncated_header_section, "header section has no empty line ending it",
                   bytes.size(), ParseError::incomplete);
    if (step == HeaderCursor::Step::bad_line)
      return error(Anomaly::bad_header_line, "header line without a colon or with a bad name",
                   headers_start + cursor.position());
    if (auto e = take_header(h, &m, &seen)) return error(e->anomaly, e->reason, headers_start + h.offset);
  }
  const std::size_t body_start = headers_start + cursor.position();
  m.headers = bytes.substr(headers_start, body_start - headers_start);

  if (m.call_id.empty()) return error(Anomaly::missing_call_id, "no Call-ID", body_start);
  if (!seen.cseq) return error(Anomaly::missing_cseq, "no CSeq", body_start);
  if (!m.from.present) return error(Anomaly::missing_from, "no From", body_start);
  if (!m.to.present) return error(Anomaly::missing_to, "no To", body_start);
  if (m.via_count == 0) return error(Anomaly::missing_via, "no Via", body_start);
  if (m.is_request && !same(m.cseq_method_token, m.method_token)) {
    if (!datagram) return error(Anomaly::cseq_method_mismatch, "CSeq method differs from the request method", start);
    m.anomalies.add(Anomaly::cseq_method_differs);
  }

  const std::size_t available = bytes.size() - body_start;
  std::size_t body_size = available;
  if (m.content_length) {
    if (*m.content_length > available) {
      if (!datagram)
        return error(Anomaly::truncated_body, "body shorter than Content-Length", bytes.size(), ParseError::incomplete);
      m.anomalies.add(Anomaly::content_length_beyond_datagram);
    }
    body_size = std::min<std::size_t>(*m.content_length, available);
    if (body_size < available) m.anomalies.add(Anomaly::body_longer_than_content_length);
  } else {
    m.anomalies.add(Anomaly::missing_content_length);
  }
  m.body = bytes.substr(body_start, body_size);
  m.raw = bytes.substr(start, body_start + body_size - start);
  return std::nullopt;
}

}  // namespace

Result<Message, ParseError> parse(std::string_view bytes) {
  // The message is built in place in the one result object that is returned, so its ~1 KiB
  // is not copied again on the way out.
  Result<Message, ParseError> result{Message{}};
  if (auto e = fill(bytes, result.value(), false)) result = fail(*e);
  return result;
}

Result<Message, ParseError> parse_datagram(std::string_view bytes) {
  Result<Message, ParseError> result{Message{}};
  if (auto e = fill(bytes, result.value(), true)) result = fail(*e);
  return result;
}

bool is_evasive(Anomaly a) {
  switch (a) {
    case Anomaly::unterminated_header_section:
    case Anomaly::content_length_beyond_datagram:
    case Anomaly::cseq_method_differs:
    case Anomaly::repeated_user_agent:
    case Anomaly::unbracketed_ipv6_uri: return true;
    default: return false;
  }
}

std::optional<ParseError> parse_into(std::string_view bytes, Message& out) {
  out = Message{};
  return fill(bytes, out, false);
}

Result<Message, ParseError> parse(std::span<const std::uint8_t> bytes) {
  return parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

std::string_view Message::header(std::string_view name) const {
  const HeaderId wanted = header_id(name);
  HeaderCursor cursor(headers);
  HeaderLine h;
  while (cursor.next(&h) == HeaderCursor::Step::header) {
    if (wanted != HeaderId::other ? header_id(h.name) == wanted : iequals_both(h.name, name)) return h.value;
  }
  return {};
}

std::vector<std::string_view> Message::header_values(std::string_view name) const {
  std::vector<std::string_view> out;
  const HeaderId wanted = header_id(name);
  HeaderCursor cursor(headers);
  HeaderLine h;
  while (cursor.next(&h) == HeaderCursor::Step::header) {
    if (wanted != HeaderId::other ? header_id(h.name) == wanted : iequals_both(h.name, name)) out.push_back(h.value);
  }
  return out;
}

}  // namespace pbxwall::sip
