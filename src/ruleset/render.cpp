// The nftables script of a policy. Layout of the table (see docs/configuration.md):
//   sets    zone networks per family, per-zone service ports, signalling/media ports, trunks,
//           live responsive state (blocked, validated, grants) and the flood meters
//   map     iface_zone: interface -> zone chain
//   chains  input (hook) -> zone_<zone> -> responsive; output (hook) copies SIP/IAX answers
// Every rule exists for IPv4 and IPv6.
#include <algorithm>
#include <map>

#include "ruleset/intervals.h"
#include "ruleset/ports.h"
#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {

namespace {

using model::Zone;

constexpr std::array<Zone, 4> kJumpZones = {Zone::reject, Zone::internet, Zone::other,
                                            Zone::local};
constexpr std::array<Zone, 3> kServiceZones = {Zone::local, Zone::other, Zone::internet};

std::string seconds(Duration d) {
  const auto us = d.count();
  return std::to_string((us + 999'999) / 1'000'000) + "s";
}

// nft strings cannot escape quotes; keep comments printable and short.
std::string clean_comment(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += '\'';
    else if (u < 0x20 || u == 0x7f) out += ' ';
    else out += c;
  }
  if (out.size() > 100) {
    out.resize(100);
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
  }
  return out;
}

std::string ports_element(const model::PortRange& p) {
  std::string s(model::proto_name(p.proto));
  s += " . " + std::to_string(p.first);
  if (p.last != p.first) s += "-" + std::to_string(p.last);
  return s;
}

class Script {
 public:
  explicit Script(std::size_t reserve) { out_.reserve(reserve); }

  void line(std::string_view indent, std::string_view text) {
    out_ += indent;
    out_ += text;
    out_ += '\n';
  }

  // set NAME { type T; flags F; [timeout]; elements = { ... } }
  void set(std::string_view name, std::string_view type, std::string_view flags,
           const std::vector<std::string>& elements, std::string_view extra = {}) {
    line("\t", "set " + std::string(name) + " {");
    line("\t\t", "type " + std::string(type));
    if (!flags.empty()) line("\t\t", "flags " + std::string(flags));
    if (!extra.empty()) line("\t\t", extra);
    if (!elements.empty()) {
      line("\t\t", "elements = {");
      for (std::size_t i = 0; i < elements.size(); ++i) {
        out_ += "\t\t\t";
        out_ += elements[i];
        out_ += i + 1 < elements.size() ? ",\n" : "\n";
      }
      line("\t\t", "}");
    }
    line("\t", "}");
    out_ += '\n';
  }

  void counter(std::string_view name) { line("\t", "counter " + std::string(name) + " {\n\t}\n"); }

  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::vector<std::string> port_elements(const std::vector<model::PortRange>& ports) {
  std::vector<std::string> v;
  v.reserve(ports.size());
  for (const auto& p : ports) v.push_back(ports_element(p));
  return v;
}

// Elements of the v4 or v6 set of `zone` (or of all ranges when zone is empty).
std::vector<std::string> range_elements(const std::vector<ZoneRange>& ranges, Family family,
                                        std::optional<Zone> zone) {
  std::vector<std::string> v;
  for (const auto& r : ranges)
    if (r.first.family() == family && (!zone || r.zone == *zone))
      v.push_back(detail::range_text(r.first, r.last));
  return v;
}

std::string counter_ref(std::string_view name) {
  return "counter name \"" + std::string(name) + "\"";
}

// Bans shared through CrowdSec, both families: single addresses in crowdsec4/6 (hash sets:
// nft adds and deletes there without reading the set back, however large it is), networks in
// crowdsec_nets4/6 (interval sets). In address order a network follows the one holding it
// with nothing outside that one in between, so checking the last kept is enough; an address
// inside a banned network is left to the network.
void shared_sets(Script& s, const std::vector<BlockedNetEntry>& shared, const std::string& size) {
  std::map<Cidr, Duration> nets;
  for (const auto& b : shared)
    if (b.remaining.count() > 0) nets[b.net] = std::max(nets[b.net], b.remaining);
  for (Family f : {Family::v4, Family::v6}) {
    std::vector<std::string> hosts, networks;
    std::optional<Cidr> last;
    for (const auto& [net, left] : nets) {
      if (net.family() != f) continue;
      if (last && last->prefix() <= net.prefix() && last->contains(net.address())) continue;
      last = net;
      if (net.is_host()) hosts.push_back(net.address().str() + " timeout " + seconds(left));
      else networks.push_back(net.address().str() + "/" + std::to_string(net.prefix()) + " timeout " + seconds(left));
    }
    const char* type = f == Family::v4 ? "ipv4_addr" : "ipv6_addr";
    s.set(f == Family::v4 ? "crowdsec4" : "crowdsec6", type, "timeout", hosts, size);
    s.set(f == Family::v4 ? "crowdsec_nets4" : "crowdsec_nets6", type, "interval,timeout", networks, size);
  }
}

std::vector<std::string> cidr_elements(const std::vector<Cidr>& v) {
  std::vector<std::string> out;
  out.reserve(v.size());
  for (const auto& c : v) out.push_back(c.is_host() ? c.address().str() : c.address().str() + "/" + std::to_string(c.prefix()));
  return out;
}

void list_sets(Script& s, const std::vector<ListContent>& lists) {
  for (const auto& l : lists) {
    s.set(list_set(l.name, Family::v4, false), "ipv4_addr", "", cidr_elements(l.hosts4));
    s.set(list_set(l.name, Family::v6, false), "ipv6_addr", "", cidr_elements(l.hosts6));
    s.set(list_set(l.name, Family::v4, true), "ipv4_addr", "interval", cidr_elements(l.nets4));
    s.set(list_set(l.name, Family::v6, true), "ipv6_addr", "interval", cidr_elements(l.nets6));
  }
}

// The live responsive state: one element per address (longest remaining time wins), sorted.
void state_sets(Script& s, const LiveState& live, std::uint32_t max_blocked) {
  const std::string size = "size " + std::to_string(max_blocked);
  for (Family f : {Family::v4, Family::v6}) {
    const std::string n = f == Family::v4 ? "4" : "6";
    const std::string addr_type = f == Family::v4 ? "ipv4_addr" : "ipv6_addr";

    std::map<IpAddress, const BlockedEntry*> blocked;
    for (const auto& b : live.blocked) {
      if (b.addr.family() != f || b.remaining.count() <= 0) continue;
      auto& slot = blocked[b.addr];
      if (!slot || slot->remaining < b.remaining) slot = &b;
    }
    std::vector<std::string> elements;
    for (const auto& [addr, b] : blocked) {
      std::string e = addr.str() + " timeout " + seconds(b->remaining);
      if (const auto c = clean_comment(b->comment); !c.empty()) e += " comment \"" + c + "\"";
      elements.push_back(std::move(e));
    }
    // Dynamic: the flood meter adds sources from the packet path.
    s.set("blocked" + n, addr_type, "dynamic,timeout", elements, size);

    std::map<IpAddress, Duration> validated;
    for (const auto& v : live.validated) {
      if (v.addr.family() != f || v.remaining.count() <= 0) continue;
      auto& slot = validated[v.addr];
      slot = std::max(slot, v.remaining);
    }
    elements.clear();
    for (const auto& [addr, left] : validated) elements.push_back(addr.str() + " timeout " + seconds(left));
    s.set("validated" + n, addr_type, "timeout", elements);

    std::map<std::tuple<IpAddress, model::Proto, std::uint16_t>, Duration> grants;
    for (const auto& g : live.grants) {
      if (g.addr.family() != f || g.remaining.count() <= 0 || g.port == 0) continue;
      auto& slot = grants[{g.addr, g.proto, g.port}];
      slot = std::max(slot, g.remaining);
    }
    elements.clear();
    for (const auto& [key, left] : grants) {
      const auto& [addr, proto, port] = key;
      elements.push_back(addr.str() + " . " + std::string(model::proto_name(proto)) + " . " +
                         std::to_string(port) + " timeout " + seconds(left));
    }
    s.set("grants" + n, addr_type + " . inet_proto . inet_service", "timeout", elements);

    s.set("flood" + n, addr_type, "dynamic,timeout", {}, "timeout 60s");
  }

  // Networks blocked whole. An interval set refuses overlapping elements: in prefix order
  // (shorter first for the same address), a network inside one already kept is left out.
  // Networks nest or are disjoint, so the kept ones are disjoint and in order: a network is
  // inside one of them exactly when it is inside the last.
  for (Family f : {Family::v4, Family::v6}) {
    std::map<Cidr, const BlockedNetEntry*> nets;
    for (const auto& b : live.blocked_nets) {
      if (b.net.family() != f || b.remaining.count() <= 0) continue;
      auto& slot = nets[b.net];
      if (!slot || slot->remaining < b.remaining) slot = &b;
    }
    std::optional<Cidr> last_kept;
    std::vector<std::string> elements;
    for (const auto& [net, b] : nets) {
      if (last_kept && last_kept->prefix() <= net.prefix() && last_kept->contains(net.address())) continue;
      last_kept = net;
      std::string e = net.address().str() + "/" + std::to_string(net.prefix()) + " timeout " + seconds(b->remaining);
      if (const auto c = clean_comment(b->comment); !c.empty()) e += " comment \"" + c + "\"";
      elements.push_back(std::move(e));
    }
    s.set(f == Family::v4 ? "blocked_nets4" : "blocked_nets6", f == Family::v4 ? "ipv4_addr" : "ipv6_addr",
          "interval,timeout", elements, size);
  }
  shared_sets(s, live.shared, size);
  list_sets(s, live.lists);
}

void trunk_sets(Script& s, const std::vector<Cidr>& trunks) {
  std::vector<std::pair<Cidr, Zone>> nets;
  for (const auto& c : trunks) nets.emplace_back(c, Zone::trusted);
  const auto ranges = flatten_zones(std::move(nets));
  s.set("trunks4", "ipv4_addr", "interval", range_elements(ranges, Family::v4, std::nullopt));
  s.set("trunks6", "ipv6_addr", "interval", range_elements(ranges, Family::v6, std::nullopt));
}

std::string disabled_table(const RenderInput& in) {
  Script s(4096);
  s.line("", "table inet pbxwall {");
  s.line("\t", "# [firewall] enabled = false: everything is accepted. The state sets are kept");
  s.line("\t", "# so blocks and validations survive until the firewall is enabled again.");
  state_sets(s, in.live, in.options.max_blocked);
  trunk_sets(s, in.trunks);
  s.line("\t", "chain input {");
  s.line("\t\t", "type filter hook input priority filter; policy accept;");
  s.line("\t", "}");
  s.line("", "");
  s.line("\t", "chain output {");
  s.line("\t\t", "type filter hook output priority filter; policy accept;");
  s.line("\t", "}");
  s.line("", "}");
  return s.take();
}

// The end of a zone chain: what happens to everything not accepted.
void refuse(Script& s, bool reject) {
  if (reject) {
    s.line("\t\t", "meta l4proto tcp " + counter_ref(kCounterRefused) + " reject with tcp reset");
    s.line("\t\t", "meta l4proto udp " + counter_ref(kCounterRefused) +
                       " reject with icmpx admin-prohibited");
  }
  s.line("\t\t", counter_ref(kCounterRefused) + " drop");
}

std::string enabled_table(const RenderInput& in) {
  const auto& policy = in.policy;
  const auto& opt = in.options;
  const auto services = effective_services(policy, in.discovered);
  const auto ranges = flatten_zones(model::zone_networks(policy, in.resolved));

  Script s(256 + ranges.size() * 40);
  s.line("", "table inet pbxwall {");
  for (const auto* name : {&kCounterBlocked, &kCounterFlood, &kCounterResponsive, &kCounterRefused})
    s.counter(*name);

  for (Zone z : model::kAllZones) {
    const std::string name(model::zone_name(z));
    s.set(name + "4", "ipv4_addr", "interval", range_elements(ranges, Family::v4, z));
    s.set(name + "6", "ipv6_addr", "interval", range_elements(ranges, Family::v6, z));
  }
  std::vector<std::string_view> watched;  // protocols under the responsive firewall
  if (policy.responsive.enabled && policy.responsive.sip) watched.push_back("sip");
  if (policy.responsive.enabled && policy.responsive.iax) watched.push_back("iax");
  // The signalling ports belong to SIP and IAX2, whose zones decide them: a zone's open ports
  // leave out those of the two it does not open. A media range spanning the SIP port
  // (Asterisk's built-in 5000-31000 holds 5060) must not let signalling past the responsive
  // path, or past the refusal when that is off.
  for (Zone z : kServiceZones) {
    std::vector<model::PortRange> closed_here;
    for (std::string_view p : {"sip", "iax"}) {
      const auto* svc = policy.find_service(p);
      if (svc && svc->zones.contains(z)) continue;
      const auto ports = detail::service_ports(services, {p});
      closed_here.insert(closed_here.end(), ports.begin(), ports.end());
    }
    s.set("svc_" + std::string(model::zone_name(z)), "inet_proto . inet_service", "interval",
          port_elements(detail::subtract_ports(detail::zone_ports(services, z),
                                               detail::merge_ports(std::move(closed_here)))));
  }

  const auto sig = detail::service_ports(services, {"sip", "iax"});
  const auto media = detail::service_ports(services, {"rtp"});
  std::vector<model::PortRange> responsive_ports;
  for (auto p : watched) {
    const auto ports = detail::service_ports(services, {p});
    responsive_ports.insert(responsive_ports.end(), ports.begin(), ports.end());
  }
  responsive_ports = detail::merge_ports(std::move(responsive_ports));
  s.set("sig_ports", "inet_proto . inet_service", "interval", port_elements(sig));
  s.set("media_ports", "inet_proto . inet_service", "interval", port_elements(media));
  s.set("responsive_ports", "inet_proto . inet_service", "interval", port_elements(responsive_ports));
  trunk_sets(s, in.trunks);
  state_sets(s, in.live, in.options.max_blocked);

  std::vector<std::string> iface_elements;
  for (const auto& [ifname, zone] : policy.interfaces)
    iface_elements.push_back("\"" + ifname + "\" : " +
                             (zone == Zone::trusted ? std::string("accept")
                                                    : "jump zone_" + std::string(model::zone_name(zone))));
  s.line("\t", "map iface_zone {");
  s.line("\t\t", "type ifname : verdict");
  if (!iface_elements.empty()) {
    s.line("\t\t", "elements = {");
    for (std::size_t i = 0; i < iface_elements.size(); ++i)
      s.line("\t\t\t", iface_elements[i] + (i + 1 < iface_elements.size() ? "," : ""));
    s.line("\t\t", "}");
  }
  s.line("\t", "}");
  s.line("", "");

  // Zone chains. A zone goes through the responsive path for each watched protocol it does not
  // open outright.
  const std::string echo_limit = "limit rate " + std::to_string(opt.echo_rate_per_second) + "/second";
  for (Zone z : kServiceZones) {
    const std::string name(model::zone_name(z));
    s.line("\t", "chain zone_" + name + " {");
    s.line("\t\t", "meta l4proto . th dport @svc_" + name + " accept");
    const bool needs_responsive = std::any_of(watched.begin(), watched.end(), [&](auto p) {
      const auto* svc = policy.find_service(p);
      return svc && !svc->zones.contains(z);
    });
    if (needs_responsive) s.line("\t\t", "meta l4proto . th dport @responsive_ports jump responsive");
    s.line("\t\t", "icmp type echo-request " + echo_limit + " accept");
    s.line("\t\t", "icmpv6 type echo-request " + echo_limit + " accept");
    refuse(s, policy.reject);
    s.line("\t", "}");
    s.line("", "");
  }
  s.line("\t", "chain zone_reject {");
  refuse(s, policy.reject);
  s.line("\t", "}");
  s.line("", "");

  // The responsive path: kernel flood meter first (works with the daemon down), then a copy to
  // the daemon and accept (the PBX itself answers and the daemon decides from what it sees),
  // or the queue, where the daemon drops what it already knows to be an attack.
  const std::string rate = "limit rate over " + std::to_string(opt.flood_rate_per_second) +
                           "/second burst " + std::to_string(opt.flood_burst) + " packets";
  s.line("\t", "chain responsive {");
  s.line("\t\t", "update @flood4 { ip saddr " + rate + " } add @blocked4 { ip saddr timeout " +
                     seconds(opt.flood_block) + " } " + counter_ref(kCounterFlood) + " drop");
  s.line("\t\t", "update @flood6 { ip6 saddr " + rate + " } add @blocked6 { ip6 saddr timeout " +
                     seconds(opt.flood_block) + " } " + counter_ref(kCounterFlood) + " drop");
  // TCP reaches the daemon only on connections conntrack has seen answered: segments without a
  // handshake (any source can forge those) are never given to the stream reassembly.
  const std::string tcp_unanswered = "meta l4proto tcp ct state != established " + counter_ref(kCounterResponsive) + " accept";
  switch (opt.packet_path) {
    case PacketPath::log_group:
      if (opt.log_group_input != 0) {
        s.line("\t\t", tcp_unanswered);
        s.line("\t\t", "log group " + std::to_string(opt.log_group_input));
      }
      s.line("\t\t", counter_ref(kCounterResponsive) + " accept");
      break;
    case PacketPath::queue:
      s.line("\t\t", tcp_unanswered);
      // The daemon's accept ends this hook's evaluation, so the packet is counted first.
      s.line("\t\t", counter_ref(kCounterResponsive) + " queue num " + std::to_string(opt.queue_num) + " bypass");
      break;
    case PacketPath::external:
      s.line("\t\t", counter_ref(kCounterResponsive) + " accept");
      break;
  }
  s.line("\t", "}");
  s.line("", "");

  s.line("\t", "chain input {");
  s.line("\t\t", "type filter hook input priority filter; policy drop;");
  s.line("\t\t", "iif \"lo\" accept");
  s.line("\t\t", "ct state invalid drop");
  s.line("\t\t", "ip saddr @trusted4 accept");
  s.line("\t\t", "ip6 saddr @trusted6 accept");
  s.line("\t\t", "ip saddr @blocked4 " + counter_ref(kCounterBlocked) + " drop");
  s.line("\t\t", "ip6 saddr @blocked6 " + counter_ref(kCounterBlocked) + " drop");
  // A trunk inside a blocked network still reaches the PBX.
  s.line("\t\t", "ip saddr @blocked_nets4 ip saddr != @trunks4 " + counter_ref(kCounterBlocked) + " drop");
  s.line("\t\t", "ip6 saddr @blocked_nets6 ip6 saddr != @trunks6 " + counter_ref(kCounterBlocked) + " drop");
  for (const char* ports : {"sig_ports", "media_ports"}) {
    s.line("\t\t", std::string("ip saddr @trunks4 meta l4proto . th dport @") + ports + " accept");
    s.line("\t\t", std::string("ip6 saddr @trunks6 meta l4proto . th dport @") + ports + " accept");
  }
  s.line("\t\t", "ip saddr @validated4 meta l4proto . th dport @sig_ports accept");
  s.line("\t\t", "ip6 saddr @validated6 meta l4proto . th dport @sig_ports accept");
  s.line("\t\t", "ip saddr . meta l4proto . th dport @grants4 accept");
  s.line("\t\t", "ip6 saddr . meta l4proto . th dport @grants6 accept");
  // Bans shared by the fleet: after the trusted, trunk, validated and granted accepts, and never
  // over a trunk's other traffic either.
  s.line("\t\t", "ip saddr @crowdsec4 ip saddr != @trunks4 " + counter_ref(kCounterBlocked) + " drop");
  s.line("\t\t", "ip6 saddr @crowdsec6 ip6 saddr != @trunks6 " + counter_ref(kCounterBlocked) + " drop");
  s.line("\t\t", "ip saddr @crowdsec_nets4 ip saddr != @trunks4 " + counter_ref(kCounterBlocked) + " drop");
  s.line("\t\t", "ip6 saddr @crowdsec_nets6 ip6 saddr != @trunks6 " + counter_ref(kCounterBlocked) + " drop");
  // Community blocklists: the same place, the same exceptions.
  for (const auto& l : in.live.lists)
    for (bool nets : {false, true}) {
      s.line("\t\t", "ip saddr @" + list_set(l.name, Family::v4, nets) + " ip saddr != @trunks4 " +
                         counter_ref(kCounterBlocked) + " drop");
      s.line("\t\t", "ip6 saddr @" + list_set(l.name, Family::v6, nets) + " ip6 saddr != @trunks6 " +
                         counter_ref(kCounterBlocked) + " drop");
    }
  // A phone's REGISTER after the PBX's 401 belongs to an established UDP flow; it must still
  // reach the responsive path, or the daemon would see challenges but never the answers to
  // them. So signalling from unvalidated sources skips the conntrack shortcut.
  if (!watched.empty())
    s.line("\t\t", "meta l4proto . th dport != @responsive_ports ct state established,related accept");
  else
    s.line("\t\t", "ct state established,related accept");
  // IPv6 does not work without neighbour discovery; hop limit 255 proves it is on-link.
  s.line("\t\t", "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, "
                 "nd-router-advert, nd-redirect } ip6 hoplimit 255 accept");
  s.line("\t\t", "ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept");
  for (Zone z : kJumpZones) {
    const std::string name(model::zone_name(z));
    s.line("\t\t", "ip saddr @" + name + "4 jump zone_" + name);
    s.line("\t\t", "ip6 saddr @" + name + "6 jump zone_" + name);
  }
  s.line("\t\t", "iifname vmap @iface_zone");
  s.line("\t\t", "jump zone_internet");
  s.line("\t", "}");
  s.line("", "");

  s.line("\t", "chain output {");
  s.line("\t\t", "type filter hook output priority filter; policy accept;");
  // Log groups off (input 0) turn the whole copy off; the inline paths keep the answers' copy.
  const bool copy_answers = opt.log_group_output != 0 &&
                            (opt.packet_path != PacketPath::log_group || opt.log_group_input != 0);
  if (!watched.empty() && copy_answers) {
    // The PBX's answers to peers the daemon is judging, so it sees every authentication outcome.
    const std::string group = " log group " + std::to_string(opt.log_group_output);
    s.line("\t\t", "oif \"lo\" accept");
    s.line("\t\t", "meta l4proto . th sport @responsive_ports ip daddr != @trusted4 "
                   "ip daddr != @trunks4 ip daddr != @validated4" + group);
    s.line("\t\t", "meta l4proto . th sport @responsive_ports ip6 daddr != @trusted6 "
                   "ip6 daddr != @trunks6 ip6 daddr != @validated6" + group);
  }
  s.line("\t", "}");
  s.line("", "}");
  return s.take();
}

constexpr std::string_view kPreamble =
    "# Generated by pbxwall from its configuration; changes here are overwritten.\n"
    "# Replaces table inet pbxwall as one transaction and touches no other table.\n"
    "add table inet pbxwall\n"
    "delete table inet pbxwall\n";

}  // namespace

std::string render(const RenderInput& input) {
  std::string out(kPreamble);
  out += input.policy.enabled ? enabled_table(input) : disabled_table(input);
  return out;
}

std::string list_set(std::string_view name, Family family, bool nets) {
  return "list_" + std::string(name) + (nets ? "_nets" : "_") + (family == Family::v4 ? "4" : "6");
}

std::string render_list_update(const ListContent& list) {
  std::string out;
  const auto replace = [&](Family f, bool nets, const std::vector<Cidr>& v) {
    const std::string set = "inet pbxwall " + list_set(list.name, f, nets);
    out += "flush set " + set + "\n";
    if (v.empty()) return;
    out += "add element " + set + " {\n";
    const auto elements = cidr_elements(v);
    for (std::size_t i = 0; i < elements.size(); ++i) {
      out += "\t" + elements[i];
      out += i + 1 < elements.size() ? ",\n" : "\n";
    }
    out += "}\n";
  };
  replace(Family::v4, false, list.hosts4);
  replace(Family::v6, false, list.hosts6);
  replace(Family::v4, true, list.nets4);
  replace(Family::v6, true, list.nets6);
  return out;
}

std::string render_remove() { return "add table inet pbxwall\ndelete table inet pbxwall\n"; }

}  // namespace pbxwall::ruleset
