// Reading the [responsive] section of pbxwall.toml into Settings. Kept apart from
// responsive.h so only configuration code pulls in toml++.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "base/diagnostic.h"
#include "base/result.h"
#include "responsive/responsive.h"

namespace pbxwall::responsive {

// Keys not given keep their defaults. Errors name file:line:column and the key
// ("responsive.guessing_window: expected a duration like \"60s\""); unknown keys are errors.
// Keys and their defaults: docs/responsive.md.
Result<Settings, Diagnostics> settings_from_toml(const toml::table& responsive_section, const std::string& file);

}  // namespace pbxwall::responsive
