#include "sip/syntax.h"

#include <cstring>

namespace pbxwall::sip::detail {

std::size_t skip_quoted(std::string_view s, std::size_t pos) {
  ++pos;  // opening quote
  while (pos < s.size()) {
    char c = s[pos];
    if (c == '\\') {
      pos += 2;  // quoted-pair: the next byte, whatever it is
      continue;
    }
    ++pos;
    if (c == '"') return pos;
  }
  return std::string_view::npos;
}

namespace {

HeaderId compact_header(char c) {
  switch (to_lower(c)) {
    case 'i': return HeaderId::call_id;
    case 'f': return HeaderId::from;
    case 't': return HeaderId::to;
    case 'v': return HeaderId::via;
    case 'm': return HeaderId::contact;
    case 'l': return HeaderId::content_length;
    case 'c': return HeaderId::content_type;
    case 'e': return HeaderId::content_encoding;
    case 'k': return HeaderId::supported;
    case 's': return HeaderId::subject;
    case 'o': return HeaderId::event;
    case 'r': return HeaderId::refer_to;
    case 'u': return HeaderId::allow_events;
    case 'x': return HeaderId::session_expires;
    case 'b': return HeaderId::referred_by;
    case 'a': return HeaderId::accept_contact;
    case 'j': return HeaderId::reject_contact;
    case 'd': return HeaderId::request_disposition;
    case 'y': return HeaderId::identity;
    case 'n': return HeaderId::identity_info;
    default: return HeaderId::other;
  }
}

}  // namespace

HeaderId header_id(std::string_view name) {
  if (name.size() == 1) return compact_header(name[0]);
  // Candidates by first letter, then one comparison each.
  switch (to_lower(name[0])) {
    case 'a':
      if (iequals(name, "authorization")) return HeaderId::authorization;
      if (iequals(name, "allow-events")) return HeaderId::allow_events;
      if (iequals(name, "accept-contact")) return HeaderId::accept_contact;
      break;
    case 'c':
      if (iequals(name, "call-id")) return HeaderId::call_id;
      if (iequals(name, "cseq")) return HeaderId::cseq;
      if (iequals(name, "contact")) return HeaderId::contact;
      if (iequals(name, "content-length")) return HeaderId::content_length;
      if (iequals(name, "content-type")) return HeaderId::content_type;
      if (iequals(name, "content-encoding")) return HeaderId::content_encoding;
      break;
    case 'e':
      if (iequals(name, "expires")) return HeaderId::expires;
      if (iequals(name, "event")) return HeaderId::event;
      break;
    case 'f':
      if (iequals(name, "from")) return HeaderId::from;
      break;
    case 'i':
      if (iequals(name, "identity")) return HeaderId::identity;
      if (iequals(name, "identity-info")) return HeaderId::identity_info;
      break;
    case 'm':
      if (iequals(name, "max-forwards")) return HeaderId::max_forwards;
      break;
    case 'p':
      if (iequals(name, "proxy-authorization")) return HeaderId::proxy_authorization;
      if (iequals(name, "proxy-authenticate")) return HeaderId::proxy_authenticate;
      break;
    case 'r':
      if (iequals(name, "refer-to")) return HeaderId::refer_to;
      if (iequals(name, "referred-by")) return HeaderId::referred_by;
      if (iequals(name, "reject-contact")) return HeaderId::reject_contact;
      if (iequals(name, "request-disposition")) return HeaderId::request_disposition;
      break;
    case 's':
      if (iequals(name, "server")) return HeaderId::server;
      if (iequals(name, "subject")) return HeaderId::subject;
      if (iequals(name, "supported")) return HeaderId::supported;
      if (iequals(name, "session-expires")) return HeaderId::session_expires;
      break;
    case 't':
      if (iequals(name, "to")) return HeaderId::to;
      break;
    case 'u':
      if (iequals(name, "user-agent")) return HeaderId::user_agent;
      break;
    case 'v':
      if (iequals(name, "via")) return HeaderId::via;
      break;
    case 'w':
      if (iequals(name, "www-authenticate")) return HeaderId::www_authenticate;
      break;
    default:
      break;
  }
  return HeaderId::other;
}

HeaderCursor::Step HeaderCursor::next(HeaderLine* line) {
  const std::size_t n = s_.size();
  if (pos_ >= n) return Step::truncated;
  const std::size_t start = pos_;
  std::size_t nl = find_byte(s_, start, '\n');
  if (nl == std::string_view::npos) return Step::truncated;
  std::size_t end = (nl > start && s_[nl - 1] == '\r') ? nl - 1 : nl;
  if (end == start) {
    pos_ = nl + 1;
    return Step::end;
  }
  if (is_wsp(s_[start])) return Step::bad_line;  // continuation with no header to continue
  bool folded = false;
  std::size_t next = nl + 1;
  while (next < n && is_wsp(s_[next])) {
    nl = find_byte(s_, next, '\n');
    if (nl == std::string_view::npos) return Step::truncated;
    end = (nl > next && s_[nl - 1] == '\r') ? nl - 1 : nl;
    next = nl + 1;
    folded = true;
  }
  // Name: token characters, optional whitespace, colon (HCOLON).
  std::size_t i = start;
  while (i < end && is_token_char(s_[i])) ++i;
  std::string_view name = s_.substr(start, i - start);
  while (i < end && is_wsp(s_[i])) ++i;
  if (name.empty() || i >= end || s_[i] != ':') return Step::bad_line;
  line->name = name;
  line->value = trim(s_.substr(i + 1, end - i - 1));
  line->offset = start;
  line->folded = folded;
  pos_ = next;
  return Step::header;
}

namespace {

bool all_of(std::string_view s, std::uint8_t cls) {
  for (char c : s)
    if (!in_class(c, cls)) return false;
  return true;
}

// host [":" port] from pos; stops at the first character that is not part of them. IPv6
// references keep their brackets out of *host.
bool parse_hostport(std::string_view s, std::size_t& pos, std::string_view* host,
                    std::optional<std::uint16_t>* port) {
  const std::size_t n = s.size();
  if (pos >= n) return false;
  if (s[pos] == '[') {
    std::size_t close = s.find(']', pos);
    if (close == std::string_view::npos) return false;
    *host = s.substr(pos + 1, close - pos - 1);
    if (host->empty() || !all_of(*host, char_class::ipv6)) return false;
    pos = close + 1;
  } else {
    std::size_t start = pos;
    while (pos < n && in_class(s[pos], char_class::host)) ++pos;
    *host = s.substr(start, pos - start);
    if (host->empty()) return false;
  }
  if (pos < n && s[pos] == ':') {
    std::size_t start = ++pos;
    while (pos < n && is_digit(s[pos])) ++pos;
    auto v = parse_decimal(s.substr(start, pos - start), 65535);
    if (!v) return false;
    *port = static_cast<std::uint16_t>(*v);
  }
  return true;
}

}  // namespace

bool parse_uri(std::string_view text, Uri* out) {
  out->whole = text;
  if (text.empty() || !is_alpha(text[0])) return false;
  std::size_t i = 1;
  while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' ||
                             text[i] == '-' || text[i] == '.'))
    ++i;
  if (i >= text.size() || text[i] != ':') return false;
  out->scheme = text.substr(0, i);
  std::string_view rest = text.substr(i + 1);
  if (rest.empty()) return false;

  // One pass: every character must be allowed in a URI; note the first '@' and the first ':'
  // before it (user:password).
  std::size_t at = std::string_view::npos, colon = std::string_view::npos;
  for (std::size_t j = 0; j < rest.size(); ++j) {
    const char c = rest[j];
    if (!in_class(c, char_class::uri)) return false;
    if (c == '@' && at == std::string_view::npos) at = j;
    if (c == ':' && colon == std::string_view::npos && at == std::string_view::npos) colon = j;
  }
  if (iequals(out->scheme, "sip") || iequals(out->scheme, "sips")) {
    std::size_t pos = 0;
    if (at != std::string_view::npos) {
      out->user = rest.substr(0, colon < at ? colon : at);
      if (out->user.empty()) return false;
      pos = at + 1;
    }
    if (!parse_hostport(rest, pos, &out->host, &out->port)) return false;
    return pos >= rest.size() || rest[pos] == ';' || rest[pos] == '?';
  }
  if (iequals(out->scheme, "tel")) {
    out->user = rest.substr(0, rest.find(';'));
    return !out->user.empty();
  }
  return true;  // another scheme: kept whole
}

