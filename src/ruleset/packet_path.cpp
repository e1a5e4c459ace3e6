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

}  // namespace pbxwall::ruleset
