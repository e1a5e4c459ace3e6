// What the PBX's own configuration says about its network: the ports it listens on and the
// providers and branch offices (trunks) it talks to. The firewall opens those ports instead of
// its built-in defaults and trusts the trunk hosts for signalling and media. Every item names
// the file and line it came from, so `pbxwall discover` can show why a port is open.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/diagnostic.h"
#include "pbx/filesystem.h"

namespace pbxwall::pbx {

inline constexpr const char* kDefaultAsteriskRoot = "/etc/asterisk";

// Where an item was configured. line 0 with a file: a default that applies because the file
// does not set the key; empty file: a default of Asterisk itself.
struct Origin {
  std::string file;
  int line = 0;
  std::string section;  // e.g. "0.0.0.0-udp", "general", "mytrunk"
  std::string key;      // e.g. "bind", "bindport"
  std::string str() const;  // "file:line [section] key"
};

enum class PortRole {
  sip,      // SIP signalling (chan_pjsip transports or chan_sip)
  iax,      // IAX2
  http,     // Asterisk HTTP server (WebSocket SIP for WebRTC when ws transports exist, ARI)
  https,    // the same over TLS (secure WebSocket: WebRTC from browsers)
  ami,      // Asterisk Manager Interface
  ami_tls,  // AMI over TLS
};

enum class L4 { udp, tcp };

struct ListeningPort {
  PortRole role = PortRole::sip;
  std::string protocol;  // udp, tcp, tls (SIP); udp (IAX2); http, https; ami, ami-tls
  L4 l4 = L4::udp;
  std::uint16_t port = 0;
  std::string driver;                    // pjsip, chan_sip, chan_iax2, http, manager
  std::vector<std::string> bind_addresses;  // as configured, "0.0.0.0", "::", "127.0.0.1"
  Origin origin;                          // first place that configured this port
  bool is_default = false;               // the port is Asterisk's default, not written
  bool loopback_only() const;            // every bind address is a loopback address
};

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  Origin origin;  // of rtpstart (or the file when defaults apply)
  bool is_default = false;
};

enum class HostKind { name, address, network };

// One place a trunk host appears (a host is often named by the AOR contact, the registration
// and the identify section of the same trunk).
struct TrunkReference {
  std::string trunk;  // the endpoint/peer/section name that uses the host
  std::string via;    // what named it: "pjsip aor contact", "chan_sip host", ...
  Origin origin;
};

struct TrunkHost {
  HostKind kind = HostKind::name;
  std::string host;             // lower-case name, address, or CIDR text
  std::optional<Cidr> network;  // for address and network kinds
  std::uint16_t port = 0;       // 0: not written (identify/permit match any port; a URI
                                // without a port means DNS SRV or the default port)
  std::string transport;        // transport the URI asks for (udp, tcp, tls), empty if none
  std::vector<TrunkReference> references;  // first one first
};

// An account the PBX has: a name a phone registers, authenticates or calls as. Asterisk
// matches a request's username against these (pjsip: endpoint and aor names, auth usernames;
// chan_sip and chan_iax2: peer, user and friend sections), so a name outside the list is a
// username the PBX does not have, whatever it answers.
struct Account {
  std::string name;
  std::string driver;  // pjsip, chan_sip, chan_iax2
  std::string via;     // what defined it: "pjsip endpoint", "pjsip auth username", "chan_iax2 friend", ...
  Origin origin;
};

struct Discovery {
  std::string root;
  std::vector<ListeningPort> signalling;  // SIP and IAX2
  std::optional<PortRange> rtp;           // absent only if nothing uses RTP (no SIP, no IAX2)
  std::vector<ListeningPort> web;         // HTTP and HTTPS of Asterisk's own server
  bool webrtc = false;                    // a pjsip ws/wss transport rides on the web ports
  std::vector<ListeningPort> ami;
  std::vector<TrunkHost> trunks;
  std::vector<Account> accounts;           // one per name and driver, first definition first
  std::vector<std::string> files_read;     // watch these for changes
  std::vector<std::string> files_missing;  // optional includes that may appear later
  Diagnostics diagnostics;
};

// Reads modules.conf, pjsip.conf, sip.conf, iax.conf, rtp.conf, http.conf and manager.conf
// under root (and whatever they include) and merges what they say. Files that do not exist
// mean the feature is off (Asterisk declines to load chan_sip without sip.conf, and so on);
// a module disabled with noload in modules.conf is skipped the same way.
Discovery discover(const FileSystem& fs, const std::string& root = kDefaultAsteriskRoot);

// The distinct account names of a discovery, sorted (looked up by binary search).
std::vector<std::string> account_names(const Discovery& d);

const char* to_string(PortRole role);
const char* to_string(L4 l4);
const char* to_string(HostKind kind);

}  // namespace pbxwall::pbx
