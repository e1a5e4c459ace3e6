// The commands that talk to pbxwalld, against a fake control socket: the requests they send,
// how they print the answers, and how they fail when the daemon is absent, refuses, hangs or
// answers garbage.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/daemon_link.h"
#include "fake_control_server.h"
#include "kernel/kernel.h"
#include "store/store.h"

namespace pbxwall::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kConfig = R"([firewall]
safe_mode = false

[networks]
"198.51.100.0/24" = "trusted"
"203.0.113.0/24" = "local"
)";

// 2026-01-02 03:04:05 UTC
constexpr std::int64_t kSomeTime = 1767323045;

class DaemonCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pbxwall-cli-daemon-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    run_dir_ = dir_ + "/run";
    fs::create_directories(run_dir_);
    config_ = dir_ + "/pbxwall.toml";
    std::ofstream(config_) << kConfig;
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // Starts the fake daemon: `script` answers each request line.
  void serve(FakeControlServer::Script script) {
    server_.reset();  // its destructor removes the socket file
    server_ = std::make_unique<FakeControlServer>(run_dir_ + "/control.sock", std::move(script));
  }
  // A daemon answering every request with the same line.
  void serve_line(const std::string& line) {
    serve([line](const std::string&) { return FakeControlServer::Answer{{line}}; });
  }

  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    Context ctx;
    ctx.out = &out_;
    ctx.err = &err_;
    ctx.applier = &kernel_;
    ctx.control_timeout = std::chrono::milliseconds(2000);
    if (short_timeout_) ctx.control_timeout = std::chrono::milliseconds(200);
    ctx.getenv = [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    ctx.start_guard = [](const std::string&, int) -> Result<int> { return 999999; };
    ctx.local_addresses = [] { return std::vector<IpAddress>{*IpAddress::parse("192.0.2.1"), *IpAddress::parse("2001:db8::1")}; };
    std::vector<std::string> full = {"pbxwall", "--config", config_, "--run-dir", run_dir_, "--state", state_.empty() ? dir_ + "/state.db" : state_};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(full, ctx);
  }

  std::string dir_, run_dir_, config_;
  std::map<std::string, std::string> env_;
  std::ostringstream out_, err_;
  kernel::DryRunApplier kernel_;
  std::unique_ptr<FakeControlServer> server_;
  bool short_timeout_ = false;
  std::string state_;  // --state; empty: <dir>/state.db
};

// ---- without the daemon ----

