// StreamFramer: finds message boundaries on a byte stream (RFC 3261 section 18.3).
#include <cstring>

#include "sip/sip.h"
#include "sip/syntax.h"

namespace pbxwall::sip {

using namespace detail;

StreamFramer::StreamFramer(std::size_t max_header_bytes, std::size_t max_body_bytes)
    : max_header_bytes_(max_header_bytes), max_body_bytes_(max_body_bytes) {}

void StreamFramer::feed(std::string_view bytes) {
  if (broken_) return;
  if (consumed_ > 0) {  // drop what earlier messages used; they are invalidated by contract
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

void StreamFramer::feed(std::span<const std::uint8_t> bytes) {
  feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void StreamFramer::reset() {
  buffer_.clear();
  consumed_ = 0;
  scanned_ = 0;
  header_end_ = 0;
  broken_.reset();
}

namespace {

// Offset just past the empty line ending the header section ("\n\r\n" or "\n\n"), or npos.
std::size_t find_header_end(std::string_view s, std::size_t from) {
  std::size_t pos = from;
  while (pos < s.size()) {
    const void* hit = std::memchr(s.data() + pos, '\n', s.size() - pos);
    if (hit == nullptr) return std::string_view::npos;
    std::size_t nl = static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
    if (nl + 1 < s.size() && s[nl + 1] == '\n') return nl + 2;
    if (nl + 2 < s.size() && s[nl + 1] == '\r' && s[nl + 2] == '\n') return nl + 3;
    pos = nl + 1;
  }
  return std::string_view::npos;
}

// Content-Length of a complete header section: 0 when absent, nullopt when unusable.
std::optional<std::uint64_t> framing_length(std::string_view section, std::uint64_t max) {
  // Skip the start line: the cursor reads header lines only.
  std::size_t nl = section.find('\n');
  HeaderCursor cursor(section.substr(nl + 1));
  HeaderLine h;
  std::optional<std::uint64_t> length;
  while (cursor.next(&h) == HeaderCursor::Step::header) {
    if (header_id(h.name) != HeaderId::content_length) continue;
    auto v = parse_decimal(h.value, max);
    if (!v || (length && *length != *v)) return std::nullopt;
    length = v;
  }
  return length.value_or(0);
}

}  // namespace

std::optional<Result<Message, ParseError>> StreamFramer::next() {
  if (broken_) return Result<Message, ParseError>(fail(*broken_));
  // CRLF keep-alives between messages.
  while (consumed_ < buffer_.size() && (buffer_[consumed_] == '\r' || buffer_[consumed_] == '\n')) {
    ++consumed_;
    scanned_ = 0;
  }
  std::string_view pending(buffer_.data() + consumed_, buffer_.size() - consumed_);
  if (pending.empty()) return std::nullopt;

  // Resume the search a little before where it stopped: the terminator may straddle feeds.
  std::size_t header_end =
      header_end_ != 0 ? header_end_ : find_header_end(pending, scanned_ > 2 ? scanned_ - 2 : 0);
  if (header_end == std::string_view::npos) {
    scanned_ = pending.size();
    if (pending.size() > max_header_bytes_) {
      broken_ = ParseError{ParseError::invalid, Anomaly::header_section_too_large,
                           "no end of header section within the limit", consumed_};
      return Result<Message, ParseError>(fail(*broken_));
    }
    return std::nullopt;
  }
  if (header_end > max_header_bytes_) {
    broken_ = ParseError{ParseError::invalid, Anomaly::header_section_too_large,
                         "header section larger than the limit", consumed_};
    return Result<Message, ParseError>(fail(*broken_));
  }
  auto body = framing_length(pending.substr(0, header_end), max_body_bytes_);
  if (!body) {
    broken_ = ParseError{ParseError::invalid, Anomaly::bad_content_length,
                         "Content-Length unusable for framing (not a number, too large, or conflicting)",
                         consumed_};
    return Result<Message, ParseError>(fail(*broken_));
  }
  const std::size_t total = header_end + static_cast<std::size_t>(*body);
  if (pending.size() < total) {
    header_end_ = header_end;  // only the body is missing
    return std::nullopt;
  }
  consumed_ += total;
  scanned_ = 0;
  header_end_ = 0;
  return parse(pending.substr(0, total));
}

}  // namespace pbxwall::sip
