#include "daemon/table_healer.h"

#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>

namespace pbxwall::daemon {

using packets::TableChange;
using packets::TableTransaction;

namespace {

const std::string kTable = "table inet pbxwall";

bool is_meter(const std::string& set) { return set.starts_with("flood"); }

std::string plural(std::size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

bool is_own(const TableTransaction& t, OwnIdentity& own) {
  const bool by_port = t.portid != 0 && own.portids.count(t.portid) > 0;
  const bool by_process = t.process_id != 0 && own.process_ids.count(t.process_id) > 0;
  if (by_port && t.process_id != 0) own.process_ids.insert(t.process_id);
  if (by_process && t.portid != 0) own.portids.insert(t.portid);
  return by_port || by_process;
}

std::string committed_by(const TableTransaction& t) {
  if (t.process_id != 0) return (t.process_name.empty() ? "process" : t.process_name) + " (pid " + std::to_string(t.process_id) + ")";
  if (t.portid != 0) return "netlink port " + std::to_string(t.portid);
  return {};
}

HealPlan plan_healing(const TableTransaction& t) {
  HealPlan plan;
  plan.cause.by = committed_by(t);
  if (t.incomplete) {
    plan.step = HealStep::check;
    plan.cause = {"notifications-lost", "nftables notifications lost (receive buffer full)", "", ""};
    return plan;
  }
  bool deleted = false, recreated = false, dormant = false;
  std::set<std::string> chains, sets;
  std::map<std::string, std::size_t> rules;  // chain -> rules deleted
  // Per set, each key's last change: true when deleted.
  std::map<std::string, std::map<std::vector<std::uint8_t>, bool>> elements;
  for (const auto& c : t.changes) {
    switch (c.object) {
      case TableChange::Object::table:
        if (c.deleted) {
          deleted = true;
          recreated = false;
        } else {
          recreated = recreated || deleted;
          dormant = c.dormant;
        }
        break;
      case TableChange::Object::chain:
        if (c.deleted) chains.insert(c.name);
        else chains.erase(c.name);
        break;
      case TableChange::Object::rule:
        if (c.deleted) ++rules[c.name];
        break;
      case TableChange::Object::set:
        if (c.deleted) sets.insert(c.name);
        else sets.erase(c.name);
        break;
      case TableChange::Object::elements:
        for (const auto& k : c.keys) elements[c.name][k] = c.deleted;
        break;
      case TableChange::Object::other: break;
    }
  }
  auto restore = [&](std::string rule, std::string text) {
    plan.step = HealStep::restore_table;
    plan.cause.rule = std::move(rule);
    plan.cause.text = std::move(text);
    return plan;
  };
  if (deleted && !recreated) {
    if (t.other_tables_deleted > 0)
      return restore("ruleset-flushed", "ruleset flushed (" + kTable + " and " +
                                            plural(t.other_tables_deleted, "other table", "other tables") + " deleted)");
    return restore("table-deleted", kTable + " deleted");
  }
  if (deleted) {
    plan.step = HealStep::check;
    plan.cause.rule = "table-replaced";
    plan.cause.text = kTable + " replaced";
    return plan;
  }
  if (dormant) return restore("table-changed", kTable + " made dormant");
  if (!sets.empty()) return restore("table-changed", "set " + *sets.begin() + " deleted from " + kTable);
  if (!chains.empty()) return restore("table-changed", "chain " + *chains.begin() + " deleted from " + kTable);
  if (!rules.empty())
    return restore("table-changed", plural(rules.begin()->second, "rule", "rules") + " deleted from chain " +
                                        rules.begin()->first + " of " + kTable);
  for (const auto& [set, keys] : elements) {
    const bool lost = std::any_of(keys.begin(), keys.end(), [](const auto& k) { return k.second; });
    if (!lost || is_meter(set)) continue;
    if (!packets::is_responsive_set(set)) return restore("table-changed", "elements deleted from set " + set + " of " + kTable);
    plan.sets.push_back(set);
  }
  if (!plan.sets.empty()) {
    plan.step = HealStep::readd_elements;
    plan.cause.rule = "elements-deleted";
    plan.cause.text = "elements deleted from set " + plan.sets.front();
  }
  return plan;
}

void merge(HealPlan& into, const HealPlan& other) {
  if (other.step > into.step) {
    into.step = other.step;
    into.cause = other.cause;
  }
  for (const auto& s : other.sets)
    if (std::find(into.sets.begin(), into.sets.end(), s) == into.sets.end()) into.sets.push_back(s);
  if (into.step == HealStep::none && !into.sets.empty()) into.step = HealStep::readd_elements;
}

std::vector<packets::SetElement> live_elements(const ruleset::LiveState& live, Duration min_remaining) {
  std::map<packets::SetKey, packets::SetElement> wanted;
  auto consider = [&](const packets::SetKey& key, Duration remaining, const std::string& comment) {
    if (remaining < min_remaining) return;
    auto [it, fresh] = wanted.try_emplace(key, packets::SetElement{key, remaining, comment});
    if (!fresh && it->second.timeout < remaining) it->second = packets::SetElement{key, remaining, comment};
  };
  for (const auto& b : live.blocked) consider(packets::SetKey::blocked(b.addr), b.remaining, b.comment);
  for (const auto& v : live.validated) consider(packets::SetKey::validated(v.addr), v.remaining, "");
  for (const auto& g : live.grants)
    if (g.port != 0)
      consider(packets::SetKey::grant(g.addr, g.proto == model::Proto::udp ? IPPROTO_UDP : IPPROTO_TCP, g.port),
               g.remaining, "");
  std::vector<packets::SetElement> out;
  out.reserve(wanted.size());
  for (auto& [key, e] : wanted) out.push_back(std::move(e));
  return out;
}

std::vector<packets::SetElement> missing_elements(const ruleset::LiveState& live,
                                                  const std::map<std::string, std::set<packets::SetKey>>& kernel,
                                                  Duration min_remaining) {
  std::vector<packets::SetElement> out;
  for (auto& e : live_elements(live, min_remaining)) {
    const auto set = kernel.find(e.key.set_name());
    if (set != kernel.end() && set->second.count(e.key) == 0) out.push_back(std::move(e));
  }
  return out;
}

// ---- TableHealer -------------------------------------------------------------------------

struct TableHealer::Timers {
  explicit Timers(asio::io_context& io) : tick(io) {}
  asio::steady_timer tick;
  std::unique_ptr<asio::posix::stream_descriptor> notifications;
  bool stopped = false;
};

TableHealer::TableHealer(asio::io_context& io, Firewall& firewall, packets::TableWatch* watch, Log log,
                         HealerOptions options)
    : firewall_(firewall), watch_(watch), log_(std::move(log)), options_(std::move(options)),
      timers_(std::make_unique<Timers>(io)) {
  if (watch_ != nullptr)
    timers_->notifications = std::make_unique<asio::posix::stream_descriptor>(io, ::dup(watch_->fd()));
}

TableHealer::~TableHealer() { stop(); }

void TableHealer::start() {
  timers_->stopped = false;
  wait_notifications();
  schedule_tick();
}

void TableHealer::stop() {
  timers_->stopped = true;
  timers_->tick.cancel();
  if (timers_->notifications) timers_->notifications->cancel();
}

void TableHealer::wait_notifications() {
  if (!timers_->notifications) return;
  timers_->notifications->async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec || timers_->stopped) return;
    auto drained = watch_->drain([this](const TableTransaction& t) { on_transaction(t); });
    if (!drained.ok()) log_(4, drained.error());
    act();
    wait_notifications();
  });
}

