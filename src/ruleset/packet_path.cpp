#include "ruleset/packet_path.h"

namespace pbxwall::ruleset {
namespace {

Diagnostic diagnostic(const std::string& file, const toml::node& n, std::string key, std::string message) {
  Diagnostic d;
  d.file = file;
  d.line = static_cast<int>(n.source().begin.line);
  d.column = static_cast<int>(n.source().begin.column);
  d.key = std::move(key);
  d.message = std::move(message);
  return d;
}

}  // namespace


Result<PacketPathSetting, Diagnostics> packet_path_from_toml(const toml::table* responsive, const std::string& file) {
  PacketPathSetting s;
  s.place.file = file;
  s.place.key = "responsive.packet_path";
  if (responsive == nullptr) return s;
  Diagnostics errors;
  if (const toml::node* n = responsive->get("packet_path")) {
    s.place = diagnostic(file, *n, "responsive.packet_path", "");
    const auto* text = n->as_string();
    const std::string value = text ? text->get() : "";
    if (value == "auto") s.choice = PacketPathChoice::automatic;
    else if (value == "log") s.choice = PacketPathChoice::log;
    else if (value == "queue") s.choice = PacketPathChoice::queue;
    else if (value == "external-queue") s.choice = PacketPathChoice::external_queue;
    else
      errors.push_back(diagnostic(file, *n, "responsive.packet_path",
                                  "expected \"auto\", \"log\", \"queue\" or \"external-queue\""));
  }
  if (const toml::node* n = responsive->get("queue_num")) {
    const auto* number = n->as_integer();
    if (number == nullptr || number->get() < 0 || number->get() > 65535)
      errors.push_back(diagnostic(file, *n, "responsive.queue_num", "expected a queue number from 0 to 65535"));
    else
      s.queue_num = static_cast<std::uint16_t>(number->get());
  }
  if (!errors.empty()) return fail(std::move(errors));
  return s;
}

Result<PacketPath, std::string> resolve_packet_path(const PacketPathSetting& setting, bool kernel_has_queue,
                                                    std::string_view kernel_detail) {
  switch (setting.choice) {
    case PacketPathChoice::automatic: return kernel_has_queue ? PacketPath::queue : PacketPath::log_group;
    case PacketPathChoice::log: return PacketPath::log_group;
    case PacketPathChoice::external_queue: return PacketPath::external;
    case PacketPathChoice::queue:
      if (kernel_has_queue) return PacketPath::queue;
      Diagnostic d = setting.place;
      d.message = "\"queue\" needs the nftables queue statement, which this kernel does not load" +
                  (kernel_detail.empty() ? std::string() : " (" + std::string(kernel_detail) + ")") +
                  "; use \"auto\" or \"log\", or \"external-queue\" with an xtables NFQUEUE rule";
      return fail(d.str());
  }
  return PacketPath::log_group;
}

std::string_view packet_path_name(PacketPath path) {
  switch (path) {
    case PacketPath::log_group: return "log";
    case PacketPath::queue: return "queue";
    case PacketPath::external: return "external-queue";
  }
  return "log";
}

std::string_view packet_path_choice_name(PacketPathChoice choice) {
  switch (choice) {
    case PacketPathChoice::automatic: return "auto";
    case PacketPathChoice::log: return "log";
    case PacketPathChoice::queue: return "queue";
    case PacketPathChoice::external_queue: return "external-queue";
  }
  return "auto";
}

PacketPathExplanation explain_packet_path(const PacketPathSetting& setting, PacketPath path, bool kernel_has_queue,
                                          std::string_view kernel_detail) {
  const std::string setting_text =
      "[responsive] packet_path = \"" + std::string(packet_path_choice_name(setting.choice)) + "\"" +
      (setting.choice == PacketPathChoice::automatic && setting.place.line == 0 ? " (the default)" : "");
  const std::string queue = "queue " + std::to_string(setting.queue_num);
  const std::string kernel_lacks =
      "this kernel does not load the nftables queue statement" +
      (kernel_detail.empty() ? std::string() : " (" + std::string(kernel_detail) + ")");
  PacketPathExplanation e;
  switch (path) {
    case PacketPath::queue:
      e.why = setting_text + " and this kernel loads the nftables queue statement: each packet of an unvalidated "
              "source waits in " + queue + " for the daemon's verdict";
      break;
    case PacketPath::external:
      e.why = setting_text + ": each packet waits in " + queue +
              " for the daemon's verdict, fed by a rule outside table inet pbxwall (NFQUEUE)";
      break;
    case PacketPath::log_group:
      e.why = setting_text + (setting.choice == PacketPathChoice::log ? "" : " and " + kernel_lacks) +
              ": the daemon sees copies of the packets (log groups) and blocks through the kernel sets, so a "
              "scanner's first packets reach the PBX";
      if (setting.choice == PacketPathChoice::log && kernel_has_queue)
        e.inline_drops = "set [responsive] packet_path = \"auto\" or \"queue\" (this kernel loads the nftables "
                         "queue statement) and restart pbxwalld";
      else
        e.inline_drops = "set [responsive] packet_path = \"external-queue\" with an NFQUEUE rule of your own "
                         "feeding " + queue + " (e.g. iptables-nft -I INPUT -p udp --dport 5060 -j NFQUEUE "
                         "--queue-num " + std::to_string(setting.queue_num) +
                         " --queue-bypass) and restart pbxwalld, or use a kernel with nft_queue";
      break;
  }
  return e;
}

}  // namespace pbxwall::ruleset
