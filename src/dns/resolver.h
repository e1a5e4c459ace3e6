// The boundary to DNS: one question in, one answer out. The c-ares implementation asks real
// servers; tests use a fake that answers from a table. A lookup blocks for at most the
// resolver's own timeout, so the daemon runs lookups on a worker thread and hands the answers
// back to its event loop (see docs/pbx-integration.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/time.h"

namespace pbxwall::dns {

enum class QueryType : std::uint8_t { a, aaaa, srv };

struct Question {
  std::string name;  // lower case, no trailing dot
  QueryType type = QueryType::a;
  auto operator<=>(const Question&) const = default;
  bool operator==(const Question&) const = default;
};

struct SrvTarget {
  std::string target;  // lower case, no trailing dot; "." (service not offered) is dropped
  std::uint16_t port = 0;
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  bool operator==(const SrvTarget&) const = default;
};

enum class AnswerStatus : std::uint8_t {
  ok,        // the server answered; addresses/targets may be empty (NODATA)
  no_name,   // NXDOMAIN: the name does not exist
  failure,   // no usable answer (timeout, SERVFAIL, REFUSED, no server): says nothing about the name
};

struct Answer {
  AnswerStatus status = AnswerStatus::failure;
  std::vector<IpAddress> addresses;  // A / AAAA
  std::vector<SrvTarget> targets;    // SRV
  Duration ttl{0};                   // smallest TTL of the records (0: unknown)
  std::string error;                 // failure: why
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Blocks until the answer or the resolver's timeout. Safe to call from one thread at a time.
  virtual Answer lookup(const Question& question) = 0;
};

const char* to_string(QueryType type);
const char* to_string(AnswerStatus status);

}  // namespace pbxwall::dns