TEST_F(DaemonCommandsTest, DaemonOnlyCommandsSayTheDaemonIsNotRunning) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"block", "192.0.2.99"}, {"unblock", "192.0.2.99"}, {"events"}, {"list", "blocked"}}) {
    EXPECT_EQ(run(args), kExitFailure) << args[0];
    EXPECT_THAT(err_.str(), HasSubstr("pbxwalld is not running (no " + run_dir_ +
                                      "/control.sock): start it with systemctl start pbxwalld"))
        << args[0];
    // A block is not made without the daemon, and the CLI says why.
    EXPECT_EQ(err_.str().find("pbxwall: blocks are pbxwalld's") != std::string::npos,
              args[0] == "block" || args[0] == "unblock")
        << args[0] << ": " << err_.str();
  }
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The daemon is down but its database is there: the listings come from it, read-only, and
// the command says where they come from.
TEST_F(DaemonCommandsTest, ListingsReadTheStateDatabaseWhileTheDaemonIsDown) {
  const std::string db = dir_ + "/state.db";
  const TimePoint now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  {
    auto store = store::StateStore::open(db);
    ASSERT_TRUE(store.ok()) << store.error();
    ASSERT_TRUE((*store)->upsert_block({"192.0.2.99", "manual", "by hand", now, now + std::chrono::hours(1), 2}).ok());
    ASSERT_TRUE((*store)->upsert_block({"192.0.2.98", "manual", "long over", now - std::chrono::hours(2), now - std::chrono::hours(1), 1}).ok());
    ASSERT_TRUE((*store)->upsert_validated({"198.51.100.7", "301", now + std::chrono::hours(1)}).ok());
  }
  const std::string before = file_bytes(db);
  EXPECT_EQ(run({"list", "blocked"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.99"));
  EXPECT_THAT(out_.str(), HasSubstr("by hand"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("192.0.2.98")));
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld is not running: listing " + db + " as it last wrote it (read-only)"));
  EXPECT_EQ(run({"list", "validated", "--json"}), kExitOk) << err_.str();
  const json listed = json::parse(out_.str());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["user"], "301");
  EXPECT_EQ(file_bytes(db), before);
  EXPECT_FALSE(fs::exists(db + "-wal") && fs::file_size(db + "-wal") > 0);

  std::ofstream(dir_ + "/garbage.db") << "not a database";
  state_ = dir_ + "/garbage.db";
  EXPECT_EQ(run({"list", "blocked"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("its state database cannot be read"));
}

// Addresses that are no remote host, or this machine's own, are refused before the daemon is
// asked.
TEST_F(DaemonCommandsTest, BlockRefusesAddressesThatAreNoRemoteHost) {
  serve_line(R"({"ok":true,"addr":"x","until":0})");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"0.0.0.0", "unspecified"},       {"::", "unspecified"},    {"127.0.0.1", "loopback"},
      {"127.5.6.7", "loopback"},        {"::1", "loopback"},      {"224.0.0.5", "multicast"},
      {"ff02::1", "multicast"},         {"255.255.255.255", "broadcast"},
      {"192.0.2.1", "this machine's interfaces"}, {"2001:DB8::1", "this machine's interfaces"}};
  for (const auto& [addr, why] : refused) {
    EXPECT_EQ(run({"block", addr}), kExitInvalid) << addr;
    EXPECT_THAT(err_.str(), HasSubstr("cannot be blocked:")) << addr;
    EXPECT_THAT(err_.str(), HasSubstr(why)) << addr;
  }
  EXPECT_TRUE(server_->requests().empty());
  EXPECT_EQ(run({"block", "192.0.2.2"}), kExitOk) << err_.str();
  EXPECT_EQ(server_->requests().size(), 1u);
}

TEST_F(DaemonCommandsTest, AStaleSocketFileMeansNotRunning) {
  // What a daemon killed with -9 leaves: the socket file, nobody listening.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string path = run_dir_ + "/control.sock";
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  EXPECT_EQ(run({"unblock", "192.0.2.99"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld is not running (nobody listens on " + path + ")"));
}

TEST_F(DaemonCommandsTest, StatusAndStartWorkAsBeforeWithoutTheDaemon) {
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("pbxwalld: not running"));
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  ASSERT_EQ(kernel_.applied.size(), 1u);  // the CLI applied the table itself
  EXPECT_THAT(kernel_.applied[0], HasSubstr("203.0.113.0/24"));
}

TEST_F(DaemonCommandsTest, ZoneListingIsUnchanged) {
  EXPECT_EQ(run({"list", "local"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("203.0.113.0/24"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("198.51.100.0/24")));
  EXPECT_EQ(run({"list", "nowhere"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("blocked, validated, flagged"));
}

// ---- arguments checked before anything is sent ----

TEST_F(DaemonCommandsTest, BadDurationsExitTwoNamingTheArgument) {
  serve_line(R"({"ok":true})");
  for (const std::string bad : {"10x", "0m", "m", "10", "2h-", "1.5h", "99999999999d", "1h0m"}) {
    EXPECT_EQ(run({"block", "192.0.2.99", "--for", bad}), kExitInvalid) << bad;
    EXPECT_THAT(err_.str(), HasSubstr("--for: \"" + bad + "\" is not a duration")) << bad;
  }
  EXPECT_EQ(run({"block", "192.0.2.300"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("ADDR: \"192.0.2.300\" is not an address or network"));
  // Nothing reached the daemon.
  EXPECT_TRUE(server_->requests().empty());
}

TEST(ParseDuration, UnitsAndSums) {
  EXPECT_EQ(parse_duration("90s"), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("30m"), std::chrono::seconds(1800));
  EXPECT_EQ(parse_duration("2h"), std::chrono::seconds(7200));
  EXPECT_EQ(parse_duration("7d"), std::chrono::seconds(7 * 86400));
  EXPECT_EQ(parse_duration("2w"), std::chrono::seconds(14 * 86400));
  EXPECT_EQ(parse_duration("1h30m"), std::chrono::seconds(5400));
  EXPECT_FALSE(parse_duration("h"));
  EXPECT_FALSE(parse_duration("1h 30m"));
  EXPECT_FALSE(parse_duration("0s"));
}

// ---- through the daemon ----

TEST_F(DaemonCommandsTest, BlockSendsAddressSecondsAndReason) {
  serve_line(R"({"ok":true,"addr":"192.0.2.99","until":)" + std::to_string(kSomeTime) + "}");
  EXPECT_EQ(run({"block", "192.0.2.99", "--for", "10m", "--reason", "scanner seen in the logs"}), kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.99 blocked until 2026-01-02 03:04:05 UTC"));
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], (json{{"cmd", "block"}, {"addr", "192.0.2.99"}, {"seconds", 600},
                               {"reason", "scanner seen in the logs"}}));
}

TEST_F(DaemonCommandsTest, RefusalIsReportedWithExitOne) {
  serve_line(R"({"ok":false,"error":"192.0.2.99 is trusted and is never blocked"})");
  EXPECT_EQ(run({"block", "192.0.2.99"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld refused: 192.0.2.99 is trusted and is never blocked"));
}

TEST_F(DaemonCommandsTest, UnblockTellsWhetherTheHostWasBlocked) {
  serve([](const std::string& line) {
    const bool known = line.find("192.0.2.99") != std::string::npos;
    return FakeControlServer::Answer{{json{{"ok", true}, {"was_blocked", known}}.dump()}};
  });
  EXPECT_EQ(run({"unblock", "192.0.2.99"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.99 unblocked"));
  EXPECT_EQ(run({"unblock", "2001:db8::1"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("2001:db8::1 was not blocked"));
}

TEST_F(DaemonCommandsTest, BlockTakesANetworkAndRefusesOnesHoldingThisMachine) {
  serve_line(json{{"ok", true}, {"addr", "203.0.113.0/24"}, {"until", kSomeTime}}.dump());
  EXPECT_EQ(run({"block", "203.0.113.0/24", "--for", "1h"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("203.0.113.0/24 blocked until 2026-01-02 03:04:05 UTC"));
  auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], (json{{"cmd", "block"}, {"addr", "203.0.113.0/24"}, {"seconds", 3600}}));
  // 192.0.2.1 is this machine's; host bits are named; nothing reaches the daemon.
  EXPECT_EQ(run({"block", "192.0.2.0/24"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("192.0.2.0/24 cannot be blocked: it holds 192.0.2.1, an address of this machine"));
  EXPECT_EQ(run({"block", "203.0.113.1/24"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("bits set beyond the prefix length"));
  EXPECT_EQ(server_->parsed_requests().size(), 1u);
}

TEST_F(DaemonCommandsTest, UnblockAllOfOneRuleAndOfANetwork) {
  serve([](const std::string& line) {
    const auto request = json::parse(line);
    if (request.value("all", false)) return FakeControlServer::Answer{{json{{"ok", true}, {"unblocked", 1}}.dump()}};
    return FakeControlServer::Answer{{json{{"ok", true}, {"was_blocked", true}}.dump()}};
  });
  EXPECT_EQ(run({"unblock", "--all", "--rule", "fingerprint"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("1 block lifted (rule fingerprint)"));
  EXPECT_EQ(run({"unblock", "203.0.113.0/24"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("203.0.113.0/24 unblocked"));
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], (json{{"cmd", "unblock"}, {"all", true}, {"rule", "fingerprint"}}));
  EXPECT_EQ(requests[1], (json{{"cmd", "unblock"}, {"addr", "203.0.113.0/24"}}));
  EXPECT_EQ(run({"unblock"}), kExitInvalid);
  EXPECT_EQ(run({"unblock", "--rule", "fingerprint"}), kExitInvalid);
}

const std::string kBlockedItems = json{{"ok", true},
                                       {"items",
                                        {{{"addr", "192.0.2.99"},
                                          {"rule", "manual"},
                                          {"reason", "by hand"},
                                          {"since", kSomeTime - 60},
                                          {"until", kSomeTime},
                                          {"times", 2}}}}}
                                      .dump();

TEST_F(DaemonCommandsTest, ListBlockedAsTableAndAsJson) {
  serve_line(kBlockedItems);
  EXPECT_EQ(run({"list", "blocked"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("ADDRESS"));
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.99"));
  EXPECT_THAT(out_.str(), HasSubstr("2026-01-02 03:04:05"));
  EXPECT_THAT(out_.str(), HasSubstr("by hand"));
  EXPECT_EQ(run({"list", "blocked", "--json"}), kExitOk) << err_.str();
  const json listed = json::parse(out_.str());
  ASSERT_TRUE(listed.is_array());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["addr"], "192.0.2.99");
  EXPECT_EQ(server_->parsed_requests().back(),
            (json{{"cmd", "list"}, {"what", "blocked"}, {"limit", 1000}, {"after", ""}}));
}

TEST_F(DaemonCommandsTest, ListBlockedFollowsThePagesAndStopsAtTheLimit) {
  // Pages of two from an address list of five, as pbxwalld answers them.
  const std::vector<std::string> all = {"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14"};
  serve([&all](const std::string& line) {
    const json r = json::parse(line);
    json items = json::array();
    std::string next;
    for (const auto& a : all) {
      if (a <= r.value("after", "")) continue;
      if (static_cast<std::int64_t>(items.size()) == std::min<std::int64_t>(r["limit"].get<std::int64_t>(), 2)) {
        next = items.back()["addr"].get<std::string>();
        break;
      }
      items.push_back({{"addr", a}, {"rule", "manual"}, {"reason", "r"}, {"until", kSomeTime}, {"times", 1}});
    }
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", items}, {"next", next.empty() ? json() : json(next)}}.dump()}};
  });
  EXPECT_EQ(run({"list", "blocked", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(json::parse(out_.str()).size(), 5u);
  EXPECT_EQ(run({"list", "blocked", "--limit", "3", "--origin", "manual", "--addr", "192.0.2.0/24"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.12"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("192.0.2.13")));
  EXPECT_THAT(err_.str(), HasSubstr("more blocked hosts follow: --after 192.0.2.12"));
  const auto requests = server_->parsed_requests();
  EXPECT_EQ(requests.back()["origin"], "manual");
  EXPECT_EQ(requests.back()["addr"], "192.0.2.0/24");
  EXPECT_EQ(run({"list", "validated", "--limit", "3"}), kExitInvalid);
}

TEST_F(DaemonCommandsTest, ListBlockedShowsEachOriginAndFollowsSectionCursors) {
  // A page of this server's block, then one of a blocklist behind a section cursor.
  serve([](const std::string& line) {
    const json r = json::parse(line);
    if (r.value("after", "").empty())
      return FakeControlServer::Answer{{json{{"ok", true},
                                             {"items", {{{"addr", "192.0.2.99"}, {"rule", "password"}, {"origin", "engine"},
                                                         {"reason", "5 wrong passwords"}, {"until", kSomeTime}, {"times", 1}}}},
                                             {"next", "192.0.2.99"}}
                                            .dump()}};
    if (r["after"] == "192.0.2.99")
      return FakeControlServer::Answer{{json{{"ok", true},
                                             {"items", {{{"addr", "198.51.100.0/24"}, {"rule", "crowdsec"},
                                                         {"origin", "crowdsec:CAPI/ssh-bf"}, {"reason", "shared by the fleet"},
                                                         {"until", kSomeTime}, {"times", 1}}}},
                                             {"next", "crowdsec:198.51.100.0/24"}}
                                            .dump()}};
    return FakeControlServer::Answer{{json{{"ok", true},
                                           {"items", {{{"addr", "203.0.113.5"}, {"rule", "blocklist"}, {"origin", "blocklist:voipbl"},
                                                       {"reason", "on blocklist voipbl"}, {"until", nullptr}, {"times", 1}}}},
                                           {"next", nullptr}}
                                          .dump()}};
  });
  EXPECT_EQ(run({"list", "blocked"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("password"));
  EXPECT_THAT(out_.str(), HasSubstr("crowdsec:CAPI/ssh-bf"));
  EXPECT_THAT(out_.str(), HasSubstr("blocklist:voipbl"));
  EXPECT_THAT(out_.str(), HasSubstr("on blocklist voipbl"));
  EXPECT_EQ(server_->parsed_requests().back()["after"], "crowdsec:198.51.100.0/24");
}

TEST_F(DaemonCommandsTest, BlockFileSendsTheListAndNamesBadLines) {
  serve_line(R"({"ok":true,"blocked":3,"trusted":0,"refused":0})");
  const std::string list = dir_ + "/list.txt";
  std::ofstream(list) << "# a community list\n203.0.113.5\n\n  198.51.100.0/25   # a network\n2001:db8:66::/48\n";
  EXPECT_EQ(run({"block", "--file", list, "--for", "1d", "--reason", "list"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("3 addresses or networks of " + list + " blocked"));
  auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], (json{{"cmd", "block_list"}, {"seconds", 86400}, {"reason", "list"},
                               {"items", {"203.0.113.5", "198.51.100.0/25", "2001:db8:66::/48"}}}));
  std::ofstream(list) << "203.0.113.5\n203.0.113.300\n192.0.2.1\n192.0.2.0/24\n10.0.0.1/8\n";
  EXPECT_EQ(run({"block", "--file", list}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr(list + ":2: \"203.0.113.300\" is not an address or network"));
  EXPECT_THAT(err_.str(), HasSubstr(list + ":3: 192.0.2.1 cannot be blocked: it is an address of this machine"));
  EXPECT_THAT(err_.str(), HasSubstr(list + ":4: 192.0.2.0/24 cannot be blocked: it holds 192.0.2.1"));
  EXPECT_THAT(err_.str(), HasSubstr(list + ":5: "));
  EXPECT_EQ(server_->parsed_requests().size(), 1u);  // nothing sent
  EXPECT_EQ(run({"block", "--file", dir_ + "/missing.txt"}), kExitInvalid);
  EXPECT_EQ(run({"block"}), kExitInvalid);
}

TEST_F(DaemonCommandsTest, ListValidatedAndFlaggedAskForThem) {
  serve([](const std::string& line) {
    const json r = json::parse(line);
    json item = {{"addr", "198.51.100.7"}, {"user", "201"}, {"until", kSomeTime}, {"reason", "wrong password"},
                 {"count", 3}, {"last_seen", kSomeTime}};
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", {item}}, {"what", r["what"]}}.dump()}};
  });
  EXPECT_EQ(run({"list", "validated"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("198.51.100.7"));
  EXPECT_THAT(out_.str(), HasSubstr("201"));
  EXPECT_EQ(run({"list", "flagged"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("wrong password"));
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["what"], "validated");
  EXPECT_EQ(requests[1]["what"], "flagged");
}

json event(std::int64_t id, const std::string& action, const std::string& addr) {
  return {{"id", id}, {"t", kSomeTime + id}, {"action", action}, {"addr", addr},
          {"user", "201"}, {"rule", "manual"}, {"reason", action + " by hand"}};
}

TEST_F(DaemonCommandsTest, EventsPrintsTheLatestOnes) {
  serve_line(json{{"ok", true}, {"items", {event(1, "block", "192.0.2.1"), event(2, "unblock", "192.0.2.1"),
                                           event(3, "block", "192.0.2.3")}}}
                 .dump());
  EXPECT_EQ(run({"events", "--limit", "2"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), Not(HasSubstr("2026-01-02 03:04:06")));  // event 1 is older than the last two
  EXPECT_THAT(out_.str(), HasSubstr("2026-01-02 03:04:07  unblock   192.0.2.1        201   manual  unblock by hand\n"));
  EXPECT_THAT(out_.str(), HasSubstr("block by hand"));
  EXPECT_EQ(run({"events", "--json"}), kExitOk);
  std::istringstream lines(out_.str());
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) EXPECT_EQ(json::parse(line)["id"], ++n);
  EXPECT_EQ(n, 3);
}

// Where each column of an events table begins, from its header.
std::vector<std::size_t> column_starts(const std::string& header) {
  std::vector<std::size_t> at;
  for (const char* title : {"ACTION", "ADDRESS", "USER", "RULE", "REASON"}) at.push_back(header.find(title));
  return at;
}

TEST_F(DaemonCommandsTest, EventsColumnsStayAlignedWithLongValues) {
  json change = event(2, "change", "2001:db8:ffff:1234:5678:9abc:def0:1");
  change["user"] = "pbxwall apply (SSH session from 2001:db8:ffff:1234:5678:9abc:def0:1 port 50123)";
  change["rule"] = "";
  change["reason"] = "198.51.100.0/24 is now in zone trusted";
  json login = event(3, "login_failed", "192.0.2.1");
  login["rule"] = "web";
  serve_line(json{{"ok", true}, {"items", {event(1, "block", "192.0.2.1"), change, login}}}.dump());
  EXPECT_EQ(run({"events"}), kExitOk) << err_.str();
  std::istringstream lines(out_.str());
  std::string header, line;
  std::getline(lines, header);
  const auto starts = column_starts(header);
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    // Each value begins where its title does: the character before a column is a space, the
    // one at its start is not (no value here is empty).
    // One entry a character as the terminal shows it (the ellipsis is 3 bytes, one column).
    std::vector<std::string> shown;
    for (char ch : line) {
      if ((ch & 0xC0) == 0x80) shown.back() += ch;
      else shown.emplace_back(1, ch);
    }
    for (std::size_t c = 0; c < starts.size(); ++c) {
      ASSERT_LT(starts[c], shown.size()) << line;
      EXPECT_EQ(shown[starts[c] - 1], " ") << "column " << c << " of: " << line;
      EXPECT_NE(shown[starts[c]], " ") << "column " << c << " of: " << line;
    }
  }
  EXPECT_EQ(rows, 3);
  // The IPv6 address is whole; the user beyond its 20 columns is cut with an ellipsis.
  EXPECT_THAT(out_.str(), HasSubstr("2001:db8:ffff:1234:5678:9abc:def0:1  pbxwall apply (SSH \u2026  -"));
  EXPECT_THAT(out_.str(), HasSubstr("login_failed  192.0.2.1"));
  // Short values leave the reason most of an 80-column line.
  serve_line(json{{"ok", true}, {"items", {event(1, "block", "192.0.2.1")}}}.dump());
  EXPECT_EQ(run({"events"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str().find("REASON"), 62u) << out_.str();
}

TEST_F(DaemonCommandsTest, EventsOfOneAddressOrNetwork) {
  serve_line(json{{"ok", true}, {"items", {event(5, "block", "192.0.2.9")}}, {"last_id", 40}, {"more", false}}.dump());
  EXPECT_EQ(run({"events", "--addr", "192.0.2.0/24"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.9"));
  auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["addr"], "192.0.2.0/24");
  // A filtered page shorter than asked but with more to come: the next begins at its last_id.
  serve([](const std::string& line) {
    const json r = json::parse(line);
    if (r["after_id"] == 0)
      return FakeControlServer::Answer{{json{{"ok", true}, {"items", {event(5, "block", "192.0.2.9")}}, {"last_id", 40}, {"more", true}}.dump()}};
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", {event(41, "unblock", "192.0.2.9")}}, {"last_id", 41}, {"more", false}}.dump()}};
  });
  EXPECT_EQ(run({"events", "--addr", "192.0.2.9"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("unblock"));
  requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["after_id"], 40);
  EXPECT_EQ(requests[1]["addr"], "192.0.2.9");
  // A bad filter is refused before asking, with the parser's reason.
  EXPECT_EQ(run({"events", "--addr", "10.0.0.1/8"}), kExitInvalid);
  EXPECT_EQ(err_.str(), "pbxwall: --addr: \"10.0.0.1/8\" is not an address or network: address has bits set beyond "
                        "the prefix length (did you mean 10.0.0.0/8?)\n");
  EXPECT_EQ(server_->requests().size(), 2u);
}

TEST_F(DaemonCommandsTest, EventsFollowOfOneNetworkAsksTheDaemonForItsEventsOnly) {
  serve([](const std::string& line) {
    const json r = json::parse(line);
    if (!r.contains("follow")) return FakeControlServer::Answer{{json{{"ok", true}, {"items", json::array()}}.dump()}};
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", json::array()}}.dump(), event(2, "block", "192.0.2.7").dump()}, true};
  });
  EXPECT_EQ(run({"events", "--follow", "--addr", "192.0.2.0/24"}), kExitFailure);  // the daemon closed
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.7"));
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["follow"], true);
  EXPECT_EQ(requests[1]["addr"], "192.0.2.0/24");
}

TEST_F(DaemonCommandsTest, EventsFollowPrintsNewEventsUntilTheDaemonCloses) {
  serve([](const std::string& line) {
    const json r = json::parse(line);
    if (!r.contains("follow")) return FakeControlServer::Answer{{json{{"ok", true}, {"items", {event(1, "block", "192.0.2.1")}}}.dump()}};
    // The follow answer repeats nothing old; then two events as they happen, then the daemon stops.
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", json::array()}}.dump(),
                                      event(2, "validate", "198.51.100.7").dump(),
                                      event(1, "block", "192.0.2.1").dump(),  // already shown
                                      event(3, "forget", "198.51.100.7").dump()},
                                     true};
  });
  EXPECT_EQ(run({"events", "--follow"}), kExitFailure);
  const std::string out = out_.str();
  EXPECT_THAT(out, HasSubstr("validate"));
  EXPECT_THAT(out, HasSubstr("forget"));
  EXPECT_EQ(out.find("192.0.2.1"), out.rfind("192.0.2.1"));  // once
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld closed the connection"));
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1]["after_id"], 1);
  EXPECT_EQ(requests[1]["follow"], true);
}

TEST_F(DaemonCommandsTest, EventsFollowWithLimitZeroPrintsOnlyNewEvents) {
  serve([](const std::string& line) {
    const json r = json::parse(line);
    if (!r.contains("follow")) return FakeControlServer::Answer{{json{{"ok", true}, {"items", {event(1, "block", "192.0.2.1")}}}.dump()}};
    return FakeControlServer::Answer{{json{{"ok", true}, {"items", json::array()}}.dump(),
                                      event(2, "validate", "198.51.100.7").dump()},
                                     true};
  });
  EXPECT_EQ(run({"events", "--follow", "--limit", "0"}), kExitFailure);  // the daemon closed
  EXPECT_THAT(out_.str(), HasSubstr("198.51.100.7"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("192.0.2.1")));
  EXPECT_THAT(err_.str(), Not(HasSubstr("--limit")));
  EXPECT_EQ(run({"events", "--limit", "0"}), kExitInvalid);
}

TEST_F(DaemonCommandsTest, StatusAddsTheDaemonsCounts) {
  serve_line(json{{"ok", true}, {"blocked", 3}, {"validated", 2}, {"flagged", 1}, {"packets_in", 1234},
                  {"packets_out", 1200}, {"table", true}, {"decisions", {{"fingerprint", 2}, {"flood", 0}}}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("hosts: blocked 3, validated 2, flagged 1"));
  EXPECT_THAT(out_.str(), HasSubstr("1234 to the PBX, 1200 from it"));
  EXPECT_THAT(out_.str(), HasSubstr("decisions by rule: fingerprint 2\n"));
  EXPECT_EQ(run({"status", "--json"}), kExitOk);
  const json j = json::parse(out_.str());
  EXPECT_EQ(j["daemon"]["blocked"], 3);
  EXPECT_FALSE(j["daemon"].contains("ok"));
}

TEST_F(DaemonCommandsTest, StatusNamesThePacketPathWhyAndHowToGetInlineDrops) {
  serve_line(json{{"ok", true}, {"blocked", 0}, {"table", true}, {"packet_path", "log"},
                  {"packet_path_why", "[responsive] packet_path = \"auto\" (the default) and this kernel does not load "
                                      "the nftables queue statement (x): ... first packets reach the PBX"},
                  {"packet_path_inline_drops", "set [responsive] packet_path = \"external-queue\" with ..."}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\n  packet path: log (observe mode): [responsive] packet_path = \"auto\" (the "
                                    "default) and this kernel does not load the nftables queue statement (x): ... "
                                    "first packets reach the PBX\n"));
  EXPECT_THAT(out_.str(), HasSubstr("\n  for inline drops: set [responsive] packet_path = \"external-queue\" with ...\n"));
  EXPECT_EQ(run({"status", "--json"}), kExitOk);
  const json j = json::parse(out_.str());
  EXPECT_EQ(j["daemon"]["packet_path"], "log");
  EXPECT_TRUE(j["daemon"]["packet_path_inline_drops"].is_string());
}

TEST_F(DaemonCommandsTest, StatusOfAnInlinePathGivesNoAdvice) {
  serve_line(json{{"ok", true}, {"table", true}, {"packet_path", "queue"}, {"packet_path_why", "w"},
                  {"packet_path_inline_drops", nullptr}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\n  packet path: queue (inline verdicts): w\n"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("for inline drops")));
}

TEST_F(DaemonCommandsTest, StatusRaisesTheStateDatabaseAlarm) {
  serve_line(json{{"ok", true}, {"blocked", 1}, {"table", true},
                  {"state", {{"ok", false}, {"unsaved", 7}, {"dropped", 0}, {"error", "database or disk is full"},
                             {"recovered_blocks", 4}, {"recovered_validated", 0},
                             {"set_aside", {{"path", "/var/lib/pbxwall/state.db.broken-20261202T004700Z"},
                                            {"why", "empty file (0 bytes)"}}}}}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("state database: NOT SAVING: 7 changes wait in memory and are retried "
                                    "(database or disk is full)\n"));
  EXPECT_THAT(out_.str(), HasSubstr("state database: was damaged at start (empty file (0 bytes)), moved to "
                                    "/var/lib/pbxwall/state.db.broken-20261202T004700Z\n"));
  EXPECT_THAT(out_.str(), HasSubstr("4 blocks and 0 validations read back from the kernel sets at start"));
}

TEST_F(DaemonCommandsTest, StatusCountsInTheSingular) {
  serve_line(json{{"ok", true}, {"blocked", 1}, {"table", true},
                  {"state", {{"ok", false}, {"unsaved", 1}, {"dropped", 0}, {"error", "disk full"},
                             {"recovered_blocks", 1}, {"recovered_validated", 1}}},
                  {"ami", {{"state", "ready"}, {"username", "pbxwall"}, {"endpoint", "127.0.0.1:5038"},
                           {"events", 1}, {"validations", 1}, {"forgets", 1}}}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("NOT SAVING: 1 change waits in memory and is retried (disk full)"));
  EXPECT_THAT(out_.str(), HasSubstr("1 block and 1 validation read back"));
  EXPECT_THAT(out_.str(), HasSubstr("1 event, 1 registration learnt, 1 removal\n"));
}

TEST_F(DaemonCommandsTest, StatusIsQuietAboutAHealthyStateDatabase) {
  serve_line(json{{"ok", true}, {"blocked", 0}, {"table", true},
                  {"state", {{"ok", true}, {"unsaved", 0}, {"recovered_blocks", 0}, {"recovered_validated", 0}}}}
                 .dump());
  EXPECT_EQ(run({"status"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), Not(HasSubstr("state database")));
}

TEST_F(DaemonCommandsTest, BlockThatIsNotSavedWarns) {
  serve_line(R"j({"ok":true,"addr":"192.0.2.99","saved":false,"warning":"not saved in the state database (full)","until":)j" +
             std::to_string(kSomeTime) + "}");
  EXPECT_EQ(run({"block", "192.0.2.99"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.99 blocked until"));
  EXPECT_THAT(err_.str(), HasSubstr("pbxwall: warning: not saved in the state database (full)"));
}

TEST_F(DaemonCommandsTest, ReloadStartStopAndTrustGoThroughTheDaemon) {
  serve_line(R"({"ok":true})");
  EXPECT_EQ(run({"reload"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"stop"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("pbxwalld keeps running"));
  EXPECT_EQ(run({"trust", "192.0.2.10"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("written by pbxwalld, which applied it"));
  EXPECT_TRUE(kernel_.applied.empty());  // the daemon owns the table: the CLI applied nothing
  std::vector<std::string> cmds;
  for (const auto& r : server_->parsed_requests()) cmds.push_back(r["cmd"]);
  EXPECT_EQ(cmds, (std::vector<std::string>{"reload", "start", "stop", "apply"}));
  // Changes carry what the daemon's safety needs; the edit carries the new text, unwritten here.
  const auto requests = server_->parsed_requests();
  EXPECT_EQ(requests[0]["safe_mode"], true);
  EXPECT_EQ(requests[0]["force"], false);
  EXPECT_NE(requests[3]["text"].get<std::string>().find("192.0.2.10"), std::string::npos);
}

TEST_F(DaemonCommandsTest, ChangesThroughTheDaemonNameTheCommandForItsEvent) {
  serve_line(R"({"ok":true})");
  env_["SSH_CONNECTION"] = "192.0.2.77 50022 192.0.2.1 22";
  EXPECT_EQ(run({"trust", "192.0.2.10"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"reload"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"off"}), kExitOk) << err_.str();
  std::vector<std::string> who;
  for (const auto& r : server_->parsed_requests()) who.push_back(r.value("who", ""));
  ASSERT_EQ(who.size(), 3u);
  EXPECT_THAT(who[0], StartsWith("pbxwall trust (SSH"));  // not the control command "apply"
  EXPECT_THAT(who[0], HasSubstr("192.0.2.77"));
  EXPECT_THAT(who[1], StartsWith("pbxwall reload (SSH"));
  EXPECT_THAT(who[2], StartsWith("pbxwall off (SSH"));
}

TEST_F(DaemonCommandsTest, ChangesThroughTheDaemonCarryTheSshSessionAndForce) {
  serve_line(R"j({"ok":false,"error":"refused: this change would cut your SSH session from 192.0.2.77 to tcp/22 (x)","lockout":true,"http_status":409})j");
  env_["SSH_CONNECTION"] = "192.0.2.77 50022 192.0.2.1 22";
  EXPECT_EQ(run({"reload", "--no-safe-mode"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("would cut your SSH session"));
  EXPECT_THAT(err_.str(), HasSubstr("add --force"));
  EXPECT_EQ(run({"reload", "--force"}), kExitFailure);
  const auto requests = server_->parsed_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0]["session"]["client"], "192.0.2.77");
  EXPECT_EQ(requests[0]["session"]["port"], 22);
  EXPECT_EQ(requests[0]["safe_mode"], false);
  EXPECT_EQ(requests[1]["force"], true);
}

TEST_F(DaemonCommandsTest, OffOnAndRestartGoThroughTheDaemon) {
  serve_line(R"({"ok":true})");
  EXPECT_EQ(run({"off"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("firewall switched off"));
  EXPECT_THAT(out_.str(), HasSubstr("written by pbxwalld, which applied it"));
  EXPECT_EQ(run({"on"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"restart"}), kExitOk) << err_.str();
  EXPECT_TRUE(kernel_.applied.empty());
  std::vector<std::string> cmds;
  for (const auto& r : server_->parsed_requests()) cmds.push_back(r["cmd"]);
  // pbxwalld writes the file: this fake one does not, so `on` finds it still on and sends nothing.
  EXPECT_EQ(cmds, (std::vector<std::string>{"apply", "stop", "start"}));
}

TEST_F(DaemonCommandsTest, InvalidConfigurationIsNotSentToTheDaemon) {
  std::ofstream(config_, std::ios::trunc) << "[networks]\n\"192.0.2.0/24\" = \"nowhere\"\n";
  serve_line(R"({"ok":true})");
  EXPECT_EQ(run({"reload"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr(config_ + ":2:"));
  EXPECT_TRUE(server_->requests().empty());
}

// ---- a daemon that misbehaves ----

TEST_F(DaemonCommandsTest, GarbageAnswersGiveClearErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"hello there", "not a JSON object: hello there"},
      {"[1,2,3]", "not a JSON object"},
      {R"({"items":[]})", "has no boolean \"ok\""},
      {R"({"ok":"yes"})", "has no boolean \"ok\""},
      {R"({"ok":true})", "has no \"items\" list"},
      {R"({"ok":true,"items":{"a":1}})", "has no \"items\" list"},
  };
  for (const auto& [line, message] : cases) {
    serve_line(line);
    EXPECT_EQ(run({"list", "blocked"}), kExitFailure) << line;
    EXPECT_THAT(err_.str(), HasSubstr(message)) << line;
    server_.reset();
  }
}

TEST_F(DaemonCommandsTest, FieldsOfUnexpectedTypesDoNotCrash) {
  serve_line(R"({"ok":true,"items":[{"addr":5,"until":"soon","times":null,"reason":["x"]},7,null]})");
  EXPECT_EQ(run({"list", "blocked"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("5 "));
  serve_line(R"({"ok":true,"items":[{"id":"x"}]})");
  EXPECT_EQ(run({"events"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("without a new \"id\""));
}

TEST_F(DaemonCommandsTest, ADaemonThatDoesNotAnswerTimesOut) {
  short_timeout_ = true;
  serve([](const std::string&) { return FakeControlServer::Answer{}; });
  EXPECT_EQ(run({"unblock", "192.0.2.99"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld did not answer within 200 ms"));
}

TEST_F(DaemonCommandsTest, ADaemonThatHangsUpIsReported) {
  serve([](const std::string&) { return FakeControlServer::Answer{{}, true}; });
  EXPECT_EQ(run({"block", "192.0.2.99"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("pbxwalld closed the connection"));
}

}  // namespace
}  // namespace pbxwall::cli
