// The Asterisk Manager Interface wire format: after a banner line ("Asterisk Call
// Manager/5.0.1"), messages of "Key: Value" lines, each message ended by an empty line, lines
// ended by CRLF. The parser takes bytes as they arrive (any split, one byte at a time if the
// socket says so) and never trusts them: lines and messages are bounded, malformed lines are
// counted and skipped, and a connection closed mid-message drops only that message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pbxwall::ami {

struct Field {
  std::string key;
  std::string value;
};

struct Message {
  std::vector<Field> fields;  // in wire order; keys may repeat (ChanVariable, Output)

  // The first value of a key, compared case-insensitively (Asterisk's own manager code does).
  std::optional<std::string_view> get(std::string_view key) const;
  std::string_view get_or(std::string_view key, std::string_view fallback = {}) const;
};

// Every anomaly has a name and a counter.
struct ParserCounters {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
  std::uint64_t malformed_lines = 0;     // no "Key:" (skipped)
  std::uint64_t oversized_lines = 0;     // longer than kMaxLineBytes (skipped)
  std::uint64_t truncated_messages = 0;  // more than kMaxFields fields (extra fields dropped)
  std::uint64_t incomplete_messages = 0; // connection closed before the empty line
  std::uint64_t missing_banners = 0;     // first line was not "Asterisk Call Manager/..."
};

class Parser {
 public:
  static constexpr std::size_t kMaxLineBytes = 8192;
  static constexpr std::size_t kMaxFields = 512;

  // Appends the messages completed by these bytes to out.
  void feed(std::string_view bytes, std::vector<Message>& out);
  // The connection ended: a partial message is dropped (and counted). The next feed() is a
  // new connection, which starts with a banner again.
  void end_of_stream();

  // "Asterisk Call Manager/5.0.1" once seen on this connection.
  const std::optional<std::string>& banner() const { return banner_; }
  const ParserCounters& counters() const { return counters_; }

 private:
  void line(std::string_view text, std::vector<Message>& out);

  enum class State { banner, fields };
  State state_ = State::banner;
  std::string partial_;
  bool skipping_long_line_ = false;
  Message current_;
  bool current_truncated_ = false;
  std::optional<std::string> banner_;
  ParserCounters counters_;
};

}  // namespace pbxwall::ami
