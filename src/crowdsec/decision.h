// CrowdSec's decisions as the Local API (LAPI) speaks them, and the translation to what a
// firewall can hold: `ban` decisions of scope Ip or Range become networks with a remaining
// duration. Pure: text in, values out; the caller gives the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/address.h"
#include "base/result.h"
#include "base/time.h"

namespace pbxwall::crowdsec {

// One element of the `new` or `deleted` arrays of GET /v1/decisions/stream.
struct LapiDecision {
  std::int64_t id = 0;
  std::string origin;    // "crowdsec", "cscli", "CAPI", "lists", "pbxwall", ...
  std::string scenario;  // e.g. "crowdsecurity/asterisk_bf", "pbxwall/fingerprint"
  std::string scope;     // "Ip", "Range", "Country", ... (compared case-insensitively)
  std::string type;      // "ban", "captcha", ...
  std::string value;     // address or CIDR for Ip/Range
  Duration duration{0};  // remaining, from the LAPI's point of view
  bool operator==(const LapiDecision&) const = default;
};

struct StreamDelta {
  std::vector<LapiDecision> added;    // "new"
  std::vector<LapiDecision> deleted;  // "deleted"
};

// Parses a stream answer ({"new": [...]|null, "deleted": [...]|null}). Elements that are not
// objects or lack a value are an error naming the element: a LAPI that sends them is broken.
Result<StreamDelta> parse_stream(std::string_view body);

// Go's time.Duration text ("4h", "3h59m58.123456s", "-2m", "150ms", "1.5h", "0s").
std::optional<Duration> parse_go_duration(std::string_view text);
// Whole seconds the way LAPI accepts them in a decision ("3600s"); at least "1s".
std::string go_duration_seconds(Duration d);

// A decision the firewall can apply: a network (a host is a /32 or /128) for `remaining`.
struct BanTarget {
  Cidr net;
  Duration remaining{0};
};

// Why a decision is not a ban target ("scope Country", "type captcha", "value ...").
Result<BanTarget> ban_target(const LapiDecision& d);

// "crowdsec:<origin>/<scenario>", how blocks from the LAPI are named in lists and events.
std::string origin_label(const LapiDecision& d);

// The filters cs-firewall-bouncer has, with its semantics: a decision passes when its origin
// is one of `origins` (empty: any), its scenario contains one of `scenarios_containing`
// (empty: any) and none of `scenarios_not_containing`.
struct DecisionFilter {
  std::vector<std::string> scenarios_containing;
  std::vector<std::string> scenarios_not_containing;
  std::vector<std::string> origins;
  bool operator==(const DecisionFilter&) const = default;

  bool accepts(const LapiDecision& d) const;
  // The same filters as query parameters of the stream ("&origins=a,b&..."), so the LAPI
  // does not send what would be dropped; empty when there is no filter.
  std::string query() const;
};

// Percent-encoding for a query parameter value.
std::string url_encode(std::string_view s);

}  // namespace pbxwall::crowdsec
