// Internal to the sip module: character classes and the parsers of single header values.
// Every function takes a view and never looks outside it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sip/sip.h"

namespace pbxwall::sip::detail {

// Character classes of RFC 3261, looked up in one table: the parser asks these for every byte.
namespace char_class {
inline constexpr std::uint8_t token = 1;  // token characters
inline constexpr std::uint8_t lws = 2;    // SP, HTAB, CR, LF
inline constexpr std::uint8_t uri = 4;    // printable, not SP, '<', '>', '"'
inline constexpr std::uint8_t host = 8;   // hostname and IPv4 characters
inline constexpr std::uint8_t digit = 16;
inline constexpr std::uint8_t ipv6 = 32;  // hex digits, ':', '.'
}  // namespace char_class

inline constexpr std::array<std::uint8_t, 256> kCharClass = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    std::uint8_t v = 0;
    if (alpha || digit) v |= char_class::token | char_class::host;
    if (digit) v |= char_class::digit;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.') v |= char_class::ipv6;
    switch (c) {
      case '-': case '.': case '!': case '%': case '*': case '_': case '+': case '`': case '\'':
      case '~':
        v |= char_class::token;
        break;
      default:
        break;
    }
    if (c == '-' || c == '.' || c == '_') v |= char_class::host;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') v |= char_class::lws;
    if (c > 0x20 && c != 0x7f && c != '<' && c != '>' && c != '"') v |= char_class::uri;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}();

inline bool in_class(char c, std::uint8_t cls) { return (kCharClass[static_cast<unsigned char>(c)] & cls) != 0; }
inline bool is_wsp(char c) { return c == ' ' || c == '\t'; }
// Inside a header value CR and LF only occur in folds, so they count as whitespace there.
inline bool is_lws(char c) { return in_class(c, char_class::lws); }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }
inline bool is_token_char(char c) { return in_class(c, char_class::token); }

// Case-insensitive comparison of a token (header, parameter or scheme name: checked to hold
// token characters before) with a lower-case name of letters, digits, '-' and '.'. Setting
// bit 0x20 lower-cases letters and leaves every other token character as it is.
inline bool iequals(std::string_view token, std::string_view lower) {
  if (token.size() != lower.size()) return false;
  for (std::size_t i = 0; i < token.size(); ++i)
    if (static_cast<char>(token[i] | 0x20) != lower[i]) return false;
  return true;
}

// Case-insensitive comparison of two arbitrary strings.
inline bool iequals_both(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// Byte equality for short strings (method names), without a call to memcmp.
inline bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

inline std::string_view trim(std::string_view s) {  // strips LWS (including folds) at both ends
  std::size_t b = 0, e = s.size();
  while (b < e && is_lws(s[b])) ++b;
  while (e > b && is_lws(s[e - 1])) --e;
  return s.substr(b, e - b);
}

inline std::size_t skip_lws(std::string_view s, std::size_t pos) {
  while (pos < s.size() && is_lws(s[pos])) ++pos;
  return pos;
}

// Decimal digits only (leading zeros allowed); nullopt when empty, not digits, or above max.
inline std::optional<std::uint64_t> parse_decimal(std::string_view s, std::uint64_t max) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > max) return std::nullopt;  // also stops overflow: max < 2^64 / 10
  }
  return v;
}

// Position of the first c at or after from, or npos. Lines are short (20 to 80 bytes), where
// memchr's call and setup cost more than the search, hence 16 bytes at a time inline.
inline std::size_t find_byte(std::string_view s, std::size_t from, char c) {
  std::size_t i = from;
#if defined(__SSE2__)
  const __m128i needle = _mm_set1_epi8(c);
  for (; i + 16 <= s.size(); i += 16) {
    const __m128i chunk = _mm_loadu_si128(static_cast<const __m128i*>(static_cast<const void*>(s.data() + i)));
    const int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(chunk, needle));
    if (mask != 0) return i + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  for (; i < s.size(); ++i)
    if (s[i] == c) return i;
  return std::string_view::npos;
}

// From pos at an opening quote, returns the position after the closing quote, skipping
// quoted-pairs; npos when the string is not terminated inside s.
std::size_t skip_quoted(std::string_view s, std::size_t pos);

