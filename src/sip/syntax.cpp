#include "sip/syntax.h"

#include <cstring>

namespace pbxwall::sip::detail {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_lws(s[b])) ++b;
  while (e > b && is_lws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::size_t skip_lws(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_lws(s[pos])) ++pos;
  return pos;
}

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > max) return std::nullopt;  // also stops overflow: max < 2^64 / 10
  }
  return v;
}

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

struct NamedHeader {
  std::string_view name;
  HeaderId id;
};

// Full names, then compact forms (RFC 3261 section 7.3.3 and the IANA registry).
constexpr NamedHeader kHeaders[] = {
    {"call-id", HeaderId::call_id},
    {"cseq", HeaderId::cseq},
    {"from", HeaderId::from},
    {"to", HeaderId::to},
    {"via", HeaderId::via},
    {"contact", HeaderId::contact},
    {"expires", HeaderId::expires},
    {"max-forwards", HeaderId::max_forwards},
    {"user-agent", HeaderId::user_agent},
    {"server", HeaderId::server},
    {"authorization", HeaderId::authorization},
    {"proxy-authorization", HeaderId::proxy_authorization},
    {"www-authenticate", HeaderId::www_authenticate},
    {"proxy-authenticate", HeaderId::proxy_authenticate},
    {"content-length", HeaderId::content_length},
    {"content-type", HeaderId::content_type},
    {"content-encoding", HeaderId::content_encoding},
    {"supported", HeaderId::supported},
    {"subject", HeaderId::subject},
    {"event", HeaderId::event},
    {"refer-to", HeaderId::refer_to},
    {"allow-events", HeaderId::allow_events},
    {"session-expires", HeaderId::session_expires},
    {"referred-by", HeaderId::referred_by},
    {"accept-contact", HeaderId::accept_contact},
    {"reject-contact", HeaderId::reject_contact},
    {"request-disposition", HeaderId::request_disposition},
    {"identity", HeaderId::identity},
    {"identity-info", HeaderId::identity_info},
};

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
  char first = to_lower(name.empty() ? '\0' : name[0]);
  for (const auto& h : kHeaders)
    if (h.name.size() == name.size() && h.name[0] == first && iequals(h.name, name)) return h.id;
  return HeaderId::other;
}

HeaderCursor::Step HeaderCursor::next(HeaderLine* line) {
  const std::size_t n = s_.size();
  if (pos_ >= n) return Step::truncated;
  const std::size_t start = pos_;
  const void* hit = std::memchr(s_.data() + start, '\n', n - start);
  if (hit == nullptr) return Step::truncated;
  std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - s_.data());
  std::size_t end = (nl > start && s_[nl - 1] == '\r') ? nl - 1 : nl;
  if (end == start) {
    pos_ = nl + 1;
    return Step::end;
  }
  if (is_wsp(s_[start])) return Step::bad_line;  // continuation with no header to continue
  bool folded = false;
  std::size_t next = nl + 1;
  while (next < n && is_wsp(s_[next])) {
    const void* more = std::memchr(s_.data() + next, '\n', n - next);
    if (more == nullptr) return Step::truncated;
    nl = static_cast<std::size_t>(static_cast<const char*>(more) - s_.data());
    end = (nl > next && s_[nl - 1] == '\r') ? nl - 1 : nl;
    next = nl + 1;
    folded = true;
  }
  std::string_view full = s_.substr(start, end - start);
  std::size_t colon = full.find(':');
  if (colon == std::string_view::npos) return Step::bad_line;
  std::string_view name = full.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  if (!is_token(name)) return Step::bad_line;
  line->name = name;
  line->value = trim(full.substr(colon + 1));
  line->offset = start;
  line->folded = folded;
  pos_ = next;
  return Step::header;
}

namespace {

bool is_uri_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f && c != '<' && c != '>' && c != '"';
}

