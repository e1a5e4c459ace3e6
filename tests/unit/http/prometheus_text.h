// A strict reader of the Prometheus text exposition format (version 0.0.4), for tests: it
// refuses what a Prometheus server would refuse (a sample before its TYPE, a bad name or label,
// a value that is not a number, a repeated series) and checks histograms (buckets sorted by
// `le`, cumulative, ending with +Inf equal to _count). Errors name the line.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace pbxwall::http::test {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> counter, gauge, histogram, ...
  std::vector<Sample> samples;
  std::string error;  // empty: the text is valid

  // The value of the one sample with this name and these labels.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  std::vector<Sample> family(const std::string& name) const {
    std::vector<Sample> out;
    for (const auto& s : samples)
      if (s.name == name) out.push_back(s);
    return out;
  }
};

namespace detail {

inline bool is_name(const std::string& n, bool label) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

inline std::optional<double> number(const std::string& text) {
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  if (text == "NaN") return NAN;
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return v;
}

// The family a sample belongs to: histogram series carry a suffix.
inline std::string family_of(const std::string& name, const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && it->second == "histogram") return base;
    }
  }
  return name;
}

}  // namespace detail

inline Exposition parse_prometheus_text(const std::string& text) {
  Exposition out;
  std::set<std::string> series;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto error = [&](const std::string& message) {
    out.error = "line " + std::to_string(number) + ": " + message + ": " + line;
    return out;
  };
  if (!text.empty() && text.back() != '\n') {
    out.error = "the text does not end with a newline";
    return out;
  }
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, keyword, name, rest;
      words >> hash >> keyword >> name;
      std::getline(words, rest);
      if (keyword == "TYPE") {
        if (!detail::is_name(name, false)) return error("bad metric name");
        static const std::set<std::string> kinds = {" counter", " gauge", " histogram", " summary", " untyped"};
        if (!kinds.contains(rest)) return error("unknown type");
        if (out.types.contains(name)) return error("second TYPE for the same family");
        for (const auto& s : out.samples)
          if (detail::family_of(s.name, out.types) == name) return error("TYPE after the family's samples");
        out.types[name] = rest.substr(1);
      } else if (keyword == "HELP") {
        if (!detail::is_name(name, false)) return error("bad metric name");
      }
      continue;
    }
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!detail::is_name(s.name, false)) return error("bad metric name");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) return error("label without '='");
        const std::string label = line.substr(i, eq - i);
        if (!detail::is_name(label, true)) return error("bad label name");
        if (eq + 1 >= line.size() || line[eq + 1] != '"') return error("label value not quoted");
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            if (++j >= line.size()) return error("escape at the end of the line");
            if (line[j] == 'n') value += '\n';
            else if (line[j] == '\\' || line[j] == '"') value += line[j];
            else return error("unknown escape in a label value");
          } else {
            value += line[j];
          }
        }
        if (j >= line.size()) return error("unterminated label value");
        if (!s.labels.emplace(label, value).second) return error("label given twice");
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return error("labels not closed");
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') return error("no value");
    std::string value_text = line.substr(i + 1);
    if (const auto space = value_text.find(' '); space != std::string::npos) {
      const std::string stamp = value_text.substr(space + 1);
      if (stamp.empty() || stamp.find_first_not_of("-0123456789") != std::string::npos) return error("bad timestamp");
      value_text = value_text.substr(0, space);
    }
    const auto v = detail::number(value_text);
    if (!v) return error("value is not a number");
    s.value = *v;
    const std::string family = detail::family_of(s.name, out.types);
    if (!out.types.contains(family)) return error("sample before its family's TYPE");
    std::string key = s.name;
    for (const auto& [k, val] : s.labels) key += "\x1f" + k + "=" + val;
    if (!series.insert(key).second) return error("the same series twice");
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets sorted by le, +Inf last and equal to _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    double last_le = -HUGE_VAL, last_count = 0;
    bool inf = false;
    for (const auto& b : out.family(family + "_bucket")) {
      auto le = b.labels.find("le");
      if (le == b.labels.end()) return out.error = family + ": a bucket without le", out;
      const auto bound = detail::number(le->second);
      if (!bound || *bound <= last_le) return out.error = family + ": buckets not sorted by le", out;
      if (b.value < last_count) return out.error = family + ": bucket counts not cumulative", out;
      last_le = *bound;
      last_count = b.value;
      inf = std::isinf(*bound);
    }
    const auto count = out.value(family + "_count");
    if (!inf || !count || *count != last_count || !out.value(family + "_sum"))
      return out.error = family + ": needs a +Inf bucket equal to _count, and _sum", out;
  }
  return out;
}

}  // namespace pbxwall::http::test
