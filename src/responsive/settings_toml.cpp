// [responsive] keys → Settings. Every problem is reported with file:line:column and the key.
#include "responsive/settings_toml.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "base/suggest.h"

namespace pbxwall::responsive {
namespace {

// "90s", "15m", "15min", "24h", "7d", "500ms", or several: "1h30m". A bare integer in TOML is
// seconds.
std::optional<Duration> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    std::int64_t n = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      n = n * 10 + (s[i++] - '0');
      if (n > 1'000'000'000) return std::nullopt;
    }
    std::size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    const std::string_view unit = s.substr(i, j - i);
    i = j;
    std::int64_t us;
    if (unit == "ms") us = 1'000;
    else if (unit == "s") us = 1'000'000;
    else if (unit == "m" || unit == "min") us = 60'000'000;
    else if (unit == "h") us = 3'600'000'000;
    else if (unit == "d") us = 86'400'000'000;
    else return std::nullopt;
    total += n * us;
    if (total > 100LL * 365 * 86'400'000'000) return std::nullopt;
  }
  return Duration(total);
}

class Reader {
 public:
  explicit Reader(const std::string& file) : file_(file) {}

  void error(const toml::source_region& where, const std::string& key, std::string message) {
    Diagnostic d;
    d.file = file_;
    d.line = static_cast<int>(where.begin.line);
    d.column = static_cast<int>(where.begin.column);
    d.key = key;
    d.message = std::move(message);
    errors_.push_back(std::move(d));
  }

  std::optional<Duration> duration(const toml::node& n, const std::string& key) {
    if (auto i = n.as_integer()) {
      if (i->get() < 0 || i->get() > 100LL * 365 * 86400) {
        error(n.source(), key, "seconds out of range");
        return std::nullopt;
      }
      return std::chrono::seconds(i->get());
    }
    if (auto s = n.as_string()) {
      if (auto d = parse_duration(s->get())) return d;
      error(n.source(), key, "bad duration '" + s->get() + "' (examples: \"90s\", \"15m\", \"24h\", \"7d\", \"1h30m\")");
      return std::nullopt;
    }
    error(n.source(), key, "expected a duration such as \"60s\" or a number of seconds");
    return std::nullopt;
  }

