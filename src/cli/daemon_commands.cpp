// `pbxwall block | unblock | events` and the daemon's listings (`list blocked|validated|flagged`):
// requests to pbxwalld over its control socket.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <ctime>
#include <cstring>
#include <deque>
#include <fstream>
#include <limits>
#include <ostream>

#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>

#include "base/address.h"
#include "base/plural.h"
#include "cli/commands.h"
#include "cli/control_client.h"
#include "cli/daemon_link.h"
#include "cli/firewall.h"
#include "daemon/trunk_status.h"
#include "store/store.h"

namespace pbxwall::cli {
namespace {

using nlohmann::json;

// A field of an answer as text, whatever its type: a daemon of another version (or not a
// daemon at all) must give odd output, not an exception.
std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) return "-";
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>().empty() ? "-" : it->get<std::string>();
  return it->dump();
}

// "1 block", "4 blocks" from a number field of an answer; the field as text otherwise.
std::string counted_of(const json& object, const char* key, std::string_view singular, std::string_view plural = {}) {
  if (object.is_object() && object.contains(key) && object[key].is_number_integer())
    return counted(object[key].get<std::int64_t>(), singular, plural);
  return text_of(object, key) + " " + (plural.empty() ? std::string(singular) + "s" : std::string(plural));
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

// The "items" list of an answer; nullopt (and the error printed) when the answer has none.
const json* items_of(Context& ctx, const json& answer) {
  const auto it = answer.find("items");
  if (it == answer.end() || !it->is_array()) {
    ctx.fail("pbxwalld's answer has no \"items\" list: ", answer.dump());
    return nullptr;
  }
  return &*it;
}

std::vector<IpAddress> interface_addresses() {
  std::vector<IpAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      out.push_back(IpAddress::v4_bytes(reinterpret_cast<const std::uint8_t*>(&a->sin_addr)));
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      out.push_back(IpAddress::v6_bytes(reinterpret_cast<const std::uint8_t*>(&a->sin6_addr)));
    }
  }
  ::freeifaddrs(list);
  return out;
}

// Why `addr` must not be blocked (it is no remote host, or it is this machine: one of `own`,
// the interfaces' addresses), or empty.
std::string not_blockable(const IpAddress& addr, const std::vector<IpAddress>& own) {
  static const Cidr loopback4 = *Cidr::parse("127.0.0.0/8"), multicast4 = *Cidr::parse("224.0.0.0/4"),
                    multicast6 = *Cidr::parse("ff00::/8"), mapped4 = *Cidr::parse("::ffff:0.0.0.0/96");
  static const IpAddress unspecified4 = *IpAddress::parse("0.0.0.0"), unspecified6 = *IpAddress::parse("::"),
                         loopback6 = *IpAddress::parse("::1"), broadcast = *IpAddress::parse("255.255.255.255");
  if (addr == unspecified4 || addr == unspecified6) return "the unspecified address stands for no host";
  if (loopback4.contains(addr) || addr == loopback6) return "a loopback address is this machine itself";
  if (multicast4.contains(addr) || multicast6.contains(addr)) return "a multicast address is a group, not a host";
  if (addr == broadcast) return "the broadcast address is every host of the link";
  if (mapped4.contains(addr)) return "write an IPv4-mapped address as IPv4";
  if (std::find(own.begin(), own.end(), addr) != own.end()) return "it is an address of this machine's interfaces";
  return {};
}

// An address or network `block` may take, as text ("192.0.2.7", "192.0.2.0/24"); nullopt
// with `why` set when it is no address or network, or must not be blocked.
std::optional<std::string> block_target(const std::string& text, const std::vector<IpAddress>& own,
                                        const std::optional<model::Session>& session, std::string& why) {
  auto host = [&](const IpAddress& addr) -> std::optional<std::string> {
    if (const std::string no = not_blockable(addr, own); !no.empty()) {
      why = addr.str() + " cannot be blocked: " + no;
      return std::nullopt;
    }
    return addr.str();
  };
  if (auto addr = IpAddress::parse(text)) return host(*addr);
  auto net = Cidr::parse(text);
  if (!net) {
    why = address_error(text);
    return std::nullopt;
  }
  if (net->is_host()) return host(net->address());
  const auto mine = std::find_if(own.begin(), own.end(), [&](const IpAddress& a) { return net->contains(a); });
  if (mine != own.end()) why = net->str() + " cannot be blocked: it holds " + mine->str() + ", an address of this machine";
  else if (session && net->contains(session->client))
    why = net->str() + " cannot be blocked: it holds " + session->client.str() + ", the client of your " + session->kind;
  else if (net->prefix() < (net->family() == Family::v4 ? 8 : 16))
    why = net->str() + " cannot be blocked: a network shorter than /" + (net->family() == Family::v4 ? "8" : "16") +
          " is a large part of the Internet";
  else return net->str();
  return std::nullopt;
}

