// libFuzzer target for the SIP parser: the input as one datagram, then as a TCP stream cut
// into pieces whose sizes come from the input's first bytes. Every view the parser returns
// must lie inside the bytes it was given; anything else aborts.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "sip/sip.h"

namespace {

using pbxwall::sip::Message;

void require_inside(std::string_view v, std::string_view buffer) {
  if (v.empty()) return;
  if (v.data() < buffer.data() || v.data() + v.size() > buffer.data() + buffer.size()) std::abort();
}

void check(const Message& m, std::string_view buffer, bool datagram = false) {
  for (std::string_view v :
       {m.method_token, m.request_uri.whole, m.request_uri.user, m.request_uri.host, m.reason_phrase, m.call_id,
        m.cseq_method_token, m.from.display, m.from.uri.whole, m.from.tag, m.to.uri.user, m.to.tag,
        m.top_via.protocol, m.top_via.host, m.top_via.branch, m.top_via.received, m.contact.uri.whole,
        m.contact.uri.host, m.user_agent, m.user_agent_last, m.server, m.authorization.username, m.authorization.realm,
        m.authorization.uri, m.proxy_authorization.username, m.www_authenticate.realm,
        m.proxy_authenticate.qop, m.body, m.raw, m.headers})
    require_inside(v, buffer);
  require_inside(m.raw, buffer);
  const bool cut = m.anomalies.has(pbxwall::sip::Anomaly::content_length_beyond_datagram);
  if (cut != (datagram && m.content_length && m.body.size() < *m.content_length)) std::abort();
  if (m.content_length && !cut && m.body.size() != *m.content_length) std::abort();
  if (m.via_count < 1) std::abort();
  // Lookups rescan the header section: they must stay inside it too.
  require_inside(m.header("User-Agent"), m.headers);
  for (std::string_view v : m.header_values("v")) require_inside(v, m.headers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto framed = pbxwall::sip::parse(input);
  if (framed.ok()) check(*framed, input);
  // The lenient datagram parse accepts all that parse() does, and more.
  auto datagram = pbxwall::sip::parse_datagram(input);
  if (framed.ok() && !datagram.ok()) std::abort();
  if (datagram.ok()) check(*datagram, input, true);

  // Stream: up to three leading bytes give piece sizes, the rest is the stream.
  std::size_t cuts = size > 0 ? data[0] % 4 : 0;
  if (size <= 1 + cuts) return 0;
  std::size_t pieces[4] = {};
  for (std::size_t i = 0; i < cuts; ++i) pieces[i] = data[1 + i];
  std::string_view stream = input.substr(1 + cuts);

  pbxwall::sip::StreamFramer framer(2048, 4096);
  std::size_t pos = 0;
  for (std::size_t i = 0; i <= cuts && pos < stream.size(); ++i) {
    std::size_t len = i < cuts ? pieces[i] : stream.size() - pos;
    if (len > stream.size() - pos) len = stream.size() - pos;
    framer.feed(stream.substr(pos, len));
    pos += len;
    for (int guard = 0; guard < 10000; ++guard) {
      auto next = framer.next();
      if (!next) break;
      if (next->ok()) check(**next, (*next)->raw);
      if (framer.broken()) break;
    }
  }
  return 0;
}