bool parse_address(std::string_view s, std::size_t& pos, AddressElement* out) {
  const std::size_t n = s.size();
  pos = skip_lws(s, pos);
  if (pos >= n) return false;
  bool angle = false;
  if (s[pos] == '"') {
    std::size_t end = skip_quoted(s, pos);
    if (end == std::string_view::npos) return false;
    out->display = s.substr(pos + 1, end - pos - 2);
    pos = skip_lws(s, end);
    if (pos >= n || s[pos] != '<') return false;
    angle = true;
  } else {
    // Unquoted display name: tokens per RFC 3261, and also UTF-8 bytes, which some phones
    // send unquoted; a comma still ends the element (baddn in RFC 4475 stays invalid).
    std::size_t j = pos;
    while (j < n && (is_token_char(s[j]) || is_lws(s[j]) || static_cast<unsigned char>(s[j]) >= 0x80)) ++j;
    if (j < n && s[j] == '<') {
      out->display = trim(s.substr(pos, j - pos));
      pos = j;
      angle = true;
    }
  }
  std::string_view uri_text;
  if (angle) {
    std::size_t close = find_byte(s, pos + 1, '>');
    if (close == std::string_view::npos) return false;
    uri_text = s.substr(pos + 1, close - pos - 1);
    pos = close + 1;
  } else {
    // addr-spec form: a URI with ';' or ',' must be in <> (RFC 3261 20.10), so those end it
    // (they start header parameters or the next list element).
    std::size_t start = pos;
    while (pos < n && !is_lws(s[pos]) && s[pos] != ';' && s[pos] != ',') ++pos;
    uri_text = s.substr(start, pos - start);
  }
  if (!parse_uri(uri_text, &out->uri)) return false;
  return walk_params(s, pos, [out](std::string_view name, std::string_view value) {
    if (iequals(name, "tag")) {
      out->tag = value;
    } else if (iequals(name, "expires")) {
      out->expires = parse_decimal(value, UINT32_MAX);
      out->bad_expires = !out->expires.has_value();
    }
  });
}

