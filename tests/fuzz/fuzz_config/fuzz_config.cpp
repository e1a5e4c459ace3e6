// Arbitrary TOML text through the configuration loader. Invariants:
//  - a refused text has at least one diagnostic, each with a message and positioned in the
//    file given (line and column are 1-based when known);
//  - a loaded policy always renders, and rendering is deterministic (same bytes twice) and
//    produces a script that replaces only our table;
//  - a [responsive] table is read by settings_from_toml without crashing, and what it
//    accepts passes the engine's own validation and builds an engine.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/model.h"
#include "responsive/settings_toml.h"
#include "ruleset/ruleset.h"

namespace {

const std::string kSource = "fuzz.toml";

[[noreturn]] void violated(const char*) { std::abort(); }

void check_diagnostics(const pbxwall::Diagnostics& diagnostics, bool must_have_one) {
  if (must_have_one && diagnostics.empty()) violated("refused without a diagnostic");
  for (const auto& d : diagnostics) {
    if (d.message.empty()) violated("diagnostic without a message");
    if (d.file != kSource) violated("diagnostic names another file");
    if (d.line < 0 || d.column < 0) violated("negative position");
    if (d.str().find(d.message) == std::string::npos) violated("str() drops the message");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto loaded = pbxwall::model::load_string(text, kSource);
  if (!loaded.ok()) {
    check_diagnostics(loaded.error(), true);
    return 0;
  }
  check_diagnostics(loaded->warnings, false);

  const pbxwall::ruleset::RenderInput input{.policy = loaded->policy};
  const std::string first = pbxwall::ruleset::render(input);
  const std::string second = pbxwall::ruleset::render(input);
  if (first != second) violated("render is not deterministic");
  if (first.find("table inet pbxwall") == std::string::npos) violated("script without our table");

  if (loaded->table) {
    if (const auto* section = (*loaded->table)["responsive"].as_table()) {
      auto settings = pbxwall::responsive::settings_from_toml(*section, kSource);
      if (settings.ok()) {
        if (!pbxwall::responsive::validate(*settings).empty()) violated("accepted settings the engine refuses");
        // The engine aborts on settings it cannot work with (its table grows lazily).
        const pbxwall::responsive::Engine engine(*settings, [](const pbxwall::IpAddress&) { return false; });
      } else {
        check_diagnostics(settings.error(), true);
      }
    }
  }
  return 0;
}