void run_block(Context& ctx, const std::string& addr_text, const std::string& duration_text, const std::string& reason) {
  std::string why;
  const auto own = ctx.local_addresses ? ctx.local_addresses() : interface_addresses();
  const auto target = block_target(addr_text, own, admin_session(ctx), why);
  if (!target) {
    ctx.e() << "pbxwall: ADDR: " << why << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  json request = {{"cmd", "block"}, {"addr", *target}};
  if (!duration_text.empty()) {
    const auto duration = parse_duration(duration_text);
    if (!duration) {
      ctx.e() << "pbxwall: --for: \"" << duration_text
              << "\" is not a duration (a positive number with a unit: 90s, 30m, 2h, 7d, 2w, 1h30m)\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    request["seconds"] = duration->count();
  }
  if (!reason.empty()) request["reason"] = reason;
  auto answer = daemon_request(ctx, request);
  if (!answer) return;
  ctx.o() << *target << " blocked until " << utc_time_text(answer->value("until", json())) << " UTC\n";
  if (answer->contains("warning") && (*answer)["warning"].is_string())
    ctx.e() << "pbxwall: warning: " << (*answer)["warning"].get<std::string>() << "\n";
}

// `block --file LIST`: one address or network a line, `#` starts a comment. Every line is
// checked first (errors as FILE:LINE, nothing sent if one is wrong), then the list goes to
// pbxwalld in batches, each one kernel transaction.
void run_block_file(Context& ctx, const std::string& path, const std::string& duration_text, const std::string& reason) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.e() << "pbxwall: --file: cannot read " << path << ": " << std::strerror(errno) << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  json base = {{"cmd", "block_list"}};
  if (!duration_text.empty()) {
    const auto duration = parse_duration(duration_text);
    if (!duration) {
      ctx.e() << "pbxwall: --for: \"" << duration_text
              << "\" is not a duration (a positive number with a unit: 90s, 30m, 2h, 7d, 2w, 1h30m)\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    base["seconds"] = duration->count();
  }
  if (!reason.empty()) base["reason"] = reason;
  const auto own = ctx.local_addresses ? ctx.local_addresses() : interface_addresses();
  const auto session = admin_session(ctx);
  std::vector<std::string> targets;
  std::size_t errors = 0;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    const std::string text = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    auto say = [&](const std::string& why) {
      if (++errors <= 20) ctx.e() << path << ":" << number << ": " << why << "\n";
    };
    std::string why;
    if (auto target = block_target(text, own, session, why)) targets.push_back(*target);
    else say(why);
  }
  if (in.bad()) {
    ctx.e() << "pbxwall: --file: error reading " << path << "\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  if (errors > 0) {
    if (errors > 20) ctx.e() << path << ": " << errors - 20 << " more errors\n";
    ctx.e() << "pbxwall: --file: " << counted(static_cast<std::int64_t>(errors), "line") << " refused, nothing blocked\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  // A batch is one request (within the control socket's 1 MiB) and one kernel transaction.
  constexpr std::size_t kBatch = 5'000;
  std::int64_t blocked = 0, trusted = 0, refused = 0;
  for (std::size_t at = 0; at < targets.size(); at += kBatch) {
    json request = base;
    const auto end = std::min(targets.size(), at + kBatch);
    request["items"] = std::vector<std::string>(targets.begin() + static_cast<std::ptrdiff_t>(at),
                                                targets.begin() + static_cast<std::ptrdiff_t>(end));
    auto answer = daemon_request(ctx, request);
    if (!answer) {
      if (at > 0) ctx.e() << "pbxwall: the first " << at << " lines of " << path << " were blocked before this\n";
      return;
    }
    blocked += answer->value("blocked", std::int64_t{0});
    trusted += answer->value("trusted", std::int64_t{0});
    refused += answer->value("refused", std::int64_t{0});
    if (answer->contains("warning") && (*answer)["warning"].is_string())
      ctx.e() << "pbxwall: warning: " << (*answer)["warning"].get<std::string>() << "\n";
  }
  ctx.o() << counted(blocked, "address or network", "addresses or networks") << " of " << path << " blocked";
  if (trusted > 0) ctx.o() << ", " << trusted << " trusted (never blocked)";
  if (refused > 0) ctx.o() << ", " << refused << " refused at the ceiling ([responsive] max_blocked)";
  ctx.o() << "\n";
  if (refused > 0) ctx.exit_status = kExitFailure;
}

void run_unblock(Context& ctx, const std::string& addr_text, bool all, const std::string& rule) {
  if (all) {
    json request = {{"cmd", "unblock"}, {"all", true}};
    if (!rule.empty()) request["rule"] = rule;
    auto answer = daemon_request(ctx, request);
    if (!answer) return;
    ctx.o() << counted(answer->value("unblocked", std::int64_t{0}), "block") << " lifted"
            << (rule.empty() ? "" : " (rule " + rule + ")") << "\n";
    return;
  }
  std::string key;
  if (auto addr = IpAddress::parse(addr_text)) {
    key = addr->str();
  } else {
    auto net = Cidr::parse(addr_text);
    if (!net) {
      ctx.e() << "pbxwall: ADDR: " << address_error(addr_text) << "\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    key = net->is_host() ? net->address().str() : net->str();
  }
  auto answer = daemon_request(ctx, {{"cmd", "unblock"}, {"addr", key}});
  if (!answer) return;
  const auto was = answer->find("was_blocked");
  const bool was_blocked = was == answer->end() || !was->is_boolean() || was->get<bool>();
  ctx.o() << key << (was_blocked ? " unblocked\n" : " was not blocked\n");
}

// The columns of `events`: each as wide as its longest value among the rows shown, at least
// its minimum (wider with --follow, so that the rows it adds mostly fit), at most its maximum; a
// longer value is cut with an ellipsis (--json has every value whole). The reason, last, is
// never cut.
struct EventColumn {
  const char* title;
  const char* field;
  std::size_t min, follow_min, max;
};
constexpr EventColumn kEventColumns[] = {{"ACTION", "action", 8, 8, 12},
                                         {"ADDRESS", "addr", 15, 15, 39},
                                         {"USER", "user", 4, 8, 20},
                                         {"RULE", "rule", 6, 16, 20}};
constexpr std::size_t kTimeWidth = 19;  // "2026-01-02 03:04:05"

// Characters as the terminal shows them: UTF-8 continuation bytes take no column.
std::size_t display_width(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// `s` in exactly `width` columns: padded, or cut with an ellipsis.
std::string fit(const std::string& s, std::size_t width) {
  const std::size_t w = display_width(s);
  if (w <= width) return s + std::string(width - w, ' ');
  std::size_t cut = 0;
  for (std::size_t columns = 0; cut < s.size(); ++cut) {
    if ((s[cut] & 0xC0) != 0x80 && columns++ == width - 1) break;
  }
  return s.substr(0, cut) + "\u2026";
}

struct EventLayout {
  std::size_t widths[std::size(kEventColumns)];
};

EventLayout event_layout(const std::deque<json>& rows, bool follow) {
  EventLayout layout{};
  for (std::size_t c = 0; c < std::size(kEventColumns); ++c) {
    std::size_t w = std::max(follow ? kEventColumns[c].follow_min : kEventColumns[c].min,
                             display_width(kEventColumns[c].title));
    for (const auto& e : rows) w = std::max(w, display_width(text_of(e, kEventColumns[c].field)));
    layout.widths[c] = std::min(w, kEventColumns[c].max);
  }
  return layout;
}

void print_event_header(Context& ctx, const EventLayout& layout) {
  ctx.o() << fit("TIME (UTC)", kTimeWidth);
  for (std::size_t c = 0; c < std::size(kEventColumns); ++c) ctx.o() << "  " << fit(kEventColumns[c].title, layout.widths[c]);
  ctx.o() << "  REASON\n";
}

void print_event(Context& ctx, const json& e, const EventLayout& layout) {
  if (ctx.json) {
    ctx.o() << e.dump() << "\n";
    return;
  }
  ctx.o() << fit(utc_time_text(e.is_object() ? e.value("t", json()) : json()), kTimeWidth);
  for (std::size_t c = 0; c < std::size(kEventColumns); ++c)
    ctx.o() << "  " << fit(text_of(e, kEventColumns[c].field), layout.widths[c]);
  ctx.o() << "  " << text_of(e, "reason") << "\n";
}

std::int64_t id_of(const json& e) {
  const auto it = e.is_object() ? e.find("id") : e.end();
  return it != e.end() && it->is_number_integer() ? it->get<std::int64_t>() : -1;
}

// Prints the latest `limit` events (of `addr`, an address or network, when given), then with
// `follow` every new one until the daemon goes.
void run_events(Context& ctx, std::int64_t limit, bool follow, const std::string& addr) {
  // --follow --limit 0: only the events from now on.
  if (limit < 0 || (limit == 0 && !follow)) {
    ctx.e() << "pbxwall: --limit: expected a positive number (0 only with --follow: the new events only)\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  json filter = nullptr;
  if (!addr.empty()) {
    if (auto ip = IpAddress::parse(addr)) {
      filter = ip->str();
    } else if (auto net = Cidr::parse(addr)) {
      filter = net->str();
    } else {
      ctx.e() << "pbxwall: --addr: " << address_error(addr) << "\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
  }
  // The daemon pages forwards from an id: walk to the end, keeping the last `limit`.
  constexpr std::int64_t kPage = 10'000;
  constexpr int kMaxPages = 10'000;
  std::deque<json> latest;
  std::int64_t after = 0;
  for (int page = 0;; ++page) {
    if (page == kMaxPages) {
      ctx.fail("pbxwalld keeps sending events; stopped after ", kMaxPages, " pages");
      return;
    }
    json request = {{"cmd", "events"}, {"after_id", after}, {"limit", kPage}};
    if (!filter.is_null()) request["addr"] = filter;
    auto answer = daemon_request(ctx, request);
    if (!answer) return;
    const json* items = items_of(ctx, *answer);
    if (items == nullptr) return;
    for (const auto& e : *items) {
      const std::int64_t id = id_of(e);
      if (id <= after) {
        ctx.fail("pbxwalld sent an event without a new \"id\": ", e.dump());
        return;
      }
      after = id;
      latest.push_back(e);
      if (static_cast<std::int64_t>(latest.size()) > limit) latest.pop_front();
    }
    // A filtered page says where the daemon stopped reading and whether more follows.
    const auto more = answer->find("more");
    if (const auto last = answer->find("last_id"); last != answer->end() && last->is_number_integer())
      after = std::max(after, last->get<std::int64_t>());
    if (more != answer->end() && more->is_boolean() ? !more->get<bool>()
                                                    : static_cast<std::int64_t>(items->size()) < kPage)
      break;
  }
  const EventLayout layout = event_layout(latest, follow);
  if (!ctx.json) print_event_header(ctx, layout);
  for (const auto& e : latest) print_event(ctx, e, layout);
  if (!follow) return;
  ctx.o().flush();

  auto connection = ControlConnection::open(control_socket_path(ctx.run_dir), ctx.control_timeout);
  if (!connection) {
    ctx.fail(connection.error().message);
    return;
  }
  json follow_request = {{"cmd", "events"}, {"after_id", after}, {"limit", kPage}, {"follow", true}};
  if (!filter.is_null()) follow_request["addr"] = filter;
  auto answer = connection->call(follow_request, ctx.control_timeout);
  if (!answer || !answer->value("ok", false)) {
    ctx.e() << "pbxwall: cannot follow events: "
            << (answer ? text_of(*answer, "error") : answer.error().message) << "\n";
    ctx.exit_status = kExitFailure;
    return;
  }
  const json* items = items_of(ctx, *answer);
  if (items == nullptr) return;
  // Events published between the listing and the follow request come in this answer; a
  // follower may also receive them again as lines: ids tell.
  auto show = [&](const json& e) {
    const std::int64_t id = id_of(e);
    if (id >= 0 && id <= after) return;
    if (id > after) after = id;
    print_event(ctx, e, layout);
    ctx.o().flush();
  };
  for (const auto& e : *items) show(e);
  for (;;) {
    auto line = connection->read_object(std::chrono::milliseconds(0));
    if (!line) {
      ctx.fail(line.error().message);
      return;
    }
    show(*line);
  }
}

json epoch_seconds(TimePoint t) { return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(); }

// The daemon's listing as it last wrote it, from its state database opened read-only.
std::optional<json> stored_listing(Context& ctx, const std::string& what) {
  auto store = store::StateStore::open_read_only(ctx.state_path);
  if (!store) {
    ctx.fail(not_running_message(ctx, "no control socket"), " and its state database cannot be read: ", store.error());
    return std::nullopt;
  }
  ctx.e() << "pbxwall: pbxwalld is not running: listing " << ctx.state_path << " as it last wrote it (read-only)\n";
  const TimePoint now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  json items = json::array();
  auto failed = [&](const std::string& error) {
    ctx.fail(ctx.state_path, ": ", error);
    return std::nullopt;
  };
  if (what == "blocked") {
    auto blocks = (*store)->active_blocks(now);
    if (!blocks) return failed(blocks.error());
    for (const auto& b : *blocks)
      items.push_back({{"addr", b.address}, {"rule", b.rule}, {"reason", b.reason}, {"since", epoch_seconds(b.since)},
                       {"until", epoch_seconds(b.until)}, {"times", b.times_blocked}});
  } else if (what == "validated") {
    auto valid = (*store)->active_validated(now);
    if (!valid) return failed(valid.error());
    for (const auto& v : *valid) items.push_back({{"addr", v.address}, {"user", v.user}, {"until", epoch_seconds(v.until)}});
  } else {
    auto flags = (*store)->flags();
    if (!flags) return failed(flags.error());
    for (const auto& f : *flags)
      items.push_back({{"addr", f.address}, {"user", f.user}, {"reason", f.reason}, {"first_seen", epoch_seconds(f.first_seen)},
                       {"last_seen", epoch_seconds(f.last_seen)}, {"count", f.count}});
  }
  return json{{"ok", true}, {"items", items}};
}

}  // namespace

bool is_daemon_listing(std::string_view word) {
  return word == "blocked" || word == "validated" || word == "flagged";
}

namespace {

// ORIGIN: this server's rule, "crowdsec:<origin>/<scenario>" for a ban shared by the fleet, or
// "blocklist:<name>" for an entry of a community blocklist.
void print_blocked_header(Context& ctx) {
  ctx.o() << pad("ADDRESS", 16) << pad("UNTIL (UTC)", 21) << pad("TIMES", 6) << pad("ORIGIN", 14) << "REASON\n";
}

void print_blocked_item(Context& ctx, const json& i) {
  const std::string rule = text_of(i, "rule");
  const bool elsewhere = rule == "crowdsec" || rule == "blocklist";
  ctx.o() << pad(text_of(i, "addr"), 16) << pad(utc_time_text(i.is_object() ? i.value("until", json()) : json()), 21)
          << pad(text_of(i, "times"), 6) << pad(elsewhere ? text_of(i, "origin") : rule, 14) << text_of(i, "reason") << "\n";
}

void print_not_listed(Context& ctx, const json& answer) {
  if (answer.contains("crowdsec_not_listed"))
    ctx.o() << "(and " << answer["crowdsec_not_listed"].dump() << " more bans shared by the fleet, not listed)\n";
  if (answer.contains("blocklist_not_listed"))
    ctx.o() << "(and " << answer["blocklist_not_listed"].dump() << " blocklist entries, not listed)\n";
}

// `list blocked` from pbxwalld, a page at a time: neither side holds the whole list in one
// message, and the first lines come at once.
void run_blocked_pages(Context& ctx, const BlockedFilter& filter) {
  constexpr std::int64_t kPage = 1000;
  json request = {{"cmd", "list"}, {"what", "blocked"}};
  if (!filter.addr.empty()) request["addr"] = filter.addr;
  if (!filter.rule.empty()) request["rule"] = filter.rule;
  if (!filter.origin.empty()) request["origin"] = filter.origin;
  std::string after = filter.after;
  std::int64_t shown = 0;
  json all = json::array();
  for (;;) {
    const std::int64_t want = filter.limit ? std::min(kPage, *filter.limit - shown) : kPage;
    request["limit"] = want;
    request["after"] = after;
    auto answer = daemon_request(ctx, request);
    if (!answer) return;
    const json* items = items_of(ctx, *answer);
    if (items == nullptr) return;
    if (!ctx.json && shown == 0 && !items->empty()) print_blocked_header(ctx);
    for (const auto& i : *items) {
      if (ctx.json) all.push_back(i);
      else print_blocked_item(ctx, i);
    }
    if (!ctx.json) print_not_listed(ctx, *answer);
    shown += static_cast<std::int64_t>(items->size());
    const auto next = answer->find("next");
    if (next == answer->end() || !next->is_string()) break;  // the last page
    if (next->get<std::string>() == after || items->empty()) {
      ctx.fail("pbxwalld's page ends where it began (\"next\": ", next->dump(), ")");
      return;
    }
    after = next->get<std::string>();
    if (filter.limit && shown >= *filter.limit) {
      ctx.e() << "pbxwall: more blocked hosts follow: --after " << after << "\n";
      break;
    }
  }
  if (ctx.json) ctx.o() << all.dump(2) << "\n";
  else if (shown == 0) ctx.o() << "no blocked hosts\n";
}

}  // namespace

void run_daemon_list(Context& ctx, const std::string& what, const BlockedFilter& filter) {
  if (filter.any() && what != "blocked") {
    ctx.e() << "pbxwall: --limit, --after, --addr, --rule and --origin are for `list blocked`\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  if (filter.limit && *filter.limit < 1) {
    ctx.e() << "pbxwall: --limit: expected a positive number\n";
    ctx.exit_status = kExitInvalid;
    return;
  }
  std::optional<json> answer;
  if (!daemon_running(ctx) && std::filesystem::exists(ctx.state_path)) {
    if (filter.any()) {
      ctx.fail(not_running_message(ctx, "no control socket"), "; --limit, --after, --addr, --rule and --origin need it");
      return;
    }
    answer = stored_listing(ctx, what);
  } else if (what == "blocked") {
    run_blocked_pages(ctx, filter);
    return;
  } else {
    answer = daemon_request(ctx, {{"cmd", "list"}, {"what", what}});
  }
  if (!answer) return;
  const json* items = items_of(ctx, *answer);
  if (items == nullptr) return;
  if (ctx.json) {
    ctx.o() << items->dump(2) << "\n";
    return;
  }
  if (items->empty()) {
    ctx.o() << "no " << what << " hosts\n";
    return;
  }
  if (what == "blocked") {
    print_blocked_header(ctx);
    for (const auto& i : *items) print_blocked_item(ctx, i);
    print_not_listed(ctx, *answer);
  } else if (what == "validated") {
    ctx.o() << pad("ADDRESS", 16) << pad("USER", 12) << "UNTIL (UTC)\n";
    for (const auto& i : *items)
      ctx.o() << pad(text_of(i, "addr"), 16) << pad(text_of(i, "user"), 12)
              << utc_time_text(i.is_object() ? i.value("until", json()) : json()) << "\n";
  } else {
    ctx.o() << pad("ADDRESS", 16) << pad("USER", 12) << pad("COUNT", 6) << pad("LAST SEEN (UTC)", 21) << "REASON\n";
    for (const auto& i : *items)
      ctx.o() << pad(text_of(i, "addr"), 16) << pad(text_of(i, "user"), 12) << pad(text_of(i, "count"), 6)
              << pad(utc_time_text(i.is_object() ? i.value("last_seen", json()) : json()), 21) << text_of(i, "reason")
              << "\n";
  }
}

// The state database's line: only when something is wrong or was repaired at start.
static void print_state_status(Context& ctx, const json& st) {
  if (!st.is_object()) return;
  if (st.value("ok", true) == false)
    ctx.o() << "  state database: NOT SAVING: " << counted_of(st, "unsaved", "change")
            << (st.value("unsaved", 0) == 1 ? " waits in memory and is retried (" : " wait in memory and are retried (")
            << st.value("error", std::string()) << ")"
            << (st.value("dropped", 0) > 0 ? "; " + text_of(st, "dropped") + " dropped" : std::string()) << "\n";
  if (st.contains("set_aside") && st["set_aside"].is_object())
    ctx.o() << "  state database: was damaged at start (" << st["set_aside"].value("why", std::string()) << "), moved to "
            << st["set_aside"].value("path", std::string()) << "\n";
  if (st.value("recovered_blocks", 0) > 0 || st.value("recovered_validated", 0) > 0)
    ctx.o() << "  state database: " << counted_of(st, "recovered_blocks", "block") << " and "
            << counted_of(st, "recovered_validated", "validation") << " read back from the kernel sets at start\n";
}

void print_daemon_status(Context& ctx, const json& s) {
  ctx.o() << "pbxwalld: running";
  if (s.contains("table") && s["table"] == false) {
    const auto stopped = s.find("table_stopped");
    if (stopped == s.end() || *stopped != false) ctx.o() << ", table removed by `pbxwall stop` (`pbxwall start` puts it back)";
    else ctx.o() << ", table inet pbxwall missing from the kernel (pbxwalld is restoring it)";
  }
  ctx.o() << "\n  hosts: blocked " << text_of(s, "blocked") << ", validated " << text_of(s, "validated") << ", flagged "
          << text_of(s, "flagged") << "\n  packets inspected: " << text_of(s, "packets_in") << " to the PBX, "
          << text_of(s, "packets_out") << " from it\n";
  if (const auto path = s.find("packet_path"); path != s.end() && path->is_string()) {
    const std::string name = path->get<std::string>();
    ctx.o() << "  packet path: " << name << (name == "log" ? " (observe mode)" : " (inline verdicts)");
    if (const auto why = s.find("packet_path_why"); why != s.end() && why->is_string()) ctx.o() << ": " << why->get<std::string>();
    ctx.o() << "\n";
    if (const auto how = s.find("packet_path_inline_drops"); how != s.end() && how->is_string())
      ctx.o() << "  for inline drops: " << how->get<std::string>() << "\n";
  }
  auto number = [&](const char* key) { return s.contains(key) && s[key].is_number() ? s[key].get<double>() : 0.0; };
  if (number("blocks_refused") > 0)
    ctx.o() << "  WARNING: " << counted_of(s, "blocks_refused", "new block") << " refused at the ceiling of "
            << text_of(s, "max_blocked") << " blocks ([responsive] max_blocked); " << text_of(s, "blocks_held")
            << " held now\n";
  if (number("table_restores") + number("table_restore_failures") + number("elements_readded") + number("set_updates_owed") > 0) {
    ctx.o() << "  healed: table restored " << counted_of(s, "table_restores", "time") << " (refused "
            << text_of(s, "table_restore_failures") << "), " << counted_of(s, "elements_readded", "element") << " re-added";
    if (number("set_updates_owed") > 0)
      ctx.o() << "; " << text_of(s, "set_updates_owed") << " set changes refused by the kernel, retried every second ("
              << text_of(s, "set_update_error") << ")";
    ctx.o() << "\n";
    if (s.contains("last_heal") && s["last_heal"].is_string()) ctx.o() << "  last heal: " << text_of(s, "last_heal") << "\n";
  }
  const auto decisions = s.find("decisions");
  if (decisions != s.end() && decisions->is_object()) {
    std::string line;
    for (const auto& [rule, count] : decisions->items())
      if (!(count.is_number() && count == 0)) line += (line.empty() ? "" : ", ") + rule + " " + count.dump();
    ctx.o() << "  decisions by rule: " << (line.empty() ? "none yet" : line) << "\n";
  }
  print_state_status(ctx, s.value("state", json()));
  const auto ami = s.find("ami");
  if (ami != s.end() && ami->is_object()) {
    const std::string state = ami->value("state", "");
    const std::string where = ami->value("username", "") + "@" + ami->value("endpoint", "");
    if (state == "disabled") {
      ctx.o() << "  AMI: off ([ami] enabled = false)\n";
    } else if (state == "ready") {
      ctx.o() << "  AMI: logged in as " << where << ", " << counted_of(*ami, "events", "event") << ", "
              << counted_of(*ami, "validations", "registration") << " learnt, " << counted_of(*ami, "forgets", "removal")
              << "\n";
    } else {
      ctx.o() << "  AMI: NOT logged in as " << where << " (" << state << ")";
      if (ami->contains("problem")) ctx.o() << ": " << ami->value("problem", "");
      if (ami->value("login_failures", 0) > 0 && ami->value("logins", 0) == 0)
        ctx.o() << " — check [ami] username and secret against Asterisk's manager.conf";
      ctx.o() << "\n";
    }
  }
  // Each trunk host: what it resolves to, or why its traffic is not trusted.
  const auto trunks = s.find("trunks");
  if (trunks != s.end() && trunks->is_array())
    for (const auto& t : *trunks)
      if (t.is_object()) ctx.o() << "  " << daemon::trunk_status_line(t) << "\n";
  const auto cs = s.find("crowdsec");
  if (cs != s.end() && cs->is_object()) {
    ctx.o() << "  crowdsec: " << text_of(*cs, "url") << " link " << text_of(*cs, "link") << ", last pull "
            << utc_time_text(cs->value("last_pull", json())) << ", bans held " << text_of(*cs, "blocks") << ", spared "
            << text_of(*cs, "spared") << ", push queue " << text_of(*cs, "queue") << ", pushed " << text_of(*cs, "pushed")
            << "\n";
    const auto by = cs->find("applied_by_origin");
    if (by != cs->end() && by->is_object() && !by->empty()) {
      std::string line;
      for (const auto& [origin, count] : by->items()) line += (line.empty() ? "" : ", ") + origin + " " + count.dump();
      ctx.o() << "  crowdsec decisions applied by origin: " << line << "\n";
    }
    if (const auto err = text_of(*cs, "last_error"); !err.empty() && err != "-") ctx.o() << "  crowdsec: " << err << "\n";
  }
  const auto lists = s.find("blocklists");
  if (lists != s.end() && lists->is_array())
    for (const auto& l : *lists) {
      if (!l.is_object()) continue;
      const auto n = [&](const char* key) { return l.value(key, std::int64_t{0}); };
      ctx.o() << "  blocklist " << text_of(l, "name") << ": " << counted(n("entries"), "entry", "entries") << " from "
              << text_of(l, "from") << ", last read " << utc_time_text(l.value("last_ok", json()));
      if (n("skipped") > 0) ctx.o() << ", " << counted(n("skipped"), "line") << " skipped";
      if (n("spared") > 0) ctx.o() << ", " << n("spared") << " left open (trusted, trunk or validated)";
      if (const auto err = text_of(l, "last_error"); !err.empty() && err != "-")
        ctx.o() << "; the last read failed: " << err;
      ctx.o() << "\n";
    }
}

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::int64_t number = 0;
    const auto [end, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), number);
    if (ec != std::errc() || number <= 0 || end == text.data() + text.size()) return std::nullopt;
    std::int64_t unit = 0;
    switch (*end) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      default: return std::nullopt;
    }
    // Ten years is longer than any block needs; beyond it the number is a typo.
    constexpr std::int64_t kLongest = 10LL * 366 * 86400;
    if (number > kLongest / unit || total + number * unit > kLongest) return std::nullopt;
    total += number * unit;
    pos = static_cast<std::size_t>(end - text.data()) + 1;
  }
  if (total <= 0) return std::nullopt;
  return std::chrono::seconds(total);
}

std::string utc_time_text(const json& epoch_seconds) {
  if (!epoch_seconds.is_number_integer()) return "-";
  const std::time_t t = static_cast<std::time_t>(epoch_seconds.get<std::int64_t>());
  std::tm tm{};
  if (::gmtime_r(&t, &tm) == nullptr) return "-";
  char buffer[32];
  if (std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm) == 0) return "-";
  return buffer;
}

