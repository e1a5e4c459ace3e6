// The state database's health as the daemon sees it: blocks read back from the kernel at
// start, the status fields and metrics of failed writes, the web UI's warnings.
#include <chrono>

#include "daemon/firewall.h"
#include "base/plural.h"
#include "kernel/set_listing.h"
#include "daemon/time_json.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

// How long an element read back from the kernel has left: its expiry, else its timeout (a
// listing of a script that was never applied has no expiry), else `fallback`.
Duration left_of(const kernel::ListedElement& e, Duration fallback) {
  if (e.expires) return *e.expires;
  if (e.timeout) return *e.timeout;
  return fallback;
}

std::string recovery_text(const KernelRecovery& r) {
  return counted(r.blocks, "block") + " and " + counted(r.validated, "validation") + " read back from the kernel sets";
}

}  // namespace

void Firewall::recover_from_kernel(TimePoint now) {
  auto listing = edges_.applier.list_table();
  if (!listing.ok() || listing->empty()) return;  // no table yet: nothing to keep
  std::set<std::string> blocked, validated;
  for (const auto& b : writes_.active_blocks(now)) blocked.insert(b.address);
  for (const auto& v : writes_.active_validated(now)) validated.insert(v.address);

  KernelRecovery found;
  for (const char* set : {"blocked4", "blocked6", "blocked_nets4", "blocked_nets6"}) {
    auto elements = kernel::listed_elements(*listing, set);
    if (!elements.ok()) continue;
    for (const auto& e : *elements) {
      std::string address;
      if (auto a = IpAddress::parse(e.key)) {
        if (never_block(*a)) continue;
        address = a->str();
      } else if (auto net = Cidr::parse(e.key)) {
        address = net->str();
      } else {
        continue;
      }
      if (!blocked.insert(address).second) continue;
      const Duration left = left_of(e, std::chrono::hours(24));
      if (left <= Duration(0)) continue;
      // Without a comment the kernel's own flood meter put it there (the safety net).
      const bool by_meter = e.comment.empty();
      writes_.queue(RecoveredBlock{{address, by_meter ? "flood" : "kernel",
                                    by_meter ? "flood (kernel safety net), read back from the kernel set"
                                             : e.comment,
                                    now, now + left, 1}});
      ++found.blocks;
    }
  }
  for (const char* set : {"validated4", "validated6"}) {
    auto elements = kernel::listed_elements(*listing, set);
    if (!elements.ok()) continue;
    for (const auto& e : *elements) {
      auto a = IpAddress::parse(e.key);
      if (!a || !validated.insert(a->str()).second) continue;
      const Duration left = left_of(e, std::chrono::hours(1));
      if (left <= Duration(0)) continue;
      const std::string user = e.comment.starts_with("user ") ? e.comment.substr(5) : e.comment;
      writes_.queue(store::ValidatedRecord{a->str(), user, now + left});
      ++found.validated;
    }
  }
  kernel_recovery_ = found;
  if (found.blocks == 0 && found.validated == 0 && !options_.state_set_aside) return;
  std::string reason;
  if (options_.state_set_aside)
    reason = "the state database was damaged (" + options_.state_set_aside->why + ") and was moved to " +
             options_.state_set_aside->path + "; ";
  reason += recovery_text(found);
  store::EventRecord e;
  e.time = now;
  e.kind = "state";
  e.rule = "store";
  e.reason = reason;
  pending_events_.push_back(std::move(e));
  flush();
}

void Firewall::add_state_status(json& status) const {
  const auto& h = writes_.health();
  json state = {{"ok", h.ok && h.unsaved == 0},
                {"unsaved", h.unsaved},
                {"write_failures", h.failures},
                {"dropped", h.dropped},
                {"error", h.error},
                {"failing_since", time_json(h.failing_since)},
                {"recovered_blocks", kernel_recovery_.blocks},
                {"recovered_validated", kernel_recovery_.validated}};
  state["schema"] = options_.state_schema;
  if (options_.state_schema_at_open > 0 && options_.state_schema_at_open < options_.state_schema)
    state["migrated_from"] = options_.state_schema_at_open;
  if (options_.state_set_aside)
    state["set_aside"] = {{"path", options_.state_set_aside->path}, {"why", options_.state_set_aside->why}};
  status["state"] = state;
  // Flat, for the metrics (http/metrics_text.cpp).
  status["store_failures"] = h.failures;
  status["store_unsaved"] = h.unsaved;
  status["store_dropped"] = h.dropped;
  status["store_alarm"] = (h.ok && h.unsaved == 0) ? 0 : 1;
}

void Firewall::add_state_warnings(json& warnings) const {
  const auto& h = writes_.health();
  if (!h.ok || h.unsaved > 0) {
    std::string text = counted(h.unsaved, "change") + " (blocks, validations, events) " + (h.unsaved == 1 ? "is" : "are") + " not saved in the state database";
    if (!h.error.empty()) text += ": " + h.error;
    text += ". They are in effect in the kernel and kept in memory; they are written as soon as the database accepts them. Free disk space "
            "under the state directory (or fix its file system) before pbxwalld is restarted.";
    if (h.dropped > 0) text += " " + std::to_string(h.dropped) + " older changes were dropped already.";
    warnings.push_back({{"kind", "state_not_saved"}, {"unsaved", h.unsaved}, {"dropped", h.dropped}, {"text", text}});
  }
  if (options_.state_set_aside)
    warnings.push_back({{"kind", "state_set_aside"},
                        {"path", options_.state_set_aside->path},
                        {"text", "The state database was damaged (" + options_.state_set_aside->why + ") and was moved to " +
                                     options_.state_set_aside->path + " at start; a new one replaced it, with " +
                                     recovery_text(kernel_recovery_) + "."}});
}

}  // namespace pbxwall::daemon
