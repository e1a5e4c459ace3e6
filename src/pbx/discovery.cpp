#include "pbx/discovery.h"

#include <algorithm>

#include "pbx/discovery_builder.h"
#include "pbx/host.h"

namespace pbxwall::pbx {

std::string Origin::str() const {
  std::string s = file.empty() ? "(Asterisk default)" : file;
  if (line > 0) s += ":" + std::to_string(line);
  if (!section.empty()) s += " [" + section + "]";
  if (!key.empty()) s += " " + key;
  return s;
}

bool ListeningPort::loopback_only() const {
  if (bind_addresses.empty()) return false;
  return std::all_of(bind_addresses.begin(), bind_addresses.end(), [](const std::string& a) {
    auto ip = IpAddress::parse(a);
    if (!ip) return false;
    return ip->is_v4() ? ip->bytes()[0] == 127 : *ip == *IpAddress::parse("::1");
  });
}

const char* to_string(PortRole role) {
  switch (role) {
    case PortRole::sip: return "sip";
    case PortRole::iax: return "iax";
    case PortRole::http: return "http";
    case PortRole::https: return "https";
    case PortRole::ami: return "ami";
    case PortRole::ami_tls: return "ami-tls";
  }
  return "?";
}

const char* to_string(L4 l4) { return l4 == L4::udp ? "udp" : "tcp"; }

const char* to_string(HostKind kind) {
  switch (kind) {
    case HostKind::name: return "name";
    case HostKind::address: return "address";
    case HostKind::network: return "network";
  }
  return "?";
}

const ConfigSection* DiscoveryBuilder::general(const AsteriskConfig& cfg, const char* name) {
  const ConfigSection* first = nullptr;
  for (const auto& s : cfg.sections) {
    if (s.is_template || !iequals(s.name, name)) continue;
    if (!first) {
      first = &s;
    } else {
      warn(origin_of(s), std::string("a second [") + name + "] section; Asterisk reads only the first, at " + first->file +
                             ":" + std::to_string(first->line) + " (use [" + name + "](+) to add to it)");
    }
  }
  return first;
}

Origin origin_of(const ConfigVariable& v, const ConfigSection& s) { return Origin{v.file, v.line, s.name, v.name}; }
Origin origin_of(const ConfigSection& s) { return Origin{s.file, s.line, s.name, {}}; }

AsteriskConfig DiscoveryBuilder::load(const std::string& file_name) {
  auto cfg = load_asterisk_config(fs_, out_.root, file_name, out_.diagnostics);
  for (const auto& f : cfg.files_read)
    if (std::find(out_.files_read.begin(), out_.files_read.end(), f) == out_.files_read.end()) out_.files_read.push_back(f);
  for (const auto& f : cfg.files_missing)
    if (std::find(out_.files_missing.begin(), out_.files_missing.end(), f) == out_.files_missing.end())
      out_.files_missing.push_back(f);
  if (!cfg.found) {
    const auto path = path_of(file_name);
    if (std::find(out_.files_missing.begin(), out_.files_missing.end(), path) == out_.files_missing.end())
      out_.files_missing.push_back(path);
  }
  return cfg;
}

void DiscoveryBuilder::diagnose(Severity severity, const Origin& at, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.file = at.file;
  d.line = at.line;
  d.key = at.section.empty() ? at.key : at.section + (at.key.empty() ? "" : "." + at.key);
  d.message = std::move(message);
  out_.diagnostics.push_back(std::move(d));
}

void DiscoveryBuilder::add_port(std::vector<ListeningPort>& list, ListeningPort port) {
  for (auto& p : list) {
    if (p.role == port.role && p.protocol == port.protocol && p.port == port.port) {
      for (auto& a : port.bind_addresses)
        if (std::find(p.bind_addresses.begin(), p.bind_addresses.end(), a) == p.bind_addresses.end())
          p.bind_addresses.push_back(a);
      if (p.is_default && !port.is_default) {  // a written setting explains the port better
        p.origin = port.origin;
        p.is_default = false;
      }
      return;
    }
  }
  list.push_back(std::move(port));
}

void DiscoveryBuilder::add_host(TrunkHost host) {
  for (auto& h : out_.trunks) {
    if (h.host == host.host && h.port == host.port) {
      if (h.transport.empty()) h.transport = host.transport;
      h.references.insert(h.references.end(), host.references.begin(), host.references.end());
      return;
    }
  }
  out_.trunks.push_back(std::move(host));
}

void DiscoveryBuilder::add_host_text(std::string_view text, std::uint16_t port, const std::string& transport,
                                     const TrunkReference& ref) {
  TrunkHost host;
  host.port = port;
  host.transport = transport;
  host.references.push_back(ref);
  const bool looks_like_network = text.find('/') != std::string_view::npos ||
                                  (!text.empty() && text.front() != '[' && IpAddress::parse(text).has_value());
  if (looks_like_network) {
    std::string why;
    auto net = parse_acl_network(text, &why);
    if (!net) {
      warn(ref.origin, "'" + std::string(text) + "': " + why + "; ignored");
      return;
    }
    if (net->prefix() == 0) {
      warn(ref.origin, "'" + std::string(text) + "' would trust every address; ignored");
      return;
    }
    host.kind = net->is_host() ? HostKind::address : HostKind::network;
    host.host = net->str();
    host.network = *net;
    return add_host(std::move(host));
  }
  std::string why;
  auto hp = parse_host_port(text, &why);
  if (!hp) {
    warn(ref.origin, "'" + std::string(text) + "': " + why + "; ignored");
    return;
  }
  host.host = hp->host;
  if (hp->port != 0) host.port = hp->port;
  if (auto ip = IpAddress::parse(hp->host)) {
    host.kind = HostKind::address;
    host.network = Cidr(*ip, ip->bit_width());
  } else {
    host.kind = HostKind::name;
  }
  add_host(std::move(host));
}

void DiscoveryBuilder::add_host_uri(std::string_view uri, const TrunkReference& ref) {
  if (uri.empty()) return;
  std::string why;
  auto parsed = parse_sip_uri(uri, &why);
  if (!parsed) {
    warn(ref.origin, "'" + std::string(uri) + "': " + why + "; ignored");
    return;
  }
  std::string transport = parsed->transport;
  if (transport.empty() && parsed->secure) transport = "tls";
  const auto& hp = parsed->host;
  add_host_text(hp.host, hp.port, transport, ref);
}

void DiscoveryBuilder::add_account(std::string_view name, const char* driver, std::string via, const Origin& origin) {
  if (name.empty()) return;
  for (const auto& a : out_.accounts)
    if (a.name == name && a.driver == driver) return;
  out_.accounts.push_back(Account{std::string(name), driver, std::move(via), origin});
}

std::vector<std::string> account_names(const Discovery& d) {
  std::vector<std::string> names;
  names.reserve(d.accounts.size());
  for (const auto& a : d.accounts) names.push_back(a.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Discovery discover(const FileSystem& fs, const std::string& root) {
  Discovery out;
  out.root = root;
  while (out.root.size() > 1 && out.root.back() == '/') out.root.pop_back();
  DiscoveryBuilder b(fs, out);
  const auto modules = ModuleList::read(b);
  if (modules.loads("res_pjsip.so") && modules.loads("chan_pjsip.so")) {
    read_pjsip(b);
    if (modules.loads("res_pjsip_config_wizard.so")) read_pjsip_wizard(b);
  }
  if (modules.loads("chan_sip.so")) read_chan_sip(b);
  if (modules.loads("chan_iax2.so")) read_iax(b);
  const bool has_sip = std::any_of(out.signalling.begin(), out.signalling.end(),
                                   [](const ListeningPort& p) { return p.role == PortRole::sip; }) ||
                       out.webrtc;
  if (!read_rtp(b) && has_sip) {
    // Asterisk's built-in range applies when rtp.conf is absent.
    b.set_rtp(PortRange{5000, 31000, Origin{}, true});
  }
  read_http(b);
  read_manager(b);
  return out;
}

}  // namespace pbxwall::pbx