std::string not_running_message(const Context& ctx, const std::string& detail) {
  (void)ctx;
  return "pbxwalld is not running (" + detail + "): start it with systemctl start pbxwalld";
}

bool daemon_running(const Context& ctx) {
  return ControlConnection::open(control_socket_path(ctx.run_dir), ctx.control_timeout).ok();
}

std::optional<json> daemon_answer(Context& ctx, const json& request) {
  auto answer = call_daemon(control_socket_path(ctx.run_dir), request, ctx.control_timeout);
  if (answer) return std::move(*answer);
  if (answer.error().kind == ControlError::Kind::not_running) {
    ctx.e() << not_running_message(ctx, answer.error().message) << "\n";
    // Without the daemon a block would be made by nobody who lifts it at its expiry, keeps it
    // across a restart or checks it against the validated phones: the CLI does not make one.
    const std::string cmd = request.value("cmd", "");
    if (cmd == "block" || cmd == "block_list" || cmd == "unblock")
      ctx.e() << "pbxwall: blocks are pbxwalld's: it puts them in the kernel sets, keeps them in its state database "
                 "and lifts them when they expire; `pbxwall start` loads the table without it and blocks nobody\n";
    ctx.exit_status = kExitFailure;
  } else {
    ctx.fail(answer.error().message);
  }
  return std::nullopt;
}