bool parse_via(std::string_view s, std::size_t& pos, Via* out) {
  const std::size_t n = s.size();
  pos = skip_lws(s, pos);
  const std::size_t start = pos;
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    if (i > 0) {
      pos = skip_lws(s, pos);
      if (pos >= n || s[pos] != '/') return false;
      pos = skip_lws(s, pos + 1);
    }
    std::size_t token_start = pos;
    while (pos < n && is_token_char(s[pos])) ++pos;
    parts[i] = s.substr(token_start, pos - token_start);
    if (parts[i].empty()) return false;
  }
  out->protocol = s.substr(start, pos - start);
  out->transport_token = parts[2];
  static constexpr std::pair<std::string_view, Transport> kTransports[] = {
      {"udp", Transport::udp}, {"tcp", Transport::tcp}, {"tls", Transport::tls},
      {"sctp", Transport::sctp}, {"ws", Transport::ws}, {"wss", Transport::wss}};
  for (const auto& [name, transport] : kTransports)
    if (iequals(parts[2], name)) out->transport = transport;

  pos = skip_lws(s, pos);
  if (pos >= n) return false;
  if (s[pos] == '[') {
    if (!parse_hostport(s, pos, &out->host, &out->port)) return false;
  } else {
    std::size_t host_start = pos;
    while (pos < n && !is_lws(s[pos]) && s[pos] != ':' && s[pos] != ';' && s[pos] != ',') ++pos;
    out->host = s.substr(host_start, pos - host_start);
    if (out->host.empty() || !all_of(out->host, char_class::host)) return false;
    pos = skip_lws(s, pos);
    if (pos < n && s[pos] == ':') {
      pos = skip_lws(s, pos + 1);
      std::size_t port_start = pos;
      while (pos < n && is_digit(s[pos])) ++pos;
      auto port = parse_decimal(s.substr(port_start, pos - port_start), 65535);
      if (!port) return false;
      out->port = static_cast<std::uint16_t>(*port);
    }
  }
  return walk_params(s, pos, [out](std::string_view name, std::string_view value) {
    if (iequals(name, "branch")) {
      out->branch = value;
    } else if (iequals(name, "received")) {
      out->received = value;
    } else if (iequals(name, "rport")) {
      out->has_rport = true;
      if (auto v = parse_decimal(value, 65535)) out->rport = static_cast<std::uint16_t>(*v);
    }
  });
}

