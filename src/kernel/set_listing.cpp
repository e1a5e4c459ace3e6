#include "kernel/set_listing.h"

#include <cctype>
#include <charconv>

namespace pbxwall::kernel {
namespace {

// The text between "elements = {" and its closing brace inside `set NAME { ... }`, or empty
// when the set has no elements; nullopt when the set is absent.
Result<std::optional<std::string_view>> element_text(std::string_view listing, std::string_view name) {
  const std::string head = "set " + std::string(name) + " {";
  std::size_t at = 0;
  for (;;) {
    at = listing.find(head, at);
    if (at == std::string_view::npos) return std::optional<std::string_view>();
    // Only at the start of a line (after indentation), not inside another word or a comment.
    std::size_t b = at;
    while (b > 0 && (listing[b - 1] == '\t' || listing[b - 1] == ' ')) --b;
    if (b == 0 || listing[b - 1] == '\n') break;
    at += head.size();
  }
  const std::size_t body = at + head.size();
  // The set's closing brace: braces counted outside quoted comments.
  std::size_t end = body;
  bool in_quotes = false;
  for (int depth = 1; depth > 0; ++end) {
    if (end >= listing.size()) return fail("set " + std::string(name) + ": no closing brace");
    const char c = listing[end];
    if (c == '"') in_quotes = !in_quotes;
    if (in_quotes) continue;
    depth += c == '{';
    depth -= c == '}';
  }
  --end;
  const std::string_view set = listing.substr(body, end - body);
  const std::size_t elements = set.find("elements = {");
  if (elements == std::string_view::npos) return std::optional<std::string_view>(std::string_view());
  const std::size_t open = elements + 12;
  bool quoted = false;
  for (std::size_t i = open; i < set.size(); ++i) {
    if (set[i] == '"') quoted = !quoted;
    if (!quoted && set[i] == '}') return std::optional<std::string_view>(set.substr(open, i - open));
  }
  return fail("set " + std::string(name) + ": unterminated element list");
}

// Splits on whitespace, a quoted string being one word (without its quotes).
Result<std::vector<std::string>> words(std::string_view text, std::string_view set) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    if (text[i] == '"') {
      const std::size_t close = text.find('"', i + 1);
      if (close == std::string_view::npos) return fail("set " + std::string(set) + ": unterminated comment");
      out.emplace_back(text.substr(i + 1, close - i - 1));
      i = close + 1;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j])) && text[j] != '"') ++j;
    out.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::optional<Duration> parse_nft_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total_ms = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), n);
    if (ec != std::errc() || n < 0 || end == text.data() + text.size()) return std::nullopt;
    pos = static_cast<std::size_t>(end - text.data());
    std::int64_t unit = 0;
    if (text.substr(pos, 2) == "ms") {
      unit = 1;
      pos += 2;
    } else {
      switch (text[pos]) {
        case 's': unit = 1000; break;
        case 'm': unit = 60'000; break;
        case 'h': unit = 3'600'000; break;
        case 'd': unit = 86'400'000; break;
        default: return std::nullopt;
      }
      ++pos;
    }
    if (n > (INT64_C(1) << 40)) return std::nullopt;
    total_ms += n * unit;
  }
  return std::chrono::duration_cast<Duration>(std::chrono::milliseconds(total_ms));
}

Result<std::vector<ListedElement>> listed_elements(std::string_view listing, std::string_view set_name) {
  auto text = element_text(listing, set_name);
  if (!text) return fail(text.error());
  std::vector<ListedElement> out;
  if (!*text || (*text)->empty()) return out;
  // Elements are separated by commas outside quotes.
  std::vector<std::string_view> items;
  const std::string_view all = **text;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= all.size(); ++i) {
    if (i < all.size() && all[i] == '"') quoted = !quoted;
    if (i == all.size() || (!quoted && all[i] == ',')) {
      items.push_back(all.substr(start, i - start));
      start = i + 1;
    }
  }
  for (std::string_view item : items) {
    auto w = words(item, set_name);
    if (!w) return fail(w.error());
    if (w->empty()) continue;
    ListedElement e;
    std::size_t i = 0;
    // A concatenated key: "a . b . c".
    e.key = (*w)[i++];
    while (i + 1 < w->size() && (*w)[i] == ".") {
      e.key += " . " + (*w)[i + 1];
      i += 2;
    }
    for (; i < w->size(); ++i) {
      const std::string& word = (*w)[i];
      const bool has_value = i + 1 < w->size();
      if (word == "timeout" && has_value) {
        e.timeout = parse_nft_duration((*w)[++i]);
      } else if (word == "expires" && has_value) {
        e.expires = parse_nft_duration((*w)[++i]);
      } else if (word == "comment" && has_value) {
        e.comment = (*w)[++i];
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace pbxwall::kernel
