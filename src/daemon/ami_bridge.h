// The daemon's link to Asterisk's Manager Interface: [ami] settings, and the bridge that turns
// the PBX's own security and registration events into Firewall calls. Security events reach
// the responsive engine as observations of the remote they name (so TLS and WebSocket phones,
// whose packets the packet path cannot read, are rated too); ContactStatus and PeerStatus
// validate and forget addresses. The Firewall merges both with what its packet path sees.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <toml++/toml.h>

#include "ami/client.h"
#include "ami/events.h"
#include "base/diagnostic.h"
#include "base/result.h"
#include "base/time.h"

namespace asio {
class io_context;
}

namespace pbxwall::daemon {

class Firewall;

struct AmiSettings {
  bool enabled = false;
  ami::ClientSettings client;  // host, port, username, secret (read from secret_file if given)
  bool operator==(const AmiSettings&) const = default;
};

// Reads [ami] of `root` (absent: disabled). `secret_file` is read here; a relative path is
// taken from the configuration file's directory (`source` is that file's path).
Result<AmiSettings, Diagnostics> ami_settings_from_toml(const toml::table& root, const std::string& source);
// Loads the configuration file at `path` and reads its [ami] section; errors as text lines.
Result<AmiSettings, std::string> load_ami_settings(const std::string& path);

struct AmiBridgeCounters {
  std::uint64_t security_fed = 0;          // fed to the engine
  std::uint64_t security_seen_by_packets = 0;  // the packet path rated the same attempt
  std::uint64_t security_counted = 0;      // FailedACL, RequestBadFormat, ChallengeSent: counted only
  std::uint64_t validations = 0;           // registrations that validated an address
  std::uint64_t validations_merged = 0;    // already validated about as long, or blocked: nothing taken
  std::uint64_t forgets = 0;
  std::uint64_t without_address = 0;       // registration events naming no usable address
};

class AmiBridge {
 public:
  using Log = std::function<void(int priority, const std::string& text)>;

  // The client runs on `io` (the daemon's loop); `firewall` must outlive the bridge.
  AmiBridge(asio::io_context& io, Firewall& firewall, ami::ClientSettings settings, Log log = {});
  ~AmiBridge();
  AmiBridge(const AmiBridge&) = delete;
  AmiBridge& operator=(const AmiBridge&) = delete;

  void start();
  void stop();

  // One event from the client (public for tests that drive the bridge without a socket).
  // Changes reach the kernel and the database at the end of the loop turn (one flush for a
  // burst of events).
  void on_event(const ami::Event& event);

  const AmiBridgeCounters& counters() const { return counters_; }
  const ami::Client& client() const { return *client_; }
  // The link for `status`: state, the reason of the last failure (empty once logged in),
  // where it connects and as whom, the client's and the bridge's counters.
  nlohmann::json status_json() const;

 private:
  void on_security(const ami::SecurityEvent& e);
  void on_contact(const ami::ContactStatusEvent& e);
  void on_peer(const ami::PeerStatusEvent& e);
  void schedule_flush();

  asio::io_context& io_;
  Firewall& firewall_;
  Log log_;
  AmiBridgeCounters counters_;
  std::shared_ptr<bool> flush_pending_;  // shared with the posted flush, which may outlive us
  std::unique_ptr<ami::Client> client_;
  std::string endpoint_;     // host:port
  std::string username_;
  std::string last_problem_;  // why the last connection or login failed; cleared when logged in
};

}  // namespace pbxwall::daemon
