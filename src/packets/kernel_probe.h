// Asking the running kernel what it can do, by loading a rule for real (a dry run stops in
// userspace and would say yes to statements the kernel lacks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "kernel/kernel.h"

namespace pbxwall::packets {

struct ProbeAnswer {
  bool supported = false;
  std::string detail;  // when not supported: the statement and nft's answer, on one line
};

// Loads `statement` as the only rule of a chain in a throwaway table `inet pbxwall_probe` and
// deletes the table in the same transaction, so nothing is left behind whatever happens and no
// packet ever meets the rule (the chain is not attached to a hook). An error means the probe
// itself could not run (e.g. no CAP_NET_ADMIN), not that the statement is unsupported.
Result<ProbeAnswer> probe_statement_support(kernel::RulesetApplier& applier,
                                            std::string_view statement);

// Whether nftables `queue num <queue_num>` (with bypass) loads on this kernel, for choosing the
// inline (libnetfilter_queue) or the observing (log group) packet path. `queue_num` is the
// configured one ([responsive] queue_num), so the probe loads the rule the table would hold.
Result<ProbeAnswer> probe_queue_support(kernel::RulesetApplier& applier, std::uint16_t queue_num);

// nft's multi-line error (place, message, the offending line, carets) as its message alone.
std::string nft_error_line(std::string_view error);

}  // namespace pbxwall::packets
