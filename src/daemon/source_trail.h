// The last signalling of each recent source, for the web UI's timeline of a source: its
// requests (method, user, credentials, User-Agent), the PBX's answers (status and the request
// they answer) and what the packets the parsers refused said. Memory only and bounded: at most
// `sources` sources (the least recently heard of goes first) with at most `per_source` steps
// each (the first quarter stays, then the oldest of the rest goes first), so a flood of spoofed
// sources costs a fixed amount.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/address.h"
#include "base/time.h"
#include "responsive/responsive.h"

namespace pbxwall::daemon {

struct TrailStep {
  TimePoint t{};
  bool from_pbx = false;  // the PBX's answer (else a request to it, or a decision)
  std::string what;       // "REGISTER for 301 with credentials (Yealink SIP-T46S)", "401 to REGISTER"
  std::string action;     // a decision's ("block", "validate", ...); empty for packets
  std::string rule;       // a decision's rule
};

// One line for an observation, the text kept short (names cut at 40 characters).
std::string trail_text(const responsive::Observation& obs);

class SourceTrail {
 public:
  explicit SourceTrail(std::size_t sources = 1024, std::size_t per_source = 40);
  void record(const responsive::Observation& obs);
  // A decision about the address, between the packets that led to it (its reason in `what`).
  void record(const responsive::Decision& decision, TimePoint now);
  // The steps of one address, oldest first.
  std::vector<TrailStep> of(const IpAddress& addr) const;
  std::size_t size() const { return by_addr_.size(); }
  // {"ok", "addr", "steps": [{t, from_pbx, what, action?, rule?}], "kept": per_source}
  nlohmann::json json_of(const IpAddress& addr) const;

 private:
  struct Trail {
    IpAddress addr;
    std::vector<TrailStep> steps;  // the first per_source_ / 4 steps, then a ring of the latest
    std::size_t next = 0;          // where in the ring the next step goes once it is full
  };
  void add(const IpAddress& addr, TrailStep step);

  std::size_t sources_;
  std::size_t per_source_;
  std::list<Trail> recent_;  // most recently heard of first
  std::map<IpAddress, std::list<Trail>::iterator> by_addr_;
};

}  // namespace pbxwall::daemon