bool is_host_char(char c) { return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_'; }

bool is_ipv6_char(char c) {
  return is_digit(c) || (to_lower(c) >= 'a' && to_lower(c) <= 'f') || c == ':' || c == '.';
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

// host [":" port] from pos; stops at the first character in stop (or end). IPv6 references
// keep their brackets out of *host.
bool parse_hostport(std::string_view s, std::size_t& pos, std::string_view* host,
                    std::optional<std::uint16_t>* port, std::string_view stop) {
  const std::size_t n = s.size();
  if (pos >= n) return false;
  if (s[pos] == '[') {
    std::size_t close = s.find(']', pos);
    if (close == std::string_view::npos) return false;
    *host = s.substr(pos + 1, close - pos - 1);
    if (host->empty() || !all_of(*host, is_ipv6_char)) return false;
    pos = close + 1;
  } else {
    std::size_t start = pos;
    while (pos < n && s[pos] != ':' && stop.find(s[pos]) == std::string_view::npos) ++pos;
    *host = s.substr(start, pos - start);
    if (host->empty() || !all_of(*host, is_host_char)) return false;
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
  *out = Uri{};
  out->whole = text;
  if (text.empty() || !is_alpha(text[0])) return false;
  if (!all_of(text, is_uri_char)) return false;
  std::size_t i = 1;
  while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '+' ||
                             text[i] == '-' || text[i] == '.'))
    ++i;
  if (i >= text.size() || text[i] != ':') return false;
  out->scheme = text.substr(0, i);
  std::string_view rest = text.substr(i + 1);
  if (rest.empty()) return false;

  if (iequals(out->scheme, "sip") || iequals(out->scheme, "sips")) {
    std::size_t at = rest.find('@');
    std::size_t pos = 0;
    if (at != std::string_view::npos) {
      std::string_view userinfo = rest.substr(0, at);
      out->user = userinfo.substr(0, userinfo.find(':'));
      if (out->user.empty()) return false;
      pos = at + 1;
    }
    if (!parse_hostport(rest, pos, &out->host, &out->port, ";?")) return false;
    return pos >= rest.size() || rest[pos] == ';' || rest[pos] == '?';
  }
  if (iequals(out->scheme, "tel")) {
    out->user = rest.substr(0, rest.find(';'));
    return !out->user.empty();
  }
  return true;  // another scheme: kept whole
}

bool parse_address(std::string_view s, std::size_t& pos, AddressElement* out) {
  *out = AddressElement{};
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
    std::size_t j = pos;
    while (j < n && (is_token_char(s[j]) || is_lws(s[j]))) ++j;
    if (j < n && s[j] == '<') {
      out->display = trim(s.substr(pos, j - pos));
      pos = j;
      angle = true;
    }
  }
  std::string_view uri_text;
  if (angle) {
    std::size_t close = s.find('>', pos + 1);
    if (close == std::string_view::npos) return false;
    uri_text = s.substr(pos + 1, close - pos - 1);
    pos = close + 1;
  } else {
    // addr-spec form: a URI with ';', ',' or '?' must be in <> (RFC 3261 20.10), so those end it.
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
  *out = Via{};
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
      {"UDP", Transport::udp}, {"TCP", Transport::tcp}, {"TLS", Transport::tls},
      {"SCTP", Transport::sctp}, {"WS", Transport::ws}, {"WSS", Transport::wss}};
  for (const auto& [name, transport] : kTransports)
    if (iequals(name, parts[2])) out->transport = transport;

  pos = skip_lws(s, pos);
  if (pos >= n) return false;
  if (s[pos] == '[') {
    if (!parse_hostport(s, pos, &out->host, &out->port, "")) return false;
  } else {
    std::size_t host_start = pos;
    while (pos < n && !is_lws(s[pos]) && s[pos] != ':' && s[pos] != ';' && s[pos] != ',') ++pos;
    out->host = s.substr(host_start, pos - host_start);
    if (out->host.empty() || !all_of(out->host, is_host_char)) return false;
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
    else if (iequals(name, "nonce")) out->has_nonce = true;
    else if (iequals(name, "response")) out->has_response = true;
  });
}

bool parse_challenge(std::string_view value, Challenge* out) {
  *out = Challenge{};
  out->present = true;
  return walk_auth(value, &out->scheme, [out](std::string_view name, std::string_view v) {
    if (iequals(name, "realm")) out->realm = v;
    else if (iequals(name, "qop")) out->qop = v;
  });
}

}  // namespace pbxwall::sip::detail
