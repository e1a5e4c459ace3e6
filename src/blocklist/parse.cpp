#include <algorithm>

#include <nlohmann/json.hpp>

#include "blocklist/blocklist.h"

namespace pbxwall::blocklist {

namespace {

constexpr std::size_t kErrorsKept = 5;

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

// An address whose network is listed adds nothing, and nothing in 0.0.0.0/8, 127.0.0.0/8 or
// ::1 is ever a remote attacker; a /0 would drop the whole Internet.
std::optional<std::string> unusable(const Cidr& c) {
  if (c.prefix() == 0) return "a whole address family (/0) is never blocked";
  if (c.family() == Family::v4) {
    static const Cidr zero = *Cidr::parse("0.0.0.0/8"), loop = *Cidr::parse("127.0.0.0/8");
    if (zero.contains(c.address()) || loop.contains(c.address())) return "not a remote address";
  } else {
    static const Cidr loop = *Cidr::parse("::1"), unspecified = *Cidr::parse("::");
    if (c == loop || c == unspecified) return "not a remote address";
  }
  return std::nullopt;
}

}  // namespace

Parsed parse_plain(std::string_view text) {
  Parsed out;
  std::size_t number = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++number;
    line = line.substr(0, std::min(line.find('#'), line.find(';')));
    line = trim(line);
    if (line.empty()) continue;
    line = line.substr(0, line.find_first_of(" \t,"));
    ++out.lines_read;
    std::string why;
    auto c = Cidr::parse(line, &why);
    std::optional<std::string> bad;
    if (!c) bad = why.empty() ? "not an address or network" : why;
    else bad = unusable(*c);
    if (bad) {
      ++out.bad_lines;
      if (out.first_errors.size() < kErrorsKept)
        out.first_errors.push_back("line " + std::to_string(number) + ": \"" +
                                   std::string(line.substr(0, 60)) + "\": " + *bad);
      continue;
    }
    out.entries.push_back(*c);
  }
  return out;
}

Result<ApibanPage> parse_apiban_page(std::string_view json) {
  const auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(std::string("not an APIBan answer (no JSON object)"));
  const auto id = j.find("ID");
  const auto addresses = j.find("ipaddress");
  if (id == j.end() || !id->is_string() || addresses == j.end())
    return fail(std::string("not an APIBan answer (no \"ID\" and \"ipaddress\")"));
  const auto& next = id->get_ref<const std::string&>();
  if (next == "unauthorized") return fail(std::string("APIBan refused the key (unauthorized)"));
  if (addresses->is_string()) {
    const auto& said = addresses->get_ref<const std::string&>();
    if (next == "none") return ApibanPage{};
    return fail("APIBan answered \"" + said.substr(0, 80) + "\"");
  }
  if (!addresses->is_array()) return fail(std::string("not an APIBan answer (\"ipaddress\" is no list)"));
  ApibanPage page;
  if (next != "none" && !next.empty()) page.next_id = next;
  for (const auto& a : *addresses) {
    if (!a.is_string()) {
      ++page.bad_entries;
      continue;
    }
    const auto& text = a.get_ref<const std::string&>();
    if (text == "no new bans") {
      page.next_id.reset();
      continue;
    }
    auto c = Cidr::parse(text);
    if (!c || unusable(*c)) {
      ++page.bad_entries;
      continue;
    }
    page.entries.push_back(*c);
  }
  return page;
}

std::optional<std::string> refusal(const Parsed& parsed) {
  if (parsed.lines_read == 0) return std::string("the list is empty");
  if (parsed.entries.empty() || parsed.bad_lines * 2 > parsed.lines_read)
    return std::to_string(parsed.bad_lines) + " of " + std::to_string(parsed.lines_read) +
           " lines are not addresses (" + (parsed.first_errors.empty() ? "" : parsed.first_errors.front()) +
           "): not a blocklist, the last good one stays";
  return std::nullopt;
}

ruleset::ListContent content_of(std::string name, std::vector<Cidr> entries) {
  // Shorter prefixes first at an equal address, so a network comes before what it holds.
  std::sort(entries.begin(), entries.end(), [](const Cidr& a, const Cidr& b) {
    if (a.family() != b.family()) return a.family() == Family::v4;
    if (!(a.address() == b.address())) return a.address() < b.address();
    return a.prefix() < b.prefix();
  });
  ruleset::ListContent out;
  out.name = std::move(name);
  std::optional<Cidr> outer;  // the last network kept: in address order, what it holds follows it
  for (const auto& c : entries) {
    if (outer && outer->family() == c.family() && outer->prefix() <= c.prefix() && outer->contains(c.address()))
      continue;
    const bool v4 = c.family() == Family::v4;
    if (c.is_host()) {
      auto& hosts = v4 ? out.hosts4 : out.hosts6;
      if (!hosts.empty() && hosts.back() == c) continue;
      hosts.push_back(c);
    } else {
      (v4 ? out.nets4 : out.nets6).push_back(c);
      outer = c;
    }
  }
  return out;
}

}  // namespace pbxwall::blocklist
