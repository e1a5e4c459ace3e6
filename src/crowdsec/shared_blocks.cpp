#include "crowdsec/shared_blocks.h"

#include <algorithm>

namespace pbxwall::crowdsec {

namespace {

std::string element_text(const Cidr& net) {
  return net.is_host() ? net.address().str() : net.address().str() + "/" + std::to_string(net.prefix());
}

std::int64_t whole_seconds_up(Duration d) {
  return std::max<std::int64_t>(1, (d.count() + 999'999) / 1'000'000);
}

const char* set_name(Family family, bool hosts) {
  if (hosts) return family == Family::v4 ? "crowdsec4" : "crowdsec6";
  return family == Family::v4 ? "crowdsec_nets4" : "crowdsec_nets6";
}

}  // namespace

void SharedBlocks::expire(TimePoint now) {
  for (auto it = nets_.begin(); it != nets_.end();) {
    auto& decisions = it->second;
    std::erase_if(decisions, [now](const auto& d) { return d.second.until <= now; });
    it = decisions.empty() ? nets_.erase(it) : std::next(it);
  }
  std::erase_if(kernel_, [now](const auto& k) { return k.second <= now; });
}

PullReport SharedBlocks::apply(const StreamDelta& delta, bool startup, TimePoint now, const DecisionFilter& filter,
                               const SpareCheck& spare, const OwnCheck& own) {
  PullReport report;
  if (startup) nets_.clear();
  expire(now);
  for (const auto& d : delta.deleted) {
    auto target = ban_target(LapiDecision{d.id, d.origin, d.scenario, d.scope, d.type, d.value, std::chrono::seconds(1)});
    if (!target.ok()) continue;
    auto it = nets_.find(target->net);
    if (it == nets_.end()) continue;
    // A delete names one decision; others on the same network stay. Without an id (a LAPI
    // that leaves it out), the network goes.
    const std::size_t erased = d.id != 0 ? it->second.erase(d.id) : std::exchange(it->second, {}).size();
    report.deleted += erased;
    if (it->second.empty()) nets_.erase(it);
  }
  for (const auto& d : delta.added) {
    auto target = ban_target(d);
    if (!target.ok()) {
      ++report.skipped;
      continue;
    }
    if (!filter.accepts(d)) {
      ++report.filtered;
      continue;
    }
    if (own && own(target->net, d)) {
      ++report.own;
      continue;
    }
    if (spare) {
      if (auto why = spare(target->net)) {
        report.spared.push_back({target->net, origin_label(d), *why});
        continue;
      }
    }
    nets_[target->net][d.id] = Held{now + target->remaining, origin_label(d)};
    ++report.added;
    ++report.added_by_origin[d.origin];
  }
  return report;
}

KernelChange SharedBlocks::kernel_change(TimePoint now, Duration settle) {
  expire(now);
  // Outermost networks and their end: in address order a network follows the one holding it,
  // with nothing outside it in between, so comparing with the last one kept is enough.
  std::map<Cidr, TimePoint> wanted;
  const Cidr* last = nullptr;
  for (const auto& [net, decisions] : nets_) {
    if (last && last->family() == net.family() && last->prefix() <= net.prefix() && last->contains(net.address()))
      continue;
    TimePoint until = now;
    for (const auto& [id, held] : decisions) until = std::max(until, held.until);
    wanted.emplace(net, until);
    last = &net;
  }
  KernelChange change;
  for (auto it = kernel_.begin(); it != kernel_.end();) {
    const bool settling = it->second <= now + settle;
    auto w = wanted.find(it->first);
    const bool keep = w != wanted.end() && (w->second == it->second || settling);
    if (keep || settling) {
      ++it;
      continue;
    }
    change.remove.push_back(it->first);  // gone, or its end moved: taken out, then put back
    it = kernel_.erase(it);
  }
  for (const auto& [net, until] : wanted) {
    if (kernel_.contains(net)) continue;
    change.add.emplace_back(net, until - now);
    kernel_.emplace(net, until);
  }
  return change;
}

std::vector<std::pair<Cidr, Duration>> SharedBlocks::kernel_content(TimePoint now) const {
  std::vector<std::pair<Cidr, Duration>> out;
  out.reserve(kernel_.size());
  for (const auto& [net, until] : kernel_)
    if (until > now) out.emplace_back(net, until - now);
  return out;
}

std::vector<SharedBlock> SharedBlocks::blocks(TimePoint now) const {
  std::vector<SharedBlock> out;
  out.reserve(nets_.size());
  each_block(now, std::nullopt, [&out](const SharedBlock& b) {
    out.push_back(b);
    return true;
  });
  return out;
}

void SharedBlocks::each_block(TimePoint now, const std::optional<Cidr>& after,
                              const std::function<bool(const SharedBlock&)>& each) const {
  for (auto it = after ? nets_.upper_bound(*after) : nets_.begin(); it != nets_.end(); ++it) {
    const Held* best = nullptr;
    for (const auto& [id, held] : it->second)
      if (held.until > now && (!best || held.until > best->until)) best = &held;
    if (best && !each(SharedBlock{it->first, best->until, best->label})) return;
  }
}

std::optional<SharedBlock> SharedBlocks::find(const Cidr& net, TimePoint now) const {
  auto it = nets_.find(net);
  if (it == nets_.end()) return std::nullopt;
  std::optional<SharedBlock> out;
  for (const auto& [id, held] : it->second)
    if (held.until > now && (!out || held.until > out->until)) out = SharedBlock{net, held.until, held.label};
  return out;
}

std::string flush_script() {
  std::string script;
  for (Family f : {Family::v4, Family::v6})
    for (bool hosts : {true, false}) script += std::string("flush set inet pbxwall ") + set_name(f, hosts) + "\n";
  return script;
}

std::string kernel_script(const KernelChange& change) {
  constexpr std::size_t kPerCommand = 4096;  // elements per add/delete command
  std::string script;
  const auto emit = [&script](const char* verb, Family family, bool hosts, const auto& items, auto text_of) {
    std::size_t in_command = 0;
    for (const auto& item : items) {
      const Cidr& net = [&]() -> const Cidr& {
        if constexpr (std::is_same_v<std::decay_t<decltype(item)>, Cidr>) return item;
        else return item.first;
      }();
      if (net.family() != family) continue;
      if (net.is_host() != hosts) continue;
      if (in_command == 0) {
        script += verb;
        script += " element inet pbxwall ";
        script += set_name(family, hosts);
        script += " { ";
      } else {
        script += ", ";
      }
      script += text_of(item);
      if (++in_command == kPerCommand) {
        script += " }\n";
        in_command = 0;
      }
    }
    if (in_command > 0) script += " }\n";
  };
  for (Family f : {Family::v4, Family::v6})
    for (bool hosts : {true, false}) {
      emit("delete", f, hosts, change.remove, [](const Cidr& net) { return element_text(net); });
      emit("add", f, hosts, change.add, [](const std::pair<Cidr, Duration>& e) {
        return element_text(e.first) + " timeout " + std::to_string(whole_seconds_up(e.second)) + "s";
      });
    }
  return script;
}

}  // namespace pbxwall::crowdsec
