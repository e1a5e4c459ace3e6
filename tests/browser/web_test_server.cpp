// pbxwalld's web side for the browser tests: a real daemon::Firewall (dry-run kernel, recording
// set updater, SQLite store) behind the real http::Server. Each ruleset the firewall applies is
// written to <dir>/ruleset.nft so the test can see a change reach the ruleset. Lines on stdin
// drive the packet path: "scanner ADDR" feeds a SIPVicious OPTIONS probe from ADDR.
#include <iostream>
#include <mutex>
#include <fstream>
#include <string>

#include "capture/synth.h"
#include "daemon/firewall.h"
#include "http/password.h"
#include "http/server.h"
#include "packets/recording_set_updater.h"

using namespace pbxwall;

namespace {

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

std::string scanner_options(int n) {
  return "OPTIONS sip:100@203.0.113.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-" + std::to_string(n) +
         ";rport\r\nMax-Forwards: 70\r\nTo: \"sipvicious\"<sip:100@1.1.1.1>\r\nFrom: \"sipvicious\"<sip:100@1.1.1.1>;tag=6331\r\n"
         "User-Agent: friendly-scanner\r\nCall-ID: " + std::to_string(n) + "\r\nContact: sip:100@127.0.0.1:5061\r\n"
         "CSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: web_test_server DIR WEB_ROOT (DIR holds pbxwall.toml; password: correct horse)\n";
    return 2;
  }
  const std::string dir = argv[1];
  FileApplier applier(dir + "/ruleset.nft");
  packets::RecordingSetUpdater sets;
  packets::RecordingConntrackFlusher conntrack;
  SystemClock clock;
  auto store = store::StateStore::open(dir + "/state.db");
  if (!store.ok()) return 1;
  daemon::Firewall firewall({applier, sets, conntrack, **store, clock}, {.config_path = dir + "/pbxwall.toml"});
  if (auto s = firewall.start(); !s.ok()) {
    std::cerr << s.error() << "\n";
    return 1;
  }
  http::WebSettings web;
  web.port = 0;
  web.root = argv[2];
  web.password_file = dir + "/web-password";
  if (!http::write_password_file(web.password_file, *http::hash_password("correct horse", http::kCheapestPasswordCost)).ok()) return 1;
  std::mutex loop;
  http::Server server(web, [&](const nlohmann::json& r) {
    std::lock_guard lock(loop);
    return firewall.handle(r);
  }, clock);
  firewall.set_event_sink([&](const store::EventRecord& e) { server.publish(daemon::event_json(e)); });
  if (auto s = server.start(); !s.ok()) {
    std::cerr << s.error() << "\n";
    return 1;
  }
  std::cout << "port " << server.port() << std::endl;
  std::string command, addr;
  int n = 0;
  while (std::cin >> command) {
    if (command == "scanner" && std::cin >> addr) {
      auto src = IpAddress::parse(addr);
      if (!src) continue;
      std::lock_guard lock(loop);
      auto ip = capture::synth::udp(*src, 5060, *IpAddress::parse("203.0.113.1"), 5060, scanner_options(++n));
      firewall.on_packet(1, ip, clock.now());
      firewall.flush();
      std::cout << "fed " << addr << std::endl;
    }
  }
  server.stop();
  return 0;
}