  std::optional<std::uint64_t> count(const toml::node& n, const std::string& key, std::uint64_t lo, std::uint64_t hi) {
    auto i = n.as_integer();
    if (!i) {
      error(n.source(), key, "expected an integer");
      return std::nullopt;
    }
    if (i->get() < 0 || static_cast<std::uint64_t>(i->get()) < lo || static_cast<std::uint64_t>(i->get()) > hi) {
      error(n.source(), key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      return std::nullopt;
    }
    return static_cast<std::uint64_t>(i->get());
  }

  std::optional<bool> boolean(const toml::node& n, const std::string& key) {
    if (auto b = n.as_boolean()) return b->get();
    error(n.source(), key, "expected true or false");
    return std::nullopt;
  }

  std::optional<std::vector<std::string>> strings(const toml::node& n, const std::string& key) {
    auto a = n.as_array();
    if (!a) {
      error(n.source(), key, "expected an array of strings");
      return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto* s = a->get(i)->as_string();
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      if (!s) error(a->get(i)->source(), item_key, "expected a string");
      else if (s->get().empty()) error(a->get(i)->source(), item_key, "must not be empty");
      else {
        out.push_back(s->get());
        continue;
      }
      ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<std::vector<Duration>> durations(const toml::node& n, const std::string& key) {
    auto a = n.as_array();
    if (!a || a->empty()) {
      error(n.source(), key, "expected a non-empty array of durations such as [\"15m\", \"24h\", \"7d\"]");
      return std::nullopt;
    }
    std::vector<Duration> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto d = duration(*a->get(i), key + "[" + std::to_string(i) + "]");
      if (!d) return std::nullopt;
      if (d->count() <= 0) {
        error(a->get(i)->source(), key + "[" + std::to_string(i) + "]", "must be positive");
        return std::nullopt;
      }
      out.push_back(*d);
    }
    return out;
  }

  Diagnostics& errors() { return errors_; }

 private:
  const std::string& file_;
  Diagnostics errors_;
};

using Setter = std::function<void(Reader&, const toml::node&, const std::string&, Settings&)>;

Setter duration_key(Duration Settings::*field, bool allow_zero = false) {
  return [=](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    if (auto d = r.duration(n, key)) {
      if (d->count() == 0 && !allow_zero) r.error(n.source(), key, "must be positive");
      else s.*field = *d;
    }
  };
}

Setter count_key(std::uint32_t Settings::*field, std::uint64_t lo, std::uint64_t hi) {
  return [=](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    if (auto c = r.count(n, key, lo, hi)) s.*field = static_cast<std::uint32_t>(*c);
  };
}

Setter threshold_count(Threshold Settings::*field, std::uint64_t hi) {
  return [=](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    if (auto c = r.count(n, key, 1, hi)) (s.*field).count = static_cast<std::uint32_t>(*c);
  };
}

Setter threshold_window(Threshold Settings::*field) {
  return [=](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    if (auto d = r.duration(n, key)) {
      if (d->count() <= 0) r.error(n.source(), key, "must be positive");
      else (s.*field).window = *d;
    }
  };
}

const std::map<std::string, Setter, std::less<>>& setters() {
  static const std::map<std::string, Setter, std::less<>> table = {
      {"max_sources",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto c = r.count(n, key, 1, 0xfffffffeu)) s.max_sources = static_cast<std::size_t>(*c);
       }},
      {"max_blocked", count_key(&Settings::max_blocked, 1, kMaxMaxBlocked)},
      {"fingerprints",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto v = r.strings(n, key)) s.fingerprints = *v;
       }},
      {"extra_fingerprints",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto v = r.strings(n, key)) s.fingerprints.insert(s.fingerprints.end(), v->begin(), v->end());
       }},
      {"fingerprint_loopback_via",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto b = r.boolean(n, key)) s.fingerprint_loopback_via = *b;
       }},
      {"fingerprint_block", duration_key(&Settings::fingerprint_block)},
      {"enumeration_users", threshold_count(&Settings::enumeration, 10000)},
      {"enumeration_window", threshold_window(&Settings::enumeration)},
      {"enumeration_unanswered", count_key(&Settings::enumeration_unanswered, 1, 10000)},
      {"enumeration_ignored", count_key(&Settings::enumeration_ignored, 0, 10000)},
      {"challenge_answer_time",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto d = r.duration(n, key)) {
           if (*d > std::chrono::seconds(10)) r.error(n.source(), key, "must be at most 10s");
           else s.challenge_answer_time = *d;
         }
       }},
      {"guessing_failures", threshold_count(&Settings::guessing, 10000)},
      {"guessing_window", threshold_window(&Settings::guessing)},
      {"guessing_fast_failures",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto c = r.count(n, key, 0, 255)) {
           if (*c == 1) r.error(n.source(), key, "must be 0 (off) or between 2 and 255");
           else s.guessing_fast_failures = static_cast<std::uint32_t>(*c);
         }
       }},
      {"guessing_fast_gap", duration_key(&Settings::guessing_fast_gap)},
      {"probing_destinations", count_key(&Settings::probing_destinations, 1, 255)},
      {"probing_international", count_key(&Settings::probing_international, 1, 255)},
      {"international_prefixes",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto v = r.strings(n, key)) s.international_prefixes = *v;
       }},
      {"flood_requests", threshold_count(&Settings::flood, 1'000'000)},
      {"flood_window", threshold_window(&Settings::flood)},
      {"flood_port_requests", threshold_count(&Settings::flood_port, 1'000'000)},
      {"flood_port_window", threshold_window(&Settings::flood_port)},
      {"registration_grace", duration_key(&Settings::registration_grace, true)},
      {"default_registration", duration_key(&Settings::default_registration)},
      {"misconfigured_after", count_key(&Settings::misconfigured_after, 1, 65535)},
      {"reflag_interval", duration_key(&Settings::reflag_interval)},
      {"block_ladder",
       [](Reader& r, const toml::node& n, const std::string& key, Settings& s) {
         if (auto v = r.durations(n, key)) {
           if (v->size() > 255) r.error(n.source(), key, "at most 255 steps");
           else s.block_ladder = *v;
         }
       }},
      {"escalation_memory", duration_key(&Settings::escalation_memory)},
      {"ipv6_rotation_sources", count_key(&Settings::ipv6_rotation_sources, 0, 8)},
      {"extension_alarm_sources", count_key(&Settings::extension_alarm_sources, 0, 8)},
      {"extension_alarm_window", duration_key(&Settings::extension_alarm_window)},
      {"extension_alarm_hold", duration_key(&Settings::extension_alarm_hold)},
      {"validated_memory", duration_key(&Settings::validated_memory, true)},
  };
  return table;
}

// Keys of [responsive] that the configuration model reads itself.
// Keys of [responsive] read elsewhere: the configuration model's, and the packet path's
// (ruleset/packet_path.h).
bool model_key(std::string_view k) {
  return k == "enabled" || k == "protocols" || k == "packet_path" || k == "queue_num";
}

}  // namespace

Result<Settings, Diagnostics> settings_from_toml(const toml::table& section, const std::string& file) {
  Settings s;
  Reader r(file);
  const auto& table = setters();
  for (const auto& [k, v] : section) {
    const std::string key = "responsive." + std::string(k.str());
    if (model_key(k.str())) continue;
    auto it = table.find(k.str());
    if (it == table.end()) {
      std::string known;
      for (const auto& [name, setter] : table) known += (known.empty() ? "" : ", ") + name;
      r.error(k.source(), key, unknown_name("key", k.str(), "enabled, protocols, packet_path, queue_num, " + known));
      continue;
    }
    it->second(r, v, key, s);
  }
  if (r.errors().empty()) {
    if (auto why = validate(s); !why.empty()) r.error(section.source(), "responsive", why);
  }
  // toml++ keeps keys sorted by name; report problems in file order.
  std::stable_sort(r.errors().begin(), r.errors().end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  if (!r.errors().empty()) return fail(std::move(r.errors()));
  return s;
}

}  // namespace pbxwall::responsive
