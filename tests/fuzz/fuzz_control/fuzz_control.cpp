// The daemon never dies of a malformed control request.
//
// Input: JSON text (parsed without exceptions, as the control socket does). An array is a
// session of up to 16 requests sent in turn, the simulated clock moving one minute and
// housekeeping running between them (so safe-mode rollbacks happen); anything else is one
// request. Each input gets a fresh Firewall with the edges of tests/unit/daemon: dry-run
// applier, recording set updater and conntrack flusher, an in-memory store, a simulated clock,
// and a configuration file written once to a temporary directory (put back when a "change"
// request rewrote it). Invariants for every answer:
//  - a JSON object with a boolean "ok", and a non-empty "error" text when ok is false;
//  - it serializes (the control socket sends reply.dump(), which throws on invalid UTF-8).
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/firewall.h"
#include "kernel/kernel.h"
#include "packets/conntrack_flusher.h"
#include "packets/recording_set_updater.h"
#include "store/store.h"

namespace pd = pbxwall::daemon;
using nlohmann::json;

namespace {

constexpr std::size_t kMaxRequests = 16;

const char* const kConfig = R"([firewall]
enabled = true
safe_mode = true

[interfaces]
eth0 = "internet"

[networks]
"198.51.100.0/24" = "trusted"
"2001:db8:10::/48" = "local"
"192.0.2.0/25" = "other"

[users.default]
services = ["sip"]

[users.300]
services = ["sip", "iax", "rtp"]

[responsive]
enabled = true
protocols = ["sip", "iax"]
)";

[[noreturn]] void violated(const char*) { std::abort(); }

std::filesystem::path& directory() {
  static std::filesystem::path dir;
  return dir;
}

void remove_directory() {
  std::error_code ec;
  std::filesystem::remove_all(directory(), ec);
}

std::string config_path() { return (directory() / "pbxwall.toml").string(); }

std::string read_config() {
  std::ifstream in(config_path());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check(const json& answer) {
  if (!answer.is_object()) violated("answer is not an object");
  const auto ok = answer.find("ok");
  if (ok == answer.end() || !ok->is_boolean()) violated("answer without a boolean ok");
  if (!ok->get<bool>()) {
    const auto error = answer.find("error");
    if (error == answer.end() || !error->is_string() || error->get<std::string>().empty())
      violated("refusal without an error text");
  }
  (void)answer.dump();  // throws (and so fails) on strings that are not UTF-8
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  directory() = std::filesystem::temp_directory_path() / ("pbxwall-fuzz-control-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory());
  std::ofstream(config_path()) << kConfig;
  std::atexit(remove_directory);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const json input = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (input.is_discarded()) return 0;
  if (read_config() != kConfig) std::ofstream(config_path(), std::ios::trunc) << kConfig;

  pbxwall::kernel::DryRunApplier applier;
  pbxwall::packets::RecordingSetUpdater sets;
  pbxwall::packets::RecordingConntrackFlusher conntrack;
  pbxwall::SimulatedClock clock;
  auto store = pbxwall::store::StateStore::open(":memory:");
  if (!store.ok()) violated("in-memory store did not open");
  pd::Firewall firewall(pd::Edges{applier, sets, conntrack, **store, clock},
                        pd::FirewallOptions{.config_path = config_path()});
  if (!firewall.start().ok()) violated("the fixed configuration did not start");

  if (input.is_array()) {
    std::size_t sent = 0;
    for (const auto& request : input) {
      if (sent++ == kMaxRequests) break;
      check(firewall.handle(request));
      clock.advance(std::chrono::minutes(1));
      firewall.housekeeping();
    }
  } else {
    check(firewall.handle(input));
  }
  return 0;
}