void TableHealer::schedule_tick() {
  timers_->tick.expires_after(std::chrono::seconds(1));
  timers_->tick.async_wait([this](std::error_code ec) {
    if (ec || timers_->stopped) return;
    tick();
    schedule_tick();
  });
}

void TableHealer::on_transaction(const TableTransaction& t) {
  if (!t.incomplete && is_own(t, options_.own)) return;
  merge(planned_, plan_healing(t));
}

void TableHealer::act() {
  HealPlan plan = std::move(planned_);
  planned_ = HealPlan{};
  if (plan.step == HealStep::none) return;
  if (firewall_.table_stopped()) {
    log_(6, "table inet pbxwall: " + plan.cause.text + "; not restored, it was removed by `pbxwall stop`");
    return;
  }
  switch (plan.step) {
    case HealStep::restore_table: restore(plan.cause); break;
    case HealStep::check: check(plan.cause); break;
    case HealStep::readd_elements: reconcile(plan.cause, plan.sets); break;
    case HealStep::none: break;
  }
}

void TableHealer::restore(const HealCause& cause) {
  auto st = firewall_.restore_table(cause);
  if (st.ok()) {
    if (restore_pending_) log_(6, "table inet pbxwall restored after earlier attempts failed");
    restore_pending_.reset();
    return;
  }
  if (!restore_pending_)
    log_(3, "cannot restore table inet pbxwall after " + cause.text + (cause.by.empty() ? "" : " by " + cause.by) +
                (cause.detail.empty() ? "" : " (" + cause.detail + ")") + ": " + st.error() + "; retrying every second");
  restore_pending_ = cause;
}

