// Per-extension access: when an extension validates from an address, that address may reach the
// services of its user (the kernel's grants sets, `addr . l4proto . port`) for as long as the
// validation lasts; when the validation is forgotten or expires, the grants go with it.
// GrantTable remembers what each address was granted so that removal and a ruleset reload
// (which rebuilds the sets from this table) are exact.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "model/model.h"
#include "packets/set_updater.h"
#include "ruleset/ruleset.h"

namespace pbxwall::daemon {

struct GrantPort {
  model::Proto proto = model::Proto::tcp;
  std::uint16_t port = 0;
  auto operator<=>(const GrantPort&) const = default;
  bool operator==(const GrantPort&) const = default;
};

// Most ports one service may put into the grants sets (each port is one set element).
inline constexpr std::size_t kMaxGrantPortsPerService = 64;

// The ports of the named services among `services` (the effective services, discovered ports
// applied), sorted and without duplicates. Names not found are skipped (the configuration
// reader has already refused unknown names).
std::vector<GrantPort> grant_ports(const std::vector<model::Service>& services, const std::vector<std::string>& names);

class GrantTable {
 public:
  // `addr` may reach `ports` until `until`: queues the set changes (new ports added with the
  // remaining time as timeout, ports it no longer has removed).
  void grant(const IpAddress& addr, const std::string& user, std::vector<GrantPort> ports, TimePoint until,
             TimePoint now, packets::SetUpdater& sets);
  // Removes every grant of `addr`; returns how many ports it had.
  std::size_t revoke(const IpAddress& addr, packets::SetUpdater& sets);
  // Recomputes every holder's ports (the configuration or the PBX's ports changed). Set
  // changes are not queued: the caller re-renders the table with live().
  void recompute(const std::function<std::vector<GrantPort>(const std::string& user)>& ports_of, TimePoint now);
  // Unexpired grants, for rendering the table.
  std::vector<ruleset::GrantEntry> live(TimePoint now) const;

  std::size_t holders() const { return held_.size(); }
  std::vector<GrantPort> ports_of(const IpAddress& addr) const;

 private:
  struct Held {
    std::string user;
    std::vector<GrantPort> ports;
    TimePoint until{};
  };
  std::map<IpAddress, Held> held_;
};

}  // namespace pbxwall::daemon
