// `list blocked`: this server's blocks from the state store, then the sections of blocks that
// live elsewhere (the bans pulled from CrowdSec, each community blocklist), a page at a time.

#include <algorithm>
#include <map>
#include <tuple>

#include "daemon/firewall.h"
#include "daemon/time_json.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

// Where a block of this server came from, for listings and their filter: the administrator
// (and the API), the kernel (its flood meter, or a set element the database did not have),
// CrowdSec, or the responsive engine.
std::string block_origin(const store::BlockRecord& b) {
  if (b.rule == "manual") return "manual";
  if (b.rule == "kernel" || (b.rule == "flood" && b.reason.starts_with("flood (kernel safety net)"))) return "kernel";
  if (b.rule.starts_with("crowdsec")) return "crowdsec";
  return "engine";
}

constexpr std::int64_t kMaxListPage = 100'000;
// Without a `limit` (the web UI asks for every block at once), at most this many blocks of the
// other sections, and blocklist entries only when the filter asks for them; the rest is counted.
constexpr std::size_t kListedElsewhere = 10'000;

bool is_local_origin(const std::string& o) { return o == "local" || o == "manual" || o == "kernel" || o == "engine"; }

// Sections in listing order: CrowdSec first, then the blocklists by name.
bool section_before(const std::string& a, const std::string& b) {
  return std::make_tuple(a.starts_with("blocklist:"), a) < std::make_tuple(b.starts_with("blocklist:"), b);
}

}  // namespace

// Pages of the blocks: `limit` items after cursor `after` (block_listing.h), filtered by `addr`
// (an address or network: the blocks inside it), `rule` and `origin`. "next" is the `after` of
// the next page (null at the end).
json Firewall::list_blocked_json(const json& request) {
  for (const char* field : {"after", "addr", "rule", "origin"})
    if (request.contains(field) && !request[field].is_string())
      return {{"ok", false}, {"error", std::string(field) + ": expected a string"}};
  std::optional<std::size_t> limit;
  if (request.contains("limit")) {
    const auto& l = request["limit"];
    if (!l.is_number_integer() || l.get<std::int64_t>() < 1 || l.get<std::int64_t>() > kMaxListPage)
      return {{"ok", false}, {"error", "limit: expected a whole number from 1 to " + std::to_string(kMaxListPage)}};
    limit = static_cast<std::size_t>(l.get<std::int64_t>());
  }
  const std::string after_text = request.value("after", "");
  const auto cursor = parse_list_cursor(after_text);
  if (!cursor)
    return {{"ok", false}, {"error", "after: \"" + after_text + "\" names a section but no address or network after it"}};
  std::optional<Cidr> within;
  if (const std::string a = request.value("addr", ""); !a.empty()) {
    if (auto ip = IpAddress::parse(a)) within = Cidr(*ip, ip->bit_width());
    else if (auto net = Cidr::parse(a)) within = *net;
    else return {{"ok", false}, {"error", "addr: \"" + a + "\" is not an address or network"}};
  }
  const std::string rule = request.value("rule", "");
  const std::string origin = request.value("origin", "");
  if (!origin.empty() && !is_local_origin(origin) && origin != "crowdsec" && !origin.starts_with("crowdsec:") &&
      origin != "blocklist" && !origin.starts_with("blocklist:"))
    return {{"ok", false},
            {"error", "origin: expected local, manual, kernel, engine, crowdsec, crowdsec:<origin>/<scenario>, "
                      "blocklist or blocklist:<name>, got \"" + origin + "\""}};
  auto inside = [&](const Cidr& net) {
    return !within || (net.family() == within->family() && net.prefix() >= within->prefix() && within->contains(net.address()));
  };
  auto local_matches = [&](const store::BlockRecord& b) {
    if (!rule.empty() && b.rule != rule) return false;
    if (!origin.empty() && origin != "local" && block_origin(b) != origin) return false;
    if (within) {
      if (auto ip = IpAddress::parse(b.address)) return within->contains(*ip);
      auto net = Cidr::parse(b.address);
      return net && inside(*net);
    }
    return true;
  };
  auto section_wanted = [&](const BlockSection& s) {
    if (!rule.empty() && rule != s.rule) return false;
    return origin.empty() || origin == s.rule || origin == s.name || (s.rule == "crowdsec" && origin.starts_with("crowdsec:"));
  };
  auto section_matches = [&](const ListedBlock& b) {
    return inside(b.net) && (!origin.starts_with("crowdsec:") || b.origin.starts_with(origin));
  };

  const TimePoint now = edges_.clock.now();
  json items = json::array();
  std::optional<std::string> next;
  std::string last_cursor;
  // One matching block; false once the page is full (and the next page begins after the last).
  auto take = [&](auto make_item, std::string item_cursor) {
    if (limit && items.size() == *limit) {
      next = last_cursor;
      return false;
    }
    items.push_back(make_item());
    last_cursor = std::move(item_cursor);
    return true;
  };
  if (cursor->section.empty() && (origin.empty() || is_local_origin(origin) || origin == "crowdsec") &&
      rule != "blocklist") {
    writes_.each_active_block(now, cursor->local_after, [&](const store::BlockRecord& b) {
      if (!local_matches(b)) return true;
      return take(
          [&] {
            return json{{"addr", b.address}, {"rule", b.rule}, {"origin", block_origin(b)}, {"reason", b.reason},
                        {"since", time_json(b.since)}, {"until", time_json(b.until)}, {"times", b.times_blocked}};
          },
          b.address);
    });
  }
  std::vector<BlockSection> sections = block_sections_ ? block_sections_() : std::vector<BlockSection>{};
  std::sort(sections.begin(), sections.end(),
            [](const BlockSection& a, const BlockSection& b) { return section_before(a.name, b.name); });
  const bool lists_asked = rule == "blocklist" || origin.starts_with("blocklist");
  std::size_t listed_elsewhere = 0;
  std::map<std::string, std::uint64_t> not_listed;  // by section rule, without a limit
  for (const auto& s : sections) {
    if (next) break;
    if (!section_wanted(s)) continue;
    if (!cursor->section.empty() && section_before(s.name, cursor->section)) continue;
    const std::optional<Cidr> from = s.name == cursor->section ? cursor->after : std::nullopt;
    const bool listed = limit || s.rule != "blocklist" || lists_asked;
    s.walk(now, from, [&](const ListedBlock& b) {
      if (!section_matches(b)) return true;
      if (!limit) {
        if (!listed || listed_elsewhere == kListedElsewhere) {
          ++not_listed[s.rule];
          return true;
        }
        ++listed_elsewhere;
      }
      return take(
          [&] {
            return json{{"addr", b.net.str()}, {"rule", s.rule}, {"origin", b.origin}, {"reason", s.reason},
                        {"since", nullptr}, {"until", time_json(b.until)}, {"times", 1}};
          },
          list_cursor(s.name, b.net));
    });
  }
  json answer = {{"ok", true}, {"items", std::move(items)}, {"next", next ? json(*next) : json(nullptr)}};
  for (const auto& [section_rule, n] : not_listed) answer[section_rule + "_not_listed"] = n;
  return answer;
}

}  // namespace pbxwall::daemon
