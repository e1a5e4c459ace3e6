#include "dns/trunk_resolver.h"

#include <algorithm>

namespace pbxwall::dns {

const char* to_string(QueryType type) {
  switch (type) {
    case QueryType::a: return "A";
    case QueryType::aaaa: return "AAAA";
    case QueryType::srv: return "SRV";
  }
  return "?";
}

const char* to_string(AnswerStatus status) {
  switch (status) {
    case AnswerStatus::ok: return "ok";
    case AnswerStatus::no_name: return "no such name";
    case AnswerStatus::failure: return "failure";
  }
  return "?";
}

const char* to_string(TrunkHealth health) {
  switch (health) {
    case TrunkHealth::pending: return "pending";
    case TrunkHealth::resolved: return "resolved";
    case TrunkHealth::no_name: return "no_name";
    case TrunkHealth::no_address: return "no_address";
    case TrunkHealth::failing: return "failing";
  }
  return "?";
}

namespace {

std::string normalised(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  while (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

}  // namespace

TrunkResolver::TrunkResolver(RefreshBounds bounds) : bounds_(bounds) {}

bool TrunkResolver::set_names(const std::vector<std::string>& names, TimePoint now) {
  const auto before = address_set();
  std::vector<std::string> wanted;
  for (const auto& n : names) {
    auto name = normalised(n);
    if (!name.empty() && std::find(wanted.begin(), wanted.end(), name) == wanted.end()) wanted.push_back(name);
  }
  names_ = std::move(wanted);
  rebuild_targets(now);
  return address_set() != before;
}

void TrunkResolver::rebuild_targets(TimePoint now) {
  // The wanted questions: the configured names' own questions, then the targets of their
  // SRV answers. Entries not wanted any more go; new ones are due now.
  std::set<Question> wanted;
  for (const auto& name : names_) {
    wanted.insert({name, QueryType::a});
    wanted.insert({name, QueryType::aaaa});
    for (const char* prefix : kSrvPrefixes) wanted.insert({prefix + name, QueryType::srv});
  }
  for (const auto& q : wanted) {
    if (q.type != QueryType::srv) continue;
    auto it = entries_.find(q);
    if (it == entries_.end()) continue;
    for (const auto& t : it->second.targets) {
      wanted.insert({t.target, QueryType::a});
      wanted.insert({t.target, QueryType::aaaa});
    }
  }
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = wanted.count(it->first) ? std::next(it) : entries_.erase(it);
  }
  for (const auto& q : wanted) {
    if (!entries_.count(q)) entries_[q].next = now;
  }
}

std::vector<Question> TrunkResolver::due(TimePoint now) {
  std::vector<Question> out;
  for (auto& [q, e] : entries_) {
    if (e.in_flight || e.next > now) continue;
    e.in_flight = true;
    out.push_back(q);
  }
  return out;
}

std::optional<TimePoint> TrunkResolver::next_due() const {
  std::optional<TimePoint> next;
  for (const auto& [q, e] : entries_) {
    if (e.in_flight) continue;
    if (!next || e.next < *next) next = e.next;
  }
  return next;
}

void TrunkResolver::refresh_all(TimePoint now) {
  for (auto& [q, e] : entries_) e.next = std::min(e.next, now);
}

bool TrunkResolver::on_answer(const Question& question, const Answer& answer, TimePoint now) {
  auto it = entries_.find(question);
  if (it == entries_.end()) return false;
  Entry& e = it->second;
  e.in_flight = false;
  e.status = answer.status;
  e.error = answer.status == AnswerStatus::failure ? (answer.error.empty() ? "no answer" : answer.error) : "";
  e.at = now;
  if (answer.status == AnswerStatus::failure) {
    ++counters_.failures;
    e.next = now + bounds_.retry;
    return false;  // the last good answer stays
  }
  ++counters_.answers;
  const auto before = address_set();
  Duration ttl = answer.ttl;
  if (answer.status == AnswerStatus::no_name || ttl <= Duration(0)) ttl = bounds_.min_refresh;
  e.next = now + std::clamp(ttl, bounds_.min_refresh, bounds_.max_refresh);
  e.answered = true;
  e.ttl = answer.ttl;
  if (question.type == QueryType::srv) {
    std::vector<SrvTarget> targets;
    if (answer.status == AnswerStatus::ok)
      for (auto t : answer.targets) {
        t.target = normalised(t.target);
        if (!t.target.empty()) targets.push_back(t);
      }
    const bool targets_changed = targets != e.targets;
    e.targets = std::move(targets);
    if (targets_changed) rebuild_targets(now);
  } else {
    std::vector<IpAddress> addrs;
    if (answer.status == AnswerStatus::ok)
      for (const auto& a : answer.addresses)
        if (a.is_v4() == (question.type == QueryType::a)) addrs.push_back(a);
    std::sort(addrs.begin(), addrs.end());
    addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
    e.addresses = std::move(addrs);
  }
  const bool changed = address_set() != before;
  if (changed) ++counters_.changes;
  return changed;
}

std::set<IpAddress> TrunkResolver::address_set() const {
  std::set<IpAddress> out;
  for (const auto& [q, e] : entries_)
    for (const auto& a : e.addresses) out.insert(a);
  return out;
}

std::vector<IpAddress> TrunkResolver::addresses() const {
  const auto set = address_set();
  return {set.begin(), set.end()};
}

std::map<std::string, std::vector<IpAddress>> TrunkResolver::addresses_by_name() const {
  std::map<std::string, std::vector<IpAddress>> out;
  for (const auto& name : names_) {
    std::set<IpAddress> addrs;
    auto take = [&](const std::string& n) {
      for (auto type : {QueryType::a, QueryType::aaaa})
        if (auto it = entries_.find({n, type}); it != entries_.end())
          addrs.insert(it->second.addresses.begin(), it->second.addresses.end());
    };
    take(name);
    for (const char* prefix : kSrvPrefixes)
      if (auto it = entries_.find({prefix + name, QueryType::srv}); it != entries_.end())
        for (const auto& t : it->second.targets) take(t.target);
    out[name] = {addrs.begin(), addrs.end()};
  }
  return out;
}

std::vector<TrunkNameState> TrunkResolver::states() const {
  std::vector<TrunkNameState> out;
  for (const auto& name : names_) {
    TrunkNameState st;
    st.name = name;
    std::set<IpAddress> addrs;
    bool pending = false;
    std::string error;
    // One A/AAAA question: its addresses, TTL, error and time count for the name.
    auto take = [&](const std::string& n, QueryType type) {
      const auto it = entries_.find({n, type});
      if (it == entries_.end()) return;
      const Entry& e = it->second;
      if (!e.at) pending = true;
      if (!e.addresses.empty()) {
        addrs.insert(e.addresses.begin(), e.addresses.end());
        if (e.ttl > Duration(0) && (st.ttl == Duration(0) || e.ttl < st.ttl)) st.ttl = e.ttl;
      }
      if (!e.error.empty() && error.empty()) error = e.error;
      if (e.at && (!st.answered || *e.at > *st.answered)) st.answered = e.at;
    };
    take(name, QueryType::a);
    take(name, QueryType::aaaa);
    for (const char* prefix : kSrvPrefixes)
      if (auto it = entries_.find({prefix + name, QueryType::srv}); it != entries_.end())
        for (const auto& t : it->second.targets) {
          take(t.target, QueryType::a);
          take(t.target, QueryType::aaaa);
        }
    const auto own = entries_.find({name, QueryType::a});
    const bool nxdomain = own != entries_.end() && own->second.status == AnswerStatus::no_name;
    st.addresses = {addrs.begin(), addrs.end()};
    st.error = error;
    if (!st.addresses.empty()) st.health = TrunkHealth::resolved;
    else if (nxdomain) st.health = TrunkHealth::no_name;
    else if (!error.empty()) st.health = TrunkHealth::failing;
    else if (pending) st.health = TrunkHealth::pending;
    else st.health = TrunkHealth::no_address;
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace pbxwall::dns
