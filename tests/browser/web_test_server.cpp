// pbxwalld's web side for the browser tests: a real daemon::Firewall (dry-run kernel, recording
// set updater, SQLite store) behind the real http::Server. Each ruleset the firewall applies is
// written to <dir>/ruleset.nft and is what GET /api/ruleset answers. Lines on stdin drive the
// packet path: "replay FILE" feeds every IP packet of a pcap capture to Firewall::on_packet, as
// pbxwalld feeds the packets nftables copies (group 1: to the PBX, group 2: its answers), with
// the capture's spacing kept and time starting now; it prints "replayed N packets" when done.
// The PBX's ports are read from its files at start, as pbxwalld reads them.
// The PBX's trunk names are resolved by a table, as pbxwalld's resolver would: gw1.carrier2.example
// to 192.0.2.80 (TTL 300 s), every other name does not exist (NXDOMAIN).
// "fleet" on stdin makes status and overview carry a fleet as CrowdsecBridge and BlocklistFeeds
// answer it (their fields; the values a fixture: a Local API that went down after a pull, one
// list fetched, one whose last fetch failed); it prints "fleet on".
#include <iostream>
#include <mutex>
#include <fstream>
#include <optional>
#include <span>
#include <string>

#include "capture/capture.h"
#include "daemon/firewall.h"
#include "daemon/pbx_view.h"
#include "daemon/trunk_status.h"
#include "dns/trunk_resolver.h"
#include "pbx/pbx.h"
#include "http/password.h"
#include "http/server.h"
#include "packets/recording_set_updater.h"

using namespace pbxwall;

namespace {

// The PBX of the captures in tests/data/captures (see their README).
const IpAddress kPbx4 = *IpAddress::parse("203.0.113.1");
const IpAddress kPbx6 = *IpAddress::parse("2001:db8:1::1");

class FileApplier final : public kernel::RulesetApplier {
 public:
  explicit FileApplier(std::string path) : path_(std::move(path)) {}
  Status<std::string> apply(std::string_view script) override {
    table_ = kernel::script_defines_table(script) ? std::string(script) : std::string();
    std::ofstream(path_) << script;
    return {};
  }
  Status<std::string> check(std::string_view) override { return {}; }
  Result<std::string> list_table() override { return table_; }

