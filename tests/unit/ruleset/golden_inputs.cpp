#include "golden_inputs.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace pbxwall::ruleset::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

IpAddress address(const std::string& text, const std::string& where) {
  auto a = IpAddress::parse(text);
  if (!a) ADD_FAILURE() << where << ": bad address " << text;
  return a.value_or(IpAddress{});
}

std::vector<model::PortRange> ports(std::istringstream& words, const std::string& where) {
  std::vector<model::PortRange> out;
  std::string w;
  while (words >> w) {
    auto p = model::PortRange::parse(w);
    if (!p) ADD_FAILURE() << where << ": bad port " << w;
    else out.push_back(*p);
  }
  return out;
}

}  // namespace

ExtraInputs read_extra_inputs(const std::string& path) {
  ExtraInputs x;
  std::ifstream in(path);
  if (!in) return x;  // no .state file: defaults
  std::string text;
  int n = 0;
  while (std::getline(in, text)) {
    ++n;
    const std::string where = path + ":" + std::to_string(n);
    std::istringstream words(text);
    std::string verb;
    if (!(words >> verb) || verb[0] == '#') continue;
    if (verb == "resolve") {
      std::string host, a;
      words >> host;
      while (words >> a) x.resolved[host].push_back(address(a, where));
    } else if (verb == "trunk") {
      std::string c;
      words >> c;
      auto cidr = Cidr::parse(c);
      if (!cidr) ADD_FAILURE() << where << ": bad CIDR " << c;
      else x.trunks.push_back(*cidr);
    } else if (verb == "discover") {
      std::string what;
      words >> what;
      if (!x.discovered) x.discovered.emplace();
      auto p = ports(words, where);
      if (what == "sip") x.discovered->sip = p;
      else if (what == "iax") x.discovered->iax = p;
      else if (what == "webrtc") x.discovered->webrtc = p;
      else if (what == "rtp" && p.size() == 1) x.discovered->rtp = p.front();
      else ADD_FAILURE() << where << ": bad discover line";
    } else if (verb == "blocked" || verb == "validated") {
      std::string a;
      long secs = 0;
      words >> a >> secs;
      std::string comment;
      std::getline(words >> std::ws, comment);
      const Duration left = std::chrono::seconds(secs);
      if (verb == "blocked") x.live.blocked.push_back({address(a, where), left, comment});
      else x.live.validated.push_back({address(a, where), left});
    } else if (verb == "blocked-net") {
      std::string c;
      long secs = 0;
      words >> c >> secs;
      std::string comment;
      std::getline(words >> std::ws, comment);
      auto cidr = Cidr::parse(c);
      if (!cidr) ADD_FAILURE() << where << ": bad CIDR " << c;
      else x.live.blocked_nets.push_back({*cidr, std::chrono::seconds(secs), comment});
    } else if (verb == "shared") {  // a ban shared by the fleet (sets crowdsec4/6)
      std::string c;
      long secs = 0;
      words >> c >> secs;
      auto cidr = Cidr::parse(c);
      if (!cidr) ADD_FAILURE() << where << ": bad CIDR " << c;
      else x.live.shared.push_back({*cidr, std::chrono::seconds(secs), {}});
    } else if (verb == "grant") {
      std::string a, proto;
      unsigned port = 0;
      long secs = 0;
      words >> a >> proto >> port >> secs;
      x.live.grants.push_back({address(a, where), proto == "tcp" ? model::Proto::tcp : model::Proto::udp,
                               static_cast<std::uint16_t>(port), std::chrono::seconds(secs)});
    } else if (verb == "log-groups") {
      unsigned in_group = 0, out_group = 0;
      words >> in_group >> out_group;
      x.options.log_group_input = static_cast<std::uint16_t>(in_group);
      x.options.log_group_output = static_cast<std::uint16_t>(out_group);
    } else if (verb == "packet-path") {
      std::string name;
      unsigned queue = 0;
      words >> name >> queue;
      if (name == "queue") x.options.packet_path = PacketPath::queue;
      else if (name == "external") x.options.packet_path = PacketPath::external;
      else if (name == "log") x.options.packet_path = PacketPath::log_group;
      else ADD_FAILURE() << where << ": packet-path log|queue|external [QUEUE]";
      if (queue != 0) x.options.queue_num = static_cast<std::uint16_t>(queue);
    } else {
      ADD_FAILURE() << where << ": unknown line '" << text << "'";
    }
  }
  return x;
}

}  // namespace pbxwall::ruleset::testing
