// The AMI parser over an arbitrary byte stream cut into arbitrary reads.
//
// Input: one byte n, then n (1..16) chunk-size bytes, then the stream. Reads take the sizes
// in turn; a size byte of 0 ends the connection there (end_of_stream) instead of reading.
// Invariants:
//  - the messages and counters do not depend on how the stream was cut: a second parser fed
//    each connection in one read gives the same result;
//  - the bounds hold: no message above kMaxFields fields, no key or value above kMaxLineBytes,
//    no empty key; counters.bytes is what was fed and counters.messages what came out;
//  - every message goes through interpret() without crashing, and an event of interest that
//    is malformed says why.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "ami/events.h"
#include "ami/message.h"

namespace ami = pbxwall::ami;

namespace {

[[noreturn]] void violated(const char*) { std::abort(); }

bool same(const std::vector<ami::Message>& a, const std::vector<ami::Message>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].fields.size() != b[i].fields.size()) return false;
    for (std::size_t f = 0; f < a[i].fields.size(); ++f)
      if (a[i].fields[f].key != b[i].fields[f].key || a[i].fields[f].value != b[i].fields[f].value) return false;
  }
  return true;
}

bool same(const ami::ParserCounters& a, const ami::ParserCounters& b) {
  return a.bytes == b.bytes && a.messages == b.messages && a.malformed_lines == b.malformed_lines &&
         a.oversized_lines == b.oversized_lines && a.truncated_messages == b.truncated_messages &&
         a.incomplete_messages == b.incomplete_messages && a.missing_banners == b.missing_banners;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t n = 1 + data[0] % 16;
  if (size < 1 + n) return 0;
  const std::uint8_t* sizes = data + 1;
  std::string_view stream(reinterpret_cast<const char*>(data + 1 + n), size - 1 - n);

  ami::Parser chunked, whole;
  std::vector<ami::Message> from_chunks, from_whole;
  std::string_view connection = stream;  // what `whole` still has to read of this connection
  std::size_t connection_start = 0, offset = 0;
  for (std::size_t i = 0; offset < stream.size(); ++i) {
    const std::uint8_t s = sizes[i % n];
    if (s == 0) {
      chunked.end_of_stream();
      whole.feed(connection.substr(0, offset - connection_start), from_whole);
      whole.end_of_stream();
      connection = stream.substr(offset);
      connection_start = offset;
      if (i > 64 * n) break;  // a sizes list of only zeros
      continue;
    }
    const std::size_t take = std::min<std::size_t>(s, stream.size() - offset);
    chunked.feed(stream.substr(offset, take), from_chunks);
    offset += take;
  }
  whole.feed(connection.substr(0, offset - connection_start), from_whole);
  chunked.end_of_stream();
  whole.end_of_stream();

  if (!same(from_chunks, from_whole)) violated("messages depend on how the stream was cut");
  if (!same(chunked.counters(), whole.counters())) violated("counters depend on how the stream was cut");
  if (chunked.counters().bytes != offset) violated("bytes counter is not what was fed");
  if (chunked.counters().messages != from_chunks.size()) violated("messages counter is not what came out");
  for (const auto& m : from_chunks) {
    if (m.fields.empty() || m.fields.size() > ami::Parser::kMaxFields) violated("message size out of bounds");
    for (const auto& f : m.fields) {
      if (f.key.empty()) violated("empty key");
      if (f.key.size() > ami::Parser::kMaxLineBytes || f.value.size() > ami::Parser::kMaxLineBytes)
        violated("field above the line limit");
    }
    const auto meaning = ami::interpret(m);
    if (meaning.event && !meaning.problem.empty()) violated("an event that is also a problem");
  }
  return 0;
}
