#include "ami/message.h"

#include <algorithm>
#include <cctype>

namespace pbxwall::ami {
namespace {

constexpr std::string_view kBannerPrefix = "Asterisk Call Manager/";

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> Message::get(std::string_view key) const {
  for (const auto& f : fields)
    if (iequals(f.key, key)) return std::string_view(f.value);
  return std::nullopt;
}

std::string_view Message::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return v ? *v : fallback;
}

void Parser::feed(std::string_view bytes, std::vector<Message>& out) {
  counters_.bytes += bytes.size();
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto chunk = bytes.substr(0, nl);
    if (skipping_long_line_) {
      if (nl != std::string_view::npos) skipping_long_line_ = false;
    } else if (partial_.size() + chunk.size() > kMaxLineBytes) {
      ++counters_.oversized_lines;
      partial_.clear();
      skipping_long_line_ = nl == std::string_view::npos;
    } else if (nl == std::string_view::npos) {
      partial_.append(chunk);
    } else if (partial_.empty()) {
      line(chunk, out);  // the common case: a whole line inside this read, no copy
    } else {
      partial_.append(chunk);
      line(partial_, out);
      partial_.clear();
    }
    if (nl == std::string_view::npos) break;
    bytes.remove_prefix(nl + 1);
  }
}

void Parser::line(std::string_view text, std::vector<Message>& out) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (state_ == State::banner) {
    state_ = State::fields;
    if (text.substr(0, kBannerPrefix.size()) == kBannerPrefix) {
      banner_ = std::string(text);
      return;
    }
    ++counters_.missing_banners;  // read it as an ordinary line
  }
  if (trim(text).empty()) {
    if (!current_.fields.empty()) {
      ++counters_.messages;
      out.push_back(std::move(current_));
    }
    current_ = Message{};
    current_truncated_ = false;
    return;
  }
  const auto colon = text.find(':');
  const auto key = colon == std::string_view::npos ? std::string_view{} : trim(text.substr(0, colon));
  if (key.empty()) {
    ++counters_.malformed_lines;
    return;
  }
  if (current_.fields.size() >= kMaxFields) {
    if (!current_truncated_) ++counters_.truncated_messages;
    current_truncated_ = true;
    return;
  }
  current_.fields.push_back(Field{std::string(key), std::string(trim(text.substr(colon + 1)))});
}

void Parser::end_of_stream() {
  if (!current_.fields.empty() || !partial_.empty()) ++counters_.incomplete_messages;
  current_ = Message{};
  current_truncated_ = false;
  partial_.clear();
  skipping_long_line_ = false;
  state_ = State::banner;
  banner_.reset();
}

}  // namespace pbxwall::ami
