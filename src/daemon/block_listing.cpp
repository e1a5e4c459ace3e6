#include "daemon/block_listing.h"

#include <algorithm>
#include <array>
#include <memory>

namespace pbxwall::daemon {

std::optional<ListCursor> parse_list_cursor(std::string_view text) {
  std::string_view section, rest;
  if (text.starts_with("crowdsec:")) {
    section = text.substr(0, 8);
    rest = text.substr(9);
  } else if (text.starts_with("blocklist:")) {
    const auto colon = text.find(':', 10);
    if (colon == std::string_view::npos) return std::nullopt;
    section = text.substr(0, colon);
    rest = text.substr(colon + 1);
  } else {
    return ListCursor{"", std::string(text), std::nullopt};
  }
  auto net = Cidr::parse(rest);
  if (!net) return std::nullopt;
  return ListCursor{std::string(section), "", *net};
}

std::string list_cursor(const std::string& section, const Cidr& net) { return section + ":" + net.str(); }

BlockSection blocklist_section(const ruleset::ListContent& content, std::string reason) {
  BlockSection s;
  s.name = "blocklist:" + content.name;
  s.rule = "blocklist";
  s.reason = std::move(reason);
  s.size = content.size();
  // The four sorted vectors merged: each walk starts past `after` in every one of them.
  s.walk = [&content, origin = s.name](TimePoint, const std::optional<Cidr>& after, const ListedBlockVisitor& each) {
    const std::array<const std::vector<Cidr>*, 4> parts = {&content.hosts4, &content.nets4, &content.hosts6, &content.nets6};
    std::array<std::vector<Cidr>::const_iterator, 4> at;
    for (std::size_t i = 0; i < parts.size(); ++i)
      at[i] = after ? std::upper_bound(parts[i]->begin(), parts[i]->end(), *after) : parts[i]->begin();
    ListedBlock b{Cidr(), std::nullopt, origin};
    for (;;) {
      std::size_t best = parts.size();
      for (std::size_t i = 0; i < parts.size(); ++i)
        if (at[i] != parts[i]->end() && (best == parts.size() || *at[i] < *at[best])) best = i;
      if (best == parts.size()) return;
      b.net = *at[best]++;
      if (!each(b)) return;
    }
  };
  return s;
}

}  // namespace pbxwall::daemon