// Header names the parser knows, with their compact forms folded in.
enum class HeaderId : std::uint8_t {
  other,
  call_id,
  cseq,
  from,
  to,
  via,
  contact,
  expires,
  max_forwards,
  user_agent,
  server,
  authorization,
  proxy_authorization,
  www_authenticate,
  proxy_authenticate,
  content_length,
  content_type,
  content_encoding,
  supported,
  subject,
  event,
  refer_to,
  allow_events,
  session_expires,
  referred_by,
  accept_contact,
  reject_contact,
  request_disposition,
  identity,
  identity_info,
};
HeaderId header_id(std::string_view name);

// One header of a header section, folded continuation lines included.
struct HeaderLine {
  std::string_view name;
  std::string_view value;  // trimmed; may contain CRLF + whitespace from folds
  std::size_t offset = 0;  // of the name, in the section given to HeaderCursor
  bool folded = false;
};

// Walks a header section line by line. Lines end with CRLF or a bare LF.
class HeaderCursor {
 public:
  enum class Step { header, end, truncated, bad_line };
  explicit HeaderCursor(std::string_view section) : s_(section) {}
  // header: *line is filled; end: the empty line was consumed (position() is after it);
  // truncated: no line end before the end of the section; bad_line: no colon or bad name.
  Step next(HeaderLine* line);
  std::size_t position() const { return pos_; }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

// Parses a URI (no enclosing <>) into a default-constructed *out. Returns false for text that
// is not a URI.
bool parse_uri(std::string_view text, Uri* out);

// Parameters "; name [= value]" with LWS allowed around each separator. Calls
// on_param(name, value) for each (value without quotes; empty when absent). Stops before a
// top-level ',' or at the end; returns false on anything else.
template <class OnParam>
bool walk_params(std::string_view s, std::size_t& pos, OnParam&& on_param);

// One element of a From/To/Contact list starting at pos, into a default-constructed *out; on
// success pos is at the ',' that ends it or at the end.
struct AddressElement {
  std::string_view display;
  Uri uri;
  std::string_view tag;
  std::optional<std::uint64_t> expires;  // expires parameter, if a number
  bool bad_expires = false;               // expires parameter present but not a number
};
bool parse_address(std::string_view s, std::size_t& pos, AddressElement* out);

// One Via entry starting at pos, into a default-constructed *out; on success pos is at the ','
// that ends it or at the end.
bool parse_via(std::string_view s, std::size_t& pos, Via* out);

bool parse_credentials(std::string_view value, Credentials* out);
bool parse_challenge(std::string_view value, Challenge* out);

// ---- template implementation ----

template <class OnParam>
bool walk_params(std::string_view s, std::size_t& pos, OnParam&& on_param) {
  for (;;) {
    pos = skip_lws(s, pos);
    if (pos >= s.size() || s[pos] == ',') return true;
    if (s[pos] != ';') return false;
    pos = skip_lws(s, pos + 1);
    std::size_t name_start = pos;
    while (pos < s.size() && is_token_char(s[pos])) ++pos;
    std::string_view name = s.substr(name_start, pos - name_start);
    if (name.empty()) return false;
    pos = skip_lws(s, pos);
    std::string_view value;
    if (pos < s.size() && s[pos] == '=') {
      pos = skip_lws(s, pos + 1);
      if (pos < s.size() && s[pos] == '"') {
        std::size_t end = skip_quoted(s, pos);
        if (end == std::string_view::npos) return false;
        value = s.substr(pos + 1, end - pos - 2);
        pos = end;
      } else {
        std::size_t value_start = pos;
        if (pos < s.size() && s[pos] == '[') {  // IPv6 reference, e.g. received=[2001:db8::1]
          while (pos < s.size() && s[pos] != ']') ++pos;
          if (pos >= s.size()) return false;
          ++pos;
        } else {
          while (pos < s.size() && !is_lws(s[pos]) && s[pos] != ';' && s[pos] != ',' &&
                 s[pos] != '"' && s[pos] != '<' && s[pos] != '>')
            ++pos;
        }
        value = s.substr(value_start, pos - value_start);
        if (value.empty()) return false;
      }
    }
    on_param(name, value);
  }
}

}  // namespace pbxwall::sip::detail
