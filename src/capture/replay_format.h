// How `pbxwall replay` prints: one line per decision (human or JSON), then a summary.
//
// JSON, one object per line:
//   {"t": 1790000001.234, "action": "block", "addr": "192.0.2.66", "user": "100" | null,
//    "rule": "fingerprint", "reason": "...", "until": 1790086401.234 | null}
//   plus "network": "2001:db8:3::/64" on a block of a whole network (rule address-rotation),
//   where "addr" is the address whose block completed it.
//   {"summary": {"pbx": ["203.0.113.1"], "pbx_detected": true, "first": t, "last": t,
//                "frames": n, "packets": n, "decode_errors": n, "malformed": n, "decisions": n,
//                "read_error": null | "...",
//                "sources": {"192.0.2.66": {"requests": n, "requests_before_block": n,
//                            "answered": n, "answered_before_block": n, "malformed": n,
//                            "blocks": n, "first_block": t | null,
//                            "state": "blocked|validated|flagged|none", "user": "..." | null}}}}
// Times are epoch seconds with microseconds. Before a block that never came, the
// *_before_block counts equal the totals.
#pragma once

#include <string>

#include "capture/replay.h"
#include "responsive/responsive.h"

namespace pbxwall::capture {

// "2026-11-25 10:00:01.234  BLOCK  203.0.113.5  rule=fingerprint  until 10:15:01  reason"
// (UTC; the until date is printed when it is another day).
std::string decision_text(const responsive::Decision& d, TimePoint t);
std::string decision_json(const responsive::Decision& d, TimePoint t);

// A table of sources and a line of totals, for people.
std::string summary_text(const ReplayReport& r);
std::string summary_json(const ReplayReport& r);

// "2026-11-25 10:00:01.234" in UTC.
std::string format_time(TimePoint t);

}  // namespace pbxwall::capture
