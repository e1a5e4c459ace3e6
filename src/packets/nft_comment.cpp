#include "packets/nft_comment.h"

#include <cstdint>

namespace pbxwall::packets {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not valid (overlong
// forms, surrogates and code points above U+10FFFF count as invalid).
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b = byte(i);
  std::size_t len = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    len = 2;
    cp = b & 0x1Fu;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3;
    cp = b & 0x0Fu;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4;
    cp = b & 0x07u;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3Fu);
  }
  static constexpr std::uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

std::string nft_comment(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t len = utf8_length(text, i);
    std::string_view piece;
    std::size_t advance = len;
    char replacement = 0;
    if (len == 0) {
      replacement = '?';
      advance = 1;
    } else if (len == 1) {
      const char c = text[i];
      if (c == '"') replacement = '\'';
      else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) replacement = ' ';
    }
    piece = replacement != 0 ? std::string_view(&replacement, 1) : text.substr(i, len);
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += advance;
  }
  return out;
}

}  // namespace pbxwall::packets