std::optional<json> daemon_request(Context& ctx, const json& request) {
  auto answer = daemon_answer(ctx, request);
  if (!answer) return std::nullopt;
  if (!(*answer)["ok"].get<bool>()) {
    ctx.fail("pbxwalld refused: ", text_of(*answer, "error"));
    return std::nullopt;
  }
  return *answer;
}

void add_daemon_commands(CLI::App& app, Context& ctx) {
  struct Args {
    std::string block_addr, block_file, duration, reason, unblock_addr, unblock_rule, events_addr;
    bool unblock_all = false;
    std::int64_t limit = 50;
    bool follow = false;
  };
  auto args = std::make_shared<Args>();

  auto* block = app.add_subcommand("block", "Block an address or a network now, or a list of them (pbxwalld)");
  auto* addr = block->add_option("addr", args->block_addr, "IPv4 or IPv6 address, or a network (192.0.2.0/24)");
  auto* file = block->add_option("--file", args->block_file,
                                 "Block the addresses and networks of this file (one a line, # comments)");
  addr->excludes(file);
  block->add_option("--for", args->duration, "How long: 30m, 2h, 7d (default: the responsive block time)");
  block->add_option("--reason", args->reason, "Why (shown in listings and events)");
  block->callback([&ctx, args] {
    if (!args->block_file.empty()) {
      run_block_file(ctx, args->block_file, args->duration, args->reason);
    } else if (args->block_addr.empty()) {
      ctx.e() << "pbxwall: block: an ADDR or --file LIST is required\n";
      ctx.exit_status = kExitInvalid;
    } else {
      run_block(ctx, args->block_addr, args->duration, args->reason);
    }
  });

  auto* unblock = app.add_subcommand("unblock", "Lift the block of an address or network, or of all (pbxwalld)");
  auto* unblock_addr = unblock->add_option("addr", args->unblock_addr, "IPv4 or IPv6 address, or a blocked network");
  auto* all = unblock->add_flag("--all", args->unblock_all, "Lift every block in force (of one rule with --rule)");
  unblock->add_option("--rule", args->unblock_rule, "With --all: only the blocks of this rule (as `list blocked` shows it)")
      ->needs(all);
  unblock_addr->excludes(all);
  unblock->callback([&ctx, args] {
    if (!args->unblock_all && args->unblock_addr.empty()) {
      ctx.e() << "pbxwall: unblock: an ADDR or --all is required\n";
      ctx.exit_status = kExitInvalid;
      return;
    }
    run_unblock(ctx, args->unblock_addr, args->unblock_all, args->unblock_rule);
  });

  auto* events = app.add_subcommand("events", "The decisions pbxwalld took (blocks, validations, ...)");
  events->add_flag("-f,--follow", args->follow, "Keep printing new events as they happen");
  events->add_option("--limit", args->limit, "How many of the latest events to print first")->capture_default_str();
  events->add_option("--addr", args->events_addr, "Only the events of this address, or of the addresses and networks inside this network");
  events->callback([&ctx, args] { run_events(ctx, args->limit, args->follow, args->events_addr); });
}

}  // namespace pbxwall::cli