void TableHealer::check(const HealCause& cause) {
  packets::SetReader* reader = firewall_.kernel_reader();
  if (reader == nullptr) return restore(cause);
  auto exists = reader->table_exists();
  if (!exists.ok()) {
    log_(4, exists.error());
    return;
  }
  if (!*exists) {
    HealCause missing = cause;
    missing.rule = "table-missing";
    missing.text = kTable + " missing (" + cause.text + ")";
    return restore(missing);
  }
  reconcile(cause, {});
}

void TableHealer::reconcile(const HealCause& cause, const std::vector<std::string>& sets) {
  auto readded = firewall_.reconcile_sets(cause, sets);
  if (readded.ok()) return;
  // A set that cannot be read or written (deleted, replaced by one of another type): the
  // whole table is rendered again.
  HealCause broken = cause;
  broken.rule = "table-changed";
  broken.detail = readded.error();
  restore(broken);
}

void TableHealer::tick() {
  ++ticks_;
  if (firewall_.table_stopped()) return;
  // Another process's transaction may have gone unseen while the daemon applied its table.
  if (watch_ != nullptr && watch_->take_unheard())
    check({"notifications-lost", "nftables changes of other processes unseen during pbxwalld's own apply", "", ""});
  if (restore_pending_) {
    restore(*restore_pending_);
    if (restore_pending_) return;
  }
  if (firewall_.set_updates_owed() > 0) {
    const std::size_t owed = firewall_.set_updates_owed();
    auto st = firewall_.retry_set_updates();
    if (!st.ok()) {
      if (!updates_failing_)
        log_(4, "the kernel refused set updates: " + st.error() + "; " + std::to_string(owed) +
                    " changes owed, retried every second");
      updates_failing_ = true;
      // A table that went without a notification (a process owning it exited) is put back.
      check({"table-missing", "set update refused", "", ""});
      return;
    }
  }
  if (updates_failing_ && firewall_.set_updates_owed() == 0) {
    log_(6, "set updates accepted by the kernel again");
    updates_failing_ = false;
  } else if (!updates_failing_ && firewall_.set_updates_owed() > 0) {
    log_(4, "the kernel refused set updates: " + firewall_.set_update_error().value_or("") + "; " +
                std::to_string(firewall_.set_updates_owed()) + " changes owed, retried every second");
    updates_failing_ = true;
  }
  if (options_.reconcile_ticks > 0 && ticks_ % options_.reconcile_ticks == 0) check({"reconcile", "periodic check", "", ""});
}

}  // namespace pbxwall::daemon