 private:
  std::string path_;
  std::string table_;
};

// The IP packet inside an Ethernet frame (VLAN tags skipped); empty for anything else.
std::span<const std::uint8_t> ip_of_ethernet(std::span<const std::uint8_t> frame) {
  std::size_t at = 12;
  while (at + 2 <= frame.size()) {
    const unsigned type = (unsigned{frame[at]} << 8) | frame[at + 1];
    if (type == 0x8100 || type == 0x88a8) {
      at += 4;
      continue;
    }
    if (type == 0x0800 || type == 0x86dd) return frame.subspan(at + 2);
    break;
  }
  return {};
}

// Whether an IP packet comes from the PBX (its source address is the PBX's).
bool from_pbx(std::span<const std::uint8_t> ip) {
  if (ip.size() >= 20 && (ip[0] >> 4) == 4) return IpAddress::v4_bytes(ip.data() + 12) == kPbx4;
  if (ip.size() >= 40 && (ip[0] >> 4) == 6) return IpAddress::v6_bytes(ip.data() + 8) == kPbx6;
  return false;
}

Result<std::size_t> replay(const std::string& path, daemon::Firewall& firewall, const Clock& clock) {
  auto reader = capture::PcapReader::open(path);
  if (!reader.ok()) return fail(reader.error());
  if (reader->linktype() != 1) return fail(path + ": expected an Ethernet capture");
  const TimePoint start = clock.now();
  std::optional<TimePoint> first;
  std::size_t fed = 0;
  for (;;) {
    auto frame = reader->next();
    if (!frame.ok()) return fail(frame.error());
    if (!*frame) break;
    const auto ip = ip_of_ethernet((*frame)->bytes);
    if (ip.empty()) continue;
    if (!first) first = (*frame)->t;
    const auto groups = firewall.log_groups();
    firewall.on_packet(from_pbx(ip) ? groups[1] : groups[0], ip, start + ((*frame)->t - *first));
    ++fed;
  }
  firewall.flush();
  return fed;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: web_test_server DIR WEB_ROOT [CLIENT] (DIR holds pbxwall.toml; password: correct horse;\n"
                 "  CLIENT: the address the daemon is told the browser connects from, a remote admin's)\n";
    return 2;
  }
  const std::string client = argc == 4 ? argv[3] : "";
  const std::string dir = argv[1];
  FileApplier applier(dir + "/ruleset.nft");
  packets::RecordingSetUpdater sets;
  packets::RecordingConntrackFlusher conntrack;
  SystemClock clock;
  auto store = store::StateStore::open(dir + "/state.db");
  if (!store.ok()) return 1;
  daemon::FirewallOptions options;
  options.config_path = dir + "/pbxwall.toml";
  daemon::Firewall firewall({applier, sets, conntrack, **store, clock}, options);
  const pbx::DiskFileSystem files;
  // The PBX's ports replace the built-in defaults, as pbxwalld's PbxLive finds them.
  firewall.set_port_discovery([&files](const daemon::IntegrationSettings& settings) -> std::optional<ruleset::DiscoveredPorts> {
    if (!daemon::reads_pbx(settings.pbx)) return std::nullopt;
    return daemon::view_of(pbx::discover(files, settings.pbx.asterisk_root)).ports;
  });
  if (auto s = firewall.start(); !s.ok()) {
    std::cerr << s.error() << "\n";
    return 1;
  }
  // The trunks' state, as pbxwalld's PbxLive adds it to status, overview and discover.
  const auto trunk_hosts = daemon::trunk_hosts_of(pbx::discover(files, firewall.integration().pbx.asterisk_root));
  dns::TrunkResolver trunks;
  {
    std::vector<std::string> names;
    for (const auto& t : trunk_hosts)
      if (t.kind == pbx::HostKind::name) names.push_back(t.host);
    const TimePoint now = clock.now();
    trunks.set_names(names, now);
    for (int round = 0; round < 4; ++round)
      for (const auto& q : trunks.due(now)) {
        dns::Answer a{dns::AnswerStatus::no_name, {}, {}, {}, {}};
        if (q.name == "gw1.carrier2.example" && q.type == dns::QueryType::a)
          a = {dns::AnswerStatus::ok, {*IpAddress::parse("192.0.2.80")}, {}, std::chrono::seconds(300), {}};
        trunks.on_answer(q, a, now);
      }
  }
  bool fleet = false;
  const auto fleet_since = std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count();
  firewall.set_request_extension([&](const std::string& cmd, const nlohmann::json&, nlohmann::json& answer) {
    daemon::add_trunk_status(cmd, trunk_hosts, trunks.states(), "", answer);
    if (!fleet || (cmd != "status" && cmd != "overview")) return;
    answer["crowdsec"] = {{"url", "http://192.0.2.9:8080/"}, {"pull", true}, {"push", true}, {"link", "down"},
                          {"last_pull", fleet_since - 120}, {"last_error", "connect: connection refused"}, {"blocks", 42},
                          {"spared", 2}, {"queue", 3}, {"pushed", 17},
                          {"applied_by_origin", {{"crowdsec:crowdsecurity/ssh-bf", 30}, {"CAPI", 12}}}};
    answer["blocklists"] = nlohmann::json::array(
        {{{"name", "voipbl"}, {"from", "https://voipbl.example/update/"}, {"format", "plain"}, {"entries", 51234},
          {"last_ok", fleet_since - 600}, {"last_error", ""}},
         {{"name", "apiban"}, {"from", "https://apiban.example/"}, {"format", "apiban"}, {"entries", 250},
          {"last_ok", fleet_since - 7200}, {"last_error", "HTTP 503"}}});
  });
  http::WebSettings web;
  web.port = 0;
  web.root = argv[2];
  web.password_file = dir + "/web-password";
  if (!http::write_password_file(web.password_file, *http::hash_password("correct horse", http::kCheapestPasswordCost)).ok()) return 1;
  std::mutex loop;
  http::Server server(web, [&](nlohmann::json r) {
    std::lock_guard lock(loop);
    // The browser runs on loopback, which no change can cut off; as a remote admin's, its
    // requests meet the lockout rule.
    if (!client.empty() && r.contains("client")) r["client"] = client;
    return firewall.handle(r);
  }, clock);
  firewall.set_event_sink([&](const store::EventRecord& e) { server.publish(daemon::event_json(e)); });
  if (auto s = server.start(); !s.ok()) {
    std::cerr << s.error() << "\n";
    return 1;
  }
  std::cout << "port " << server.port() << std::endl;
  std::string command, path;
  while (std::cin >> command) {
    if (command == "fleet") {
      std::lock_guard lock(loop);
      fleet = true;
      std::cout << "fleet on" << std::endl;
    } else if (command == "replay" && std::cin >> path) {
      std::lock_guard lock(loop);
      auto fed = replay(path, firewall, clock);
      if (fed.ok()) std::cout << "replayed " << *fed << " packets" << std::endl;
      else std::cout << "replay failed: " << fed.error() << std::endl;
    }
  }
  server.stop();
  return 0;
}
