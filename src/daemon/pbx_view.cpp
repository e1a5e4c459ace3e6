#include "daemon/pbx_view.h"

#include <algorithm>
#include <filesystem>

namespace pbxwall::daemon {

namespace {

model::PortRange single(const pbx::ListeningPort& p) {
  return {p.l4 == pbx::L4::udp ? model::Proto::udp : model::Proto::tcp, p.port, p.port};
}

template <class T>
void sort_unique(std::vector<T>& v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// A port's origin as listings show it: the file named below the Asterisk directory, with its line.
std::string where(const pbx::Discovery& d, const pbx::Origin& o) {
  std::string file = o.file;
  if (!d.root.empty() && file.rfind(d.root + "/", 0) == 0) file = file.substr(d.root.size() + 1);
  return o.line > 0 ? file + ":" + std::to_string(o.line) : file + " (default)";
}

}  // namespace

bool reads_pbx(const PbxSettings& pbx) {
  std::error_code no_dir;
  return pbx.enabled.value_or(std::filesystem::is_directory(pbx.asterisk_root, no_dir));
}

PbxView view_of(const pbx::Discovery& d) {
  PbxView v;
  // The first place that configured a port names it.
  const auto note = [&](const model::PortRange& r, const pbx::Origin& o) { v.ports.origins.emplace(r.str(), where(d, o)); };
  for (const auto& p : d.signalling) {
    if (p.loopback_only() || p.port == 0) continue;
    if (p.role == pbx::PortRole::sip) v.ports.sip.push_back(single(p));
    if (p.role == pbx::PortRole::iax) v.ports.iax.push_back(single(p));
    if (p.role == pbx::PortRole::sip || p.role == pbx::PortRole::iax) note(single(p), p.origin);
  }
  if (d.rtp && d.rtp->first > 0 && d.rtp->first <= d.rtp->last) {
    v.ports.rtp = model::PortRange{model::Proto::udp, d.rtp->first, d.rtp->last};
    note(*v.ports.rtp, d.rtp->origin);
  }
  if (d.webrtc)
    for (const auto& p : d.web)
      if (!p.loopback_only() && p.port != 0) {
        v.ports.webrtc.push_back(single(p));
        note(single(p), p.origin);
      }
  sort_unique(v.ports.sip);
  sort_unique(v.ports.iax);
  sort_unique(v.ports.webrtc);

  for (const auto& t : d.trunks) {
    if (t.network) {
      v.trunk_networks.push_back(*t.network);
    } else if (t.kind == pbx::HostKind::name && !t.host.empty()) {
      v.trunk_names.push_back(t.host);
    }
  }
  sort_unique(v.trunk_networks);
  sort_unique(v.trunk_names);
  v.trunk_hosts = trunk_hosts_of(d);
  v.accounts = pbx::account_names(d);

  for (const auto* list : {&d.files_read, &d.files_missing})
    for (const auto& f : *list) {
      auto dir = std::filesystem::path(f).parent_path().string();
      if (!dir.empty()) v.watch_directories.push_back(dir);
    }
  if (!d.root.empty()) v.watch_directories.push_back(d.root);
  sort_unique(v.watch_directories);
  return v;
}

}  // namespace pbxwall::daemon
