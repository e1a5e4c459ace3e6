#include <string>

#include "kernel/kernel.h"

namespace pbxwall::kernel {

bool script_defines_table(std::string_view script) {
  const std::string opening = "table " + std::string(kTableFamily) + " " + std::string(kTableName) + " {";
  return script.find(opening) != std::string_view::npos;
}

Status<std::string> DryRunApplier::apply(std::string_view script) {
  if (!fail_next.empty()) {
    std::string error = std::move(fail_next);
    fail_next.clear();
    return fail(std::move(error));
  }
  applied.emplace_back(script);
  table = script_defines_table(script) ? std::string(script) : std::string();
  return {};
}

Status<std::string> DryRunApplier::check(std::string_view script) {
  if (!fail_next.empty()) {
    std::string error = std::move(fail_next);
    fail_next.clear();
    return fail(std::move(error));
  }
  checked.emplace_back(script);
  return {};
}

Result<std::string> DryRunApplier::list_table() { return table; }

}  // namespace pbxwall::kernel