namespace {

// auth-scheme LWS auth-param *(COMMA auth-param), RFC 3261 section 25.1.
template <class OnParam>
bool walk_auth(std::string_view s, std::string_view* scheme, OnParam&& on_param) {
  const std::size_t n = s.size();
  std::size_t pos = skip_lws(s, 0);
  std::size_t start = pos;
  while (pos < n && is_token_char(s[pos])) ++pos;
  *scheme = s.substr(start, pos - start);
  if (scheme->empty()) return false;
  for (bool first = true;; first = false) {
    pos = skip_lws(s, pos);
    if (pos >= n) return true;
    if (!first) {
      if (s[pos] != ',') return false;
      pos = skip_lws(s, pos + 1);
    }
    std::size_t name_start = pos;
    while (pos < n && is_token_char(s[pos])) ++pos;
    std::string_view name = s.substr(name_start, pos - name_start);
    if (name.empty()) return false;
    pos = skip_lws(s, pos);
    if (pos >= n || s[pos] != '=') return false;
    pos = skip_lws(s, pos + 1);
    std::string_view value;
    if (pos < n && s[pos] == '"') {
      std::size_t end = skip_quoted(s, pos);
      if (end == std::string_view::npos) return false;
      value = s.substr(pos + 1, end - pos - 2);
      pos = end;
    } else {
      std::size_t value_start = pos;
      while (pos < n && !is_lws(s[pos]) && s[pos] != ',') ++pos;
      value = s.substr(value_start, pos - value_start);
      if (value.empty()) return false;
    }
    on_param(name, value);
  }
}

}  // namespace

bool parse_credentials(std::string_view value, Credentials* out) {
  *out = Credentials{};
  out->present = true;
  return walk_auth(value, &out->scheme, [out](std::string_view name, std::string_view v) {
    if (iequals(name, "username")) out->username = v;
    else if (iequals(name, "realm")) out->realm = v;
    else if (iequals(name, "uri")) out->uri = v;
    else if (iequals(name, "nonce")) {
      out->has_nonce = true;
      out->nonce = v;
    }
    else if (iequals(name, "response")) out->has_response = true;
  });
}

bool parse_challenge(std::string_view value, Challenge* out) {
  *out = Challenge{};
  out->present = true;
  return walk_auth(value, &out->scheme, [out](std::string_view name, std::string_view v) {
    if (iequals(name, "realm")) out->realm = v;
    else if (iequals(name, "qop")) out->qop = v;
    else if (iequals(name, "nonce")) out->nonce = v;
  });
}

}  // namespace pbxwall::sip::detail
