// The Firewall's side of healing its table (see table_healer.h): rendering it again with the
// live state, re-adding the elements the kernel lost, resending refused set changes, and what
// status reports about it.
#include <chrono>

#include "daemon/firewall.h"
#include "daemon/table_healer.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

std::string count_text(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string cause_text(const HealCause& cause) {
  return cause.text + (cause.by.empty() ? "" : " by " + cause.by) + (cause.detail.empty() ? "" : " (" + cause.detail + ")");
}

}  // namespace

void Firewall::note_heal(const HealCause& cause, const std::string& outcome) {
  store::EventRecord e;
  e.time = edges_.clock.now();
  e.kind = "restore";
  e.rule = cause.rule;
  e.reason = cause_text(cause) + "; " + outcome;
  heal_.last = e.reason;
  pending_events_.push_back(std::move(e));
}

Status<std::string> Firewall::restore_table(const HealCause& cause) {
  if (!loaded_) return fail(std::string("not started"));
  flush();  // the table about to be rendered must hold this tick's decisions
  const TimePoint now = edges_.clock.now();
  const auto live = live_state(now);
  const std::size_t grants = grants_.live(now).size();
  auto applied = apply(*loaded_);
  if (!applied.ok()) {
    ++heal_.table_restore_failures;
    // nft repeats its complaint per line of the script: the first line says it.
    const std::string why = applied.error().substr(0, applied.error().find('\n'));
    return fail("the kernel refused table inet pbxwall: " + why);
  }
  ++heal_.table_restores;
  note_heal(cause, "table inet pbxwall restored with " + count_text(live.blocked.size() + live.blocked_nets.size(), "block", "blocks") +
                       ", " + count_text(live.validated.size(), "validation", "validations") + ", " +
                       count_text(grants, "grant", "grants") + ", " + count_text(trunks_.size(), "trunk", "trunks"));
  flush();
  return {};
}

Result<std::size_t, std::string> Firewall::reconcile_sets(const HealCause& cause, std::vector<std::string> sets) {
  if (!loaded_ || kernel_reader_ == nullptr || table_removed_) return std::size_t{0};
  flush();  // this tick's changes first: they are part of what the kernel should hold
  if (sets.empty()) sets.assign(std::begin(packets::kResponsiveSets), std::end(packets::kResponsiveSets));
  const TimePoint now = edges_.clock.now();
  auto live = live_state(now);
  live.grants = grants_.live(now);
  // Per set, the keys the daemon holds; the kernel is asked about those only.
  std::map<std::string, std::vector<packets::SetElement>> wanted;
  for (const auto& name : sets) wanted[name];
  for (auto& e : live_elements(live, std::chrono::seconds(2)))
    if (auto it = wanted.find(e.key.set_name()); it != wanted.end()) it->second.push_back(std::move(e));
  std::vector<packets::SetElement> missing;
  std::set<std::string> emptied;  // sets that lack every element the daemon holds
  for (const auto& [name, elements] : wanted) {
    std::vector<packets::SetKey> keys;
    keys.reserve(elements.size());
    for (const auto& e : elements) keys.push_back(e.key);
    auto absent = kernel_reader_->absent(name, keys);
    if (!absent.ok()) return fail(absent.error());
    if (!absent->empty() && absent->size() == keys.size()) emptied.insert(name);
    // Both lists follow the order of the keys.
    auto a = absent->begin();
    for (const auto& e : elements)
      if (a != absent->end() && *a == e.key) {
        missing.push_back(e);
        ++a;
      }
  }
  ++heal_.reconciliations;
  if (missing.empty()) return std::size_t{0};
  std::map<std::string, std::size_t> per_set;
  for (const auto& e : missing) {
    edges_.sets.add(e);
    ++per_set[e.key.set_name()];
  }
  const auto failures = counters_.kernel_failures;
  flush();
  if (counters_.kernel_failures != failures)
    return fail("re-adding " + count_text(missing.size(), "element", "elements") + ": " + sets_->last_error().value_or(""));
  heal_.elements_readded += missing.size();
  // A set the kernel holds nothing of was flushed; otherwise some of its elements went.
  HealCause described = cause;
  std::string what;
  for (const auto& [name, n] : per_set) {
    std::string part;
    if (cause.rule == "reconcile") {
      part = "set " + name + " lacked " + count_text(n, "element", "elements") + " pbxwalld holds";
    } else if (emptied.count(name) > 0) {
      part = "set " + name + " flushed";
      described.rule = "set-flushed";
    } else {
      part = count_text(n, "element", "elements") + " deleted from set " + name;
    }
    what += (what.empty() ? "" : ", ") + part;
  }
  described.text = cause.rule == "reconcile" ? "periodic check: " + what : what;
  note_heal(described, count_text(missing.size(), "element", "elements") + " re-added");
  flush();
  return missing.size();
}

Status<std::string> Firewall::retry_set_updates() {
  if (sets_->owed() == 0 || table_removed_) return {};
  auto st = sets_->retry();
  if (st.ok()) ++counters_.kernel_commits;
  else ++counters_.kernel_failures;
  return st;
}

json Firewall::table_present() {
  if (kernel_reader_ == nullptr) return !table_removed_;
  auto exists = kernel_reader_->table_exists();
  if (!exists.ok()) return nullptr;
  return *exists;
}

json Firewall::heal_json() {
  return {{"table_restores", heal_.table_restores},
          {"table_restore_failures", heal_.table_restore_failures},
          {"elements_readded", heal_.elements_readded},
          {"reconciliations", heal_.reconciliations},
          {"set_updates_owed", sets_->owed()},
          {"set_update_retries", sets_->stats().retries},
          {"set_update_error", sets_->last_error() ? json(*sets_->last_error()) : json(nullptr)},
          {"last_heal", heal_.last.empty() ? json(nullptr) : json(heal_.last)}};
}

}  // namespace pbxwall::daemon
