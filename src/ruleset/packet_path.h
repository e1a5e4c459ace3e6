// `[responsive] packet_path` and `queue_num`: how unvalidated signalling reaches the daemon.
// "log" copies it through `log group` (works on every nf_tables kernel), "queue" holds each
// packet for the daemon's verdict through nftables `queue ... bypass`, "auto" (the default)
// takes the queue when the kernel has the statement. "external-queue" is the inline mode for
// kernels that have the xtables NFQUEUE target but not the nftables statement: the
// administrator's own rule (iptables-nft ... -j NFQUEUE --queue-num N --queue-bypass) feeds
// queue N and our table only accepts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "base/diagnostic.h"
#include "base/result.h"
#include "ruleset/ruleset.h"

namespace pbxwall::ruleset {

enum class PacketPathChoice : std::uint8_t { automatic, log, queue, external_queue };

struct PacketPathSetting {
  PacketPathChoice choice = PacketPathChoice::automatic;
  std::uint16_t queue_num = 1;
  Diagnostic place;  // where packet_path was written (file only when it was not)
};

// Reads packet_path and queue_num of the [responsive] section (null: no section, defaults);
// other keys are left to their readers. Errors name file:line:column and the key.
Result<PacketPathSetting, Diagnostics> packet_path_from_toml(const toml::table* responsive, const std::string& file);

// The path to render. automatic: the queue when the kernel has it, else log groups. queue on
// a kernel without the statement is an error naming the key and `kernel_detail` (the probe's
// answer).
Result<PacketPath, std::string> resolve_packet_path(const PacketPathSetting& setting, bool kernel_has_queue,
                                                    std::string_view kernel_detail);

std::string_view packet_path_name(PacketPath path);
std::string_view packet_path_choice_name(PacketPathChoice choice);  // "auto", "log", "queue", "external-queue"

// For `status` and the daemon's log: why `path` is the one in use (the setting, the kernel
// probe's answer), and in observe mode (log groups) how to get inline drops.
struct PacketPathExplanation {
  std::string why;
  std::string inline_drops;  // empty on an inline path
};
PacketPathExplanation explain_packet_path(const PacketPathSetting& setting, PacketPath path, bool kernel_has_queue,
                                          std::string_view kernel_detail);  // "log", "queue", "external-queue"

}  // namespace pbxwall::ruleset
