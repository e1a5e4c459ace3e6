// The bans pulled from the LAPI, as the firewall holds them: which networks are blocked until
// when and by whose decision, and what the kernel set holds, so each pull becomes one small
// change to the kernel (deltas, never a rewrite). Pure: the caller gives the time, and says
// through callbacks which networks must stay open and which decisions it pushed itself.
//
// The kernel sets of networks (crowdsec_nets4/6) are interval sets, which refuse overlapping
// elements: of nested networks only the outermost is in the kernel (an address inside a banned
// network too); an inner one goes in when the outer one ends.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/address.h"
#include "base/time.h"
#include "crowdsec/decision.h"

namespace pbxwall::crowdsec {

// A network to leave open, and why ("trusted network", "trunk", "validated: user 201").
using SpareCheck = std::function<std::optional<std::string>(const Cidr&)>;
// True for a decision this server pushed and already enforces with its own block.
using OwnCheck = std::function<bool(const Cidr&, const LapiDecision&)>;

struct Spared {
  Cidr net;
  std::string label;   // origin_label of the decision
  std::string reason;  // from the SpareCheck
};

// What one pull did.
struct PullReport {
  std::uint64_t added = 0;      // ban decisions now held
  std::uint64_t deleted = 0;    // decisions that went away
  std::uint64_t own = 0;        // this server's own decisions, already enforced
  std::uint64_t filtered = 0;   // refused by the DecisionFilter
  std::uint64_t skipped = 0;    // not bans of scope Ip/Range, or already expired
  std::vector<Spared> spared;   // left open
  std::map<std::string, std::uint64_t> added_by_origin;
};

// Elements to take out of and put into the kernel sets, in one transaction.
struct KernelChange {
  std::vector<Cidr> remove;
  std::vector<std::pair<Cidr, Duration>> add;  // remaining time, rounded up to whole seconds
  bool empty() const { return remove.empty() && add.empty(); }
};

struct SharedBlock {
  Cidr net;
  TimePoint until;
  std::string label;  // "crowdsec:<origin>/<scenario>"
};

class SharedBlocks {
 public:
  // Applies one stream answer. `startup`: the answer lists every active decision, so whatever
  // is held and not in it is gone.
  PullReport apply(const StreamDelta& delta, bool startup, TimePoint now, const DecisionFilter& filter,
                   const SpareCheck& spare, const OwnCheck& own);

  // What the kernel must change to hold the active outermost networks, and records it as done.
  // Elements that end within `settle` of `now` are left to the kernel's own timeout (a delete
  // racing it would fail the whole transaction).
  KernelChange kernel_change(TimePoint now, Duration settle = std::chrono::seconds(2));
  // The kernel lost the change (a failed transaction, the table rendered anew): forget what it
  // holds, so the next kernel_change() lists everything.
  void kernel_reset() { kernel_.clear(); }
  // The kernel's content as kernel_change() left it (for rendering the table anew).
  std::vector<std::pair<Cidr, Duration>> kernel_content(TimePoint now) const;

  // Active blocks, in network order.
  std::vector<SharedBlock> blocks(TimePoint now) const;
  // The active blocks after `after` (all when nullopt), in network order, until `each` returns
  // false: a page of a listing without copying every block.
  void each_block(TimePoint now, const std::optional<Cidr>& after, const std::function<bool(const SharedBlock&)>& each) const;
  std::size_t size() const { return nets_.size(); }
  std::size_t kernel_size() const { return kernel_.size(); }
  // The block held for exactly `net`, if any.
  std::optional<SharedBlock> find(const Cidr& net, TimePoint now) const;

 private:
  struct Held {
    TimePoint until;
    std::string label;
  };
  // Per network, its decisions by id (a network can be banned by several).
  std::map<Cidr, std::map<std::int64_t, Held>> nets_;
  std::map<Cidr, TimePoint> kernel_;  // what the kernel sets hold, with their end
  void expire(TimePoint now);
};

// The nft commands of `change` for table inet pbxwall's sets of shared bans: addresses in
// crowdsec4/crowdsec6 (hash sets, where nft adds and deletes without reading the set back),
// networks in crowdsec_nets4/crowdsec_nets6 (interval sets).
std::string kernel_script(const KernelChange& change);
// The nft commands that empty those four sets.
std::string flush_script();

}  // namespace pbxwall::crowdsec
