#include "packets/kernel_probe.h"

namespace pbxwall::packets {

std::string nft_error_line(std::string_view error) {
  // nft answers "FILE:LINE:COL: Error: WHAT", then the offending line and a row of carets.
  std::string_view line = error.substr(0, error.find('\n'));
  if (const auto at = line.find("Error: "); at != std::string_view::npos) line.remove_prefix(at + 7);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  return std::string(line);
}

Result<ProbeAnswer> probe_statement_support(kernel::RulesetApplier& applier,
                                            std::string_view statement) {
  // One transaction: the table is created with the rule (the kernel initialises the
  // statement's expression here, loading its module if it has one) and deleted again. A
  // leftover table of an interrupted older probe is removed first by `add` + `delete`, which
  // are valid whether or not it exists.
  const std::string script =
      "add table inet pbxwall_probe\n"
      "delete table inet pbxwall_probe\n"
      "table inet pbxwall_probe {\n"
      "  chain probe {\n"
      "    " + std::string(statement) + "\n"
      "  }\n"
      "}\n"
      "delete table inet pbxwall_probe\n";
  auto st = applier.apply(script);
  if (st) return ProbeAnswer{true, ""};
  const std::string& error = st.error();
  // The kernel's answers for a statement it cannot load: no such expression type or module.
  for (const char* unsupported : {"No such file or directory", "Operation not supported",
                                  "Protocol not supported"}) {
    if (error.find(unsupported) != std::string::npos)
      return ProbeAnswer{false, "the kernel refuses `" + std::string(statement) + "`: " + nft_error_line(error)};
  }
  return fail("probing support for `" + std::string(statement) + "`: " + nft_error_line(error));
}

Result<ProbeAnswer> probe_queue_support(kernel::RulesetApplier& applier, std::uint16_t queue_num) {
  return probe_statement_support(applier, "meta l4proto udp queue num " + std::to_string(queue_num) + " bypass");
}

}  // namespace pbxwall::packets
