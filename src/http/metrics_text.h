// The daemon's `metrics` answer (JSON) in the Prometheus text exposition format.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pbxwall::http {

struct WebCounters {
  std::uint64_t requests = 0;
  std::uint64_t failed_logins = 0;
  std::uint64_t rate_limited_logins = 0;
  std::uint64_t password_checks = 0;
};

// Missing fields count as 0, so every metric name is always exposed.
std::string prometheus_text(const nlohmann::json& metrics, const WebCounters& web);

}  // namespace pbxwall::http
