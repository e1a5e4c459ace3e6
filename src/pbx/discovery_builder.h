// Internal to the pbx module: collects what the per-file readers find into a Discovery,
// merging duplicates, so each reader only says what it saw and where.
#pragma once

#include <string>
#include <string_view>

#include "pbx/asterisk_config.h"
#include "pbx/discovery.h"

namespace pbxwall::pbx {

class DiscoveryBuilder {
 public:
  DiscoveryBuilder(const FileSystem& fs, Discovery& out) : fs_(fs), out_(out) {}

  // Loads root/file_name, recording the files it read and its diagnostics.
  AsteriskConfig load(const std::string& file_name);
  std::string path_of(const std::string& file_name) const { return out_.root + "/" + file_name; }

  // Adds a port to a list; the same role, protocol and port seen again only adds its bind
  // address, so two transports on 0.0.0.0:5060 and [::]:5060 make one udp/5060 entry.
  void add_port(std::vector<ListeningPort>& list, ListeningPort port);
  void add_signalling(ListeningPort port) { add_port(out_.signalling, std::move(port)); }
  void add_web(ListeningPort port) { add_port(out_.web, std::move(port)); }
  void add_ami(ListeningPort port) { add_port(out_.ami, std::move(port)); }
  void set_rtp(PortRange range) { out_.rtp = std::move(range); }
  void set_webrtc() { out_.webrtc = true; }

  // A host as written in a host=/match=/permit= value: an address, a network, or a name.
  // Networks that would trust everyone (prefix 0) are refused with a warning.
  void add_host_text(std::string_view text, std::uint16_t port, const std::string& transport,
                     const TrunkReference& ref);
  // A SIP URI (contact=, server_uri=, outbound_proxy=).
  void add_host_uri(std::string_view uri, const TrunkReference& ref);

  // An account name; the same name for the same driver again is kept once (its first place).
  void add_account(std::string_view name, const char* driver, std::string via, const Origin& origin);

  // The first non-template section of that name, which is the only one Asterisk reads for its
  // settings; later ones get a warning because their settings have no effect.
  const ConfigSection* general(const AsteriskConfig& cfg, const char* name = "general");

  void warn(const Origin& at, std::string message) { diagnose(Severity::warning, at, std::move(message)); }
  void error(const Origin& at, std::string message) { diagnose(Severity::error, at, std::move(message)); }

 private:
  void diagnose(Severity severity, const Origin& at, std::string message);
  void add_host(TrunkHost host);

  const FileSystem& fs_;
  Discovery& out_;
};

Origin origin_of(const ConfigVariable& v, const ConfigSection& s);
Origin origin_of(const ConfigSection& s);

// Per-file readers (one file each).
void read_pjsip(DiscoveryBuilder& b);
void read_pjsip_wizard(DiscoveryBuilder& b);
void read_chan_sip(DiscoveryBuilder& b);
void read_iax(DiscoveryBuilder& b);
bool read_rtp(DiscoveryBuilder& b);  // false if rtp.conf is absent
void read_http(DiscoveryBuilder& b);
void read_manager(DiscoveryBuilder& b);

// modules.conf: which channel drivers Asterisk loads.
class ModuleList {
 public:
  static ModuleList read(DiscoveryBuilder& b);
  bool loads(std::string_view module) const;  // "chan_sip.so"

 private:
  bool found_ = false;
  bool autoload_ = true;
  std::vector<std::string> load_;
  std::vector<std::string> noload_;
};

}  // namespace pbxwall::pbx
