// Times in the daemon's JSON answers: whole seconds since the epoch, null for "never".
#pragma once

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/time.h"

namespace pbxwall::daemon {

inline nlohmann::json time_json(std::optional<TimePoint> t) {
  if (!t) return nullptr;
  return std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
}

}  // namespace pbxwall::daemon
