// The CLI driven in-process: a temporary configuration and run directory, a DryRunApplier in
// place of the kernel, and an injected environment, so every command's effect (files written,
// scripts applied, exit status, messages) is checked without root or a real nftables.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/run_dir.h"
#include "kernel/kernel.h"

namespace pbxwall::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr const char* kConfig = R"([firewall]
safe_mode = false

[interfaces]
eth0 = "internet"

[networks]
# the office
"198.51.100.0/24" = "trusted"
"203.0.113.0/24" = "local"
"2001:db8:10::/48" = "other"
)";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pbxwall-cli-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    config_ = dir_ + "/pbxwall.toml";
    write_config(kConfig);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_config(const std::string& text) {
    std::ofstream(config_, std::ios::trunc) << text;
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Runs `pbxwall --config C --run-dir R args...`.
  int run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    Context ctx;
    ctx.out = &out_;
    ctx.err = &err_;
    ctx.applier = &kernel_;
    ctx.getenv = [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    };
    ctx.interface_names = [] { return std::vector<std::string>{"lo", "eth0", "wg0"}; };
    ctx.start_guard = [this](const std::string& token, int seconds) -> Result<int> {
      guard_token_ = token;
      guard_seconds_ = seconds;
      return 999999;  // no such process: cancelling it must be harmless
    };
    std::vector<std::string> full = {"pbxwall", "--config", config_, "--run-dir", dir_ + "/run"};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli(full, ctx);
  }

  std::string dir_, config_;
  std::ostringstream out_, err_;
  kernel::DryRunApplier kernel_;
  std::map<std::string, std::string> env_;
  std::string guard_token_;
  int guard_seconds_ = 0;
};

TEST_F(CliTest, CheckAcceptsValidConfigAndDryRunsTheRuleset) {
  EXPECT_EQ(run({"check"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("OK (3 networks"));
  ASSERT_EQ(kernel_.checked.size(), 1u);
  EXPECT_THAT(kernel_.checked[0], HasSubstr("table inet pbxwall {"));
  EXPECT_TRUE(kernel_.applied.empty());
}

TEST_F(CliTest, CheckReportsErrorsWithPlaceAndExitsTwo) {
  write_config("[networks]\n\"192.0.2.0/24\" = \"nowhere\"\n");
  EXPECT_EQ(run({"check"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr(config_ + ":2:"));
  EXPECT_THAT(err_.str(), HasSubstr("error"));
  EXPECT_TRUE(kernel_.checked.empty());
}

TEST_F(CliTest, CheckReportsTheSectionsOnlyTheDaemonReads) {
  write_config(std::string(kConfig) +
               "\n[responsive]\npacket_path = \"log\"\nguessing_failurs = 3\n"
               "\n[users.\"301\"]\nservices = [\"telnet\"]\n"
               "\n[ami]\nport = 0\n"
               "\n[web]\nport = \"http\"\n");
  EXPECT_EQ(run({"check"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr(config_ + ":15:1: error: responsive.guessing_failurs: unknown key"));
  EXPECT_THAT(err_.str(), HasSubstr("users.301.services"));
  EXPECT_THAT(err_.str(), HasSubstr("ami.port"));
  EXPECT_THAT(err_.str(), HasSubstr("web.port"));
  EXPECT_THAT(err_.str(), HasSubstr("is invalid"));
  EXPECT_TRUE(kernel_.checked.empty());
}

// One run shows every mistake of the file, in line order: a bad zone in [services.ssh] does
// not hide the sections only pbxwalld reads, and a near-miss key gets its suggestion.
TEST_F(CliTest, CheckReportsEveryErrorOfTheFileInLineOrder) {
  write_config("[firewall]\nenabled = true\n"
               "\n[interfaces]\neth1 = \"internet\"\n"
               "\n[services.ssh]\nzones = [\"locl\"]\n"
               "\n[responsive]\nenabled = true\nenumeration_user = 5\n"
               "\n[users]\nalice = 3\n"
               "\n[web]\nenabled = true\nprot = 8080\n");
  EXPECT_EQ(run({"check"}), kExitInvalid);
  const std::string err = err_.str();
  const std::vector<std::string> in_order = {
      config_ + ":5:8: warning: interfaces.eth1: no interface named eth1 on this machine (did you mean eth0?)",
      config_ + ":8:10: error: services.ssh.zones[0]: unknown zone 'locl'; did you mean 'local'?",
      config_ + ":12:1: error: responsive.enumeration_user: unknown key; did you mean 'enumeration_users'?",
      config_ + ":15:9: error: users.alice:",
      config_ + ":19:8: error: web.prot: unknown key; did you mean 'port'?",
      "pbxwall: " + config_ + " is invalid (4 errors)"};
  std::size_t at = 0;
  for (const auto& line : in_order) {
    const auto found = err.find(line, at);
    ASSERT_NE(found, std::string::npos) << "missing or out of order: " << line << "\n" << err;
    at = found + line.size();
  }
  EXPECT_TRUE(kernel_.checked.empty());
}

TEST_F(CliTest, CheckWarnsAboutAnInterfaceThisMachineHasNot) {
  write_config("[interfaces]\neth0 = \"internet\"\nwg9 = \"local\"\n");
  EXPECT_EQ(run({"check"}), kExitOk) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr(config_ + ":3:7: warning: interfaces.wg9: no interface named wg9 on this machine"));
  EXPECT_THAT(err_.str(), HasSubstr("interfaces here: lo, eth0, wg0. Its zone local applies once it exists"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("eth0 on this machine")));
  EXPECT_THAT(out_.str(), HasSubstr("OK (0 networks, 2 interfaces, "));
  EXPECT_THAT(out_.str(), HasSubstr(", 1 warning)"));
}

TEST_F(CliTest, CheckShowsWarningsButSucceeds) {
  write_config("[services.ssh]\nzones = [\"internet\"]\n");
  EXPECT_EQ(run({"check"}), kExitOk);
  EXPECT_THAT(err_.str(), HasSubstr("warning"));
  EXPECT_THAT(out_.str(), HasSubstr(", 1 warning)"));
}

TEST_F(CliTest, CheckFailsWhenNftablesRejectsTheRuleset) {
  kernel_.fail_next = "ruleset:4:1: Error: boom";
  EXPECT_EQ(run({"check"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("ruleset:4:1: Error: boom"));
}

TEST_F(CliTest, ShowRulesetPrintsTheRenderedScript) {
  EXPECT_EQ(run({"show", "ruleset"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("table inet pbxwall {"));
  EXPECT_THAT(out_.str(), HasSubstr("198.51.100.0/24"));
  EXPECT_TRUE(kernel_.applied.empty());
}

// What pbxwalld applies has the PBX's ports (chan_sip on 5160 in the FreePBX 16 tree) and its
// trunks written as addresses: `show ruleset`, and `start` without pbxwalld, have them too.
TEST_F(CliTest, ShowRulesetAndStartHaveThePortsAndTrunksOfThePbx) {
  const std::string pbx = std::string("\n[pbx]\nasterisk_root = \"") + PBXWALL_TEST_DATA + "/asterisk/freepbx16\"\n";
  write_config(std::string(kConfig) + pbx);
  EXPECT_EQ(run({"show", "ruleset"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("udp . 5160"));
  EXPECT_THAT(out_.str(), HasSubstr("tcp . 5160"));
  const auto trunks = out_.str().substr(out_.str().find("set trunks4 {"), 200);
  EXPECT_THAT(trunks, HasSubstr("203.0.113.10"));
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  ASSERT_EQ(kernel_.applied.size(), 1u);
  EXPECT_THAT(kernel_.applied[0], HasSubstr("udp . 5160"));
  // `services` shows the ports enforced, each with the file:line it came from.
  EXPECT_EQ(run({"services"}), kExitOk) << err_.str();
  const auto sip = out_.str().substr(out_.str().find("\nsip "), 200);
  EXPECT_THAT(sip, HasSubstr("udp/5160"));
  EXPECT_THAT(sip, HasSubstr("PBX: "));
  EXPECT_THAT(sip, HasSubstr("sip_general_additional.conf:"));
  EXPECT_THAT(out_.str(), HasSubstr("ssh           tcp/22"));
  {  // every row's zones start in the header's ZONES column, the long sip row's too
    std::istringstream lines(out_.str());
    std::string header, line;
    std::getline(lines, header);
    const auto column = header.find("ZONES");
    ASSERT_NE(column, std::string::npos);
    while (std::getline(lines, line))
      if (line.rfind("sip ", 0) == 0 || line.rfind("ssh ", 0) == 0) {
        EXPECT_EQ(line[column - 1], ' ') << line;
        EXPECT_NE(line[column], ' ') << line;
      }
  }
  // [pbx] enabled = false: the configuration alone.
  write_config(std::string(kConfig) + pbx + "enabled = false\n");
  EXPECT_EQ(run({"show", "ruleset"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), Not(HasSubstr("5160")));
}

TEST_F(CliTest, StartAppliesAndStatusReportsOn) {
  EXPECT_EQ(run({"status"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("OFF"));
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  ASSERT_EQ(kernel_.applied.size(), 1u);
  EXPECT_THAT(kernel_.applied[0], HasSubstr("203.0.113.0/24"));
  EXPECT_THAT(out_.str(), HasSubstr("started"));
  EXPECT_EQ(run({"status"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("ON"));
  EXPECT_THAT(out_.str(), HasSubstr("trusted 1 local 1 other 1 internet 0 reject 0"));
  EXPECT_EQ(run({"status", "--json"}), kExitOk);
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["running"], true);
  EXPECT_EQ(j["networks_per_zone"]["local"], 1);
}

TEST_F(CliTest, StatusReportsNamedCountersOfTheTable) {
  // What the kernel lists for a table with named counters.
  kernel_.table =
      "table inet pbxwall {\n\tcounter responsive {\n\t\tpackets 12 bytes 960\n\t}\n\n"
      "\tcounter refused {\n\t\tpackets 3 bytes 180\n\t}\n}\n";
  EXPECT_EQ(run({"status"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("counters: responsive 12 packets (960 bytes), refused 3 packets (180 bytes)"));
  EXPECT_EQ(run({"status", "--json"}), kExitOk);
  auto j = nlohmann::json::parse(out_.str());
  EXPECT_EQ(j["counters"]["responsive"]["packets"], 12);
  EXPECT_EQ(j["counters"]["refused"]["bytes"], 180);
}

TEST_F(CliTest, InvalidConfigLeavesRunningRulesetUnchanged) {
  ASSERT_EQ(run({"start"}), kExitOk);
  const std::string before = kernel_.table;
  write_config(std::string(kConfig) + "\"192.0.2.0/33\" = \"local\"\n");
  EXPECT_EQ(run({"reload"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("unchanged"));
  EXPECT_EQ(kernel_.applied.size(), 1u);
  EXPECT_EQ(kernel_.table, before);
}

TEST_F(CliTest, ReloadRefusesWhenNotRunning) {
  EXPECT_EQ(run({"reload"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("not running"));
  EXPECT_TRUE(kernel_.applied.empty());
}

TEST_F(CliTest, KernelRefusalIsReportedAndNothingIsPending) {
  write_config(std::string(kConfig).replace(0, std::string("[firewall]\nsafe_mode = false").size(),
                                            "[firewall]\nsafe_mode = true"));
  kernel_.fail_next = "ruleset:9:3: Error: no";
  EXPECT_EQ(run({"start"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("nothing changed"));
  EXPECT_THAT(err_.str(), HasSubstr("ruleset:9:3: Error: no"));
  EXPECT_FALSE(RunDir(dir_ + "/run").read_pending().has_value());
}

// The SSH client 192.0.2.77 is in no network: zone internet, where ssh (local only) is closed.
TEST_F(CliTest, SessionGuardRefusesAStartThatCutsTheSshClient) {
  env_["SSH_CONNECTION"] = "192.0.2.77 50022 192.0.2.1 22";
  EXPECT_EQ(run({"start"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("refused: this change would cut your SSH session from 192.0.2.77 to tcp/22"));
  EXPECT_THAT(err_.str(), HasSubstr("192.0.2.77 would be in zone internet, where no service opens tcp/22"));
  EXPECT_THAT(err_.str(), HasSubstr("add --force"));
  EXPECT_TRUE(kernel_.applied.empty());
  // Forced, it applies (and says what it cuts); nothing is trusted behind the admin's back.
  EXPECT_EQ(run({"start", "--force"}), kExitOk) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("--force: this change cuts your SSH session from 192.0.2.77"));
  ASSERT_FALSE(kernel_.applied.empty());
  EXPECT_THAT(kernel_.applied.back(), Not(HasSubstr("192.0.2.77")));
}

TEST_F(CliTest, SessionGuardLetsAChangeThroughThatKeepsTheSession) {
  env_["SSH_CONNECTION"] = "198.51.100.5 50022 198.51.100.1 22";
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"--json", "status"}), kExitOk);
  const auto status = nlohmann::json::parse(out_.str());
  ASSERT_EQ(status["session_guard"].size(), 1u);
  EXPECT_EQ(status["session_guard"][0]["client"], "198.51.100.5");
  EXPECT_EQ(status["session_guard"][0]["port"], 22);
}

TEST_F(CliTest, UntrustOfTheAdminsOwnNetworkIsRefusedAndTheFileKept) {
  EXPECT_EQ(run({"start"}), kExitOk);
  env_["SSH_CONNECTION"] = "198.51.100.5 50022 198.51.100.1 22";
  const auto applied = kernel_.applied.size();
  EXPECT_EQ(run({"untrust", "198.51.100.0/24"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("would cut your SSH session from 198.51.100.5 to tcp/22"));
  EXPECT_EQ(read(config_), kConfig);
  EXPECT_EQ(kernel_.applied.size(), applied);
  EXPECT_EQ(run({"untrust", "198.51.100.0/24", "--force"}), kExitOk) << err_.str();
  EXPECT_THAT(read(config_), Not(HasSubstr("198.51.100.0/24")));
}

TEST_F(CliTest, SshClientWithoutServerPortIsCheckedOnPort22) {
  env_["SSH_CLIENT"] = "192.0.2.77 50022 22";
  EXPECT_EQ(run({"start"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("SSH session from 192.0.2.77 to tcp/22"));
}

TEST_F(CliTest, NoSessionGuardLeavesTheClientOut) {
  env_["SSH_CLIENT"] = "192.0.2.77 50022 22";
  EXPECT_EQ(run({"start", "--no-session-guard"}), kExitOk);
  EXPECT_THAT(err_.str(), Not(HasSubstr("SSH session")));
  EXPECT_THAT(kernel_.applied.back(), Not(HasSubstr("192.0.2.77")));
}

TEST_F(CliTest, ConfigurationThatIsADirectoryIsRefused) {
  config_ = dir_;
  EXPECT_EQ(run({"check"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("is a directory, not a configuration file"));
  EXPECT_EQ(run({"start"}), kExitInvalid);
  EXPECT_TRUE(kernel_.applied.empty());
}

TEST_F(CliTest, CheckAndStartRefuseTheWebSectionsTheDaemonRefuses) {
  for (const std::string web : {"[web]\nlisten = \"localhost\"\n", "[web]\nsession_minutes = 0\n",
                                "[web]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n"}) {
    write_config(std::string(kConfig) + web);
    EXPECT_EQ(run({"check"}), kExitInvalid) << web;
    EXPECT_THAT(err_.str(), HasSubstr("web.")) << web;
    EXPECT_EQ(run({"start"}), kExitInvalid) << web;
  }
  EXPECT_TRUE(kernel_.applied.empty());
}

TEST_F(CliTest, RiskyValuesAreWarnedAbout) {
  write_config("[networks]\n\"0.0.0.0/0\" = \"trusted\"\n\"::ffff:192.0.2.1\" = \"local\"\n"
               "[web]\nlisten = \"192.0.2.1\"\n");
  EXPECT_EQ(run({"check"}), kExitOk) << err_.str();
  EXPECT_THAT(err_.str(), HasSubstr("every address is trusted"));
  EXPECT_THAT(err_.str(), HasSubstr("IPv4-mapped IPv6 address, taken as the IPv4 192.0.2.1"));
  EXPECT_THAT(err_.str(), HasSubstr("without TLS"));
}

class SafeModeTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    write_config("[firewall]\nsafe_mode = true\nsafe_mode_seconds = 30\n[networks]\n"
                 "\"198.51.100.0/24\" = \"trusted\"\n");
  }
  // The guard's work, run in-process with its wait already over.
  int run_guard(const std::string& token) {
    return run({"__rollback-guard", "--token", token, "--seconds", "0"});
  }
};

TEST_F(SafeModeTest, UnconfirmedStartRemovesTheTableAgain) {
  EXPECT_EQ(run({"start"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("pbxwall confirm` within 30 s"));
  EXPECT_EQ(guard_seconds_, 30);
  RunDir run_dir(dir_ + "/run");
  auto pending = run_dir.read_pending();
  ASSERT_TRUE(pending.has_value());
  EXPECT_EQ(pending->token, guard_token_);
  EXPECT_EQ(pending->guard_pid, 999999);
  EXPECT_FALSE(kernel_.table.empty());

  EXPECT_EQ(run_guard(guard_token_), kExitOk);
  EXPECT_EQ(kernel_.table, "");  // there was no table before
  EXPECT_FALSE(run_dir.read_pending().has_value());
  EXPECT_EQ(run({"confirm"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("too late"));
  EXPECT_THAT(err_.str(), HasSubstr("removed"));
}

TEST_F(SafeModeTest, UnconfirmedReloadRestoresThePreviousTable) {
  write_config("[firewall]\nsafe_mode = false\n[networks]\n\"198.51.100.0/24\" = \"trusted\"\n");
  ASSERT_EQ(run({"start"}), kExitOk);
  const std::string first = kernel_.table;
  write_config("[firewall]\nsafe_mode = true\nsafe_mode_seconds = 10\n[networks]\n"
               "\"203.0.113.0/24\" = \"trusted\"\n");
  ASSERT_EQ(run({"reload"}), kExitOk);
  EXPECT_THAT(kernel_.table, HasSubstr("203.0.113.0/24"));
  // A second change before the first is confirmed still rolls back to the confirmed table.
  write_config("[firewall]\nsafe_mode = true\nsafe_mode_seconds = 10\n[networks]\n"
               "\"192.0.2.0/24\" = \"trusted\"\n");
  ASSERT_EQ(run({"reload"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("last confirmed ruleset comes back"));
  ASSERT_EQ(run_guard(guard_token_), kExitOk);
  // The restore script replaces our table with the saved listing.
  EXPECT_EQ(kernel_.applied.back(), "add table inet pbxwall\ndelete table inet pbxwall\n" + first);
  EXPECT_THAT(kernel_.table, HasSubstr("198.51.100.0/24"));
}

TEST_F(SafeModeTest, ConfirmKeepsTheChange) {
  ASSERT_EQ(run({"start"}), kExitOk);
  const std::string token = guard_token_;
  EXPECT_EQ(run({"status"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("waits for `pbxwall confirm`"));
  EXPECT_EQ(run({"confirm"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("confirmed"));
  const auto applied = kernel_.applied.size();
  EXPECT_EQ(run_guard(token), kExitOk);  // a guard that outlived the confirm does nothing
  EXPECT_EQ(kernel_.applied.size(), applied);
  EXPECT_FALSE(kernel_.table.empty());
  EXPECT_EQ(run({"confirm"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("nothing to confirm"));
}

TEST_F(SafeModeTest, NoSafeModeAppliesWithoutGuard) {
  EXPECT_EQ(run({"start", "--no-safe-mode"}), kExitOk) << err_.str();
  EXPECT_TRUE(guard_token_.empty());
  EXPECT_FALSE(RunDir(dir_ + "/run").read_pending().has_value());
  EXPECT_FALSE(kernel_.table.empty());
  EXPECT_THAT(out_.str(), Not(HasSubstr("safe mode")));
}

TEST_F(SafeModeTest, SupersededGuardDoesNothing) {
  ASSERT_EQ(run({"start"}), kExitOk);
  EXPECT_EQ(run_guard("some-older-token"), kExitOk);
  EXPECT_FALSE(kernel_.table.empty());
  EXPECT_TRUE(RunDir(dir_ + "/run").read_pending().has_value());
}

TEST_F(SafeModeTest, StopCancelsThePendingRollback) {
  ASSERT_EQ(run({"start"}), kExitOk);
  ASSERT_EQ(run({"stop"}), kExitOk);
  EXPECT_EQ(kernel_.table, "");
  EXPECT_FALSE(RunDir(dir_ + "/run").read_pending().has_value());
}

TEST_F(CliTest, TrustEditsValidatesWritesAndReapplies) {
  ASSERT_EQ(run({"start"}), kExitOk);
  EXPECT_EQ(run({"trust", "192.0.2.15", "--zone", "local"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("192.0.2.15 is now in zone local"));
  EXPECT_THAT(read(config_), HasSubstr("192.0.2.15"));
  EXPECT_THAT(read(config_), HasSubstr("# the office"));  // comments survive
  EXPECT_EQ(read(config_ + ".bak"), kConfig);
  ASSERT_EQ(kernel_.applied.size(), 2u);  // re-applied because it was running
  EXPECT_THAT(kernel_.applied.back(), HasSubstr("192.0.2.15"));

  EXPECT_EQ(run({"list", "local", "--json"}), kExitOk);
  auto j = nlohmann::json::parse(out_.str());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[1]["network"], "192.0.2.15");
  EXPECT_EQ(j[1]["zone"], "local");

  EXPECT_EQ(run({"untrust", "192.0.2.15"}), kExitOk) << err_.str();
  EXPECT_THAT(read(config_), Not(HasSubstr("192.0.2.15")));
  EXPECT_THAT(kernel_.applied.back(), Not(HasSubstr("192.0.2.15")));
}

TEST_F(CliTest, TrustWhenStoppedOnlyWritesTheFile) {
  EXPECT_EQ(run({"trust", "2001:db8:99::/64"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("not running"));
  EXPECT_TRUE(kernel_.applied.empty());
  EXPECT_EQ(run({"list", "trusted"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("2001:db8:99::/64"));
}

TEST_F(CliTest, BadEditsChangeNothing) {
  EXPECT_EQ(run({"trust", "192.0.2.1", "--zone", "nowhere"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("unknown zone"));
  EXPECT_EQ(run({"trust", "not a host!"}), kExitInvalid);
  EXPECT_EQ(run({"untrust", "192.0.2.99"}), kExitInvalid);
  EXPECT_EQ(read(config_), kConfig);
  EXPECT_FALSE(fs::exists(config_ + ".bak"));
}

TEST_F(CliTest, ZonesAndServicesList) {
  EXPECT_EQ(run({"zones"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("trusted:"));
  EXPECT_THAT(out_.str(), HasSubstr("interfaces: eth0"));
  EXPECT_EQ(run({"services"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("udp/10000-20000"));
  EXPECT_EQ(run({"services", "--json"}), kExitOk);
  auto j = nlohmann::json::parse(out_.str());
  bool found_sip = false;
  for (const auto& s : j)
    if (s["name"] == "sip") found_sip = true;
  EXPECT_TRUE(found_sip);
}

TEST_F(CliTest, ZonesAndServicesShowOneByName) {
  EXPECT_EQ(run({"zones", "local"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("local:"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("trusted:")));
  EXPECT_EQ(run({"zones", "nowhere"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("zones: unknown zone \"nowhere\""));
  EXPECT_EQ(run({"services", "rtp"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("udp/10000-20000"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("\nsip ")));
  EXPECT_EQ(run({"--json", "services", "sip"}), kExitOk) << err_.str();
  auto j = nlohmann::json::parse(out_.str());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "sip");
  EXPECT_EQ(run({"services", "gopher"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("services: no service \"gopher\" in " + config_));
  EXPECT_THAT(err_.str(), HasSubstr("sip"));
}

TEST_F(CliTest, UsageErrorsExitTwoAndHelpExitsZero) {
  EXPECT_EQ(run({"frobnicate"}), kExitInvalid);
  EXPECT_EQ(run({"trust"}), kExitInvalid);
  EXPECT_EQ(run({}), kExitInvalid);
  EXPECT_EQ(run({"trust", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("--zone"));
}

TEST_F(CliTest, UnknownCommandIsNamedWithASuggestion) {
  EXPECT_EQ(run({"restrat"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command 'restrat'; did you mean 'restart'?"));
  EXPECT_EQ(run({"--json", "stauts"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command 'stauts'; did you mean 'status'?"));
  EXPECT_EQ(run({"frobnicate"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command 'frobnicate' (commands: "));
  EXPECT_THAT(err_.str(), HasSubstr("restart"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("__")));
  EXPECT_THAT(err_.str(), Not(HasSubstr("A subcommand is required")));
}

TEST_F(CliTest, OffAndOnSetFirewallEnabledAndApply) {
  ASSERT_EQ(run({"start"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"off"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("firewall switched off"));
  EXPECT_THAT(read(config_), HasSubstr("enabled = false"));
  EXPECT_THAT(read(config_), HasSubstr("# the office"));
  ASSERT_EQ(kernel_.applied.size(), 2u);
  EXPECT_THAT(kernel_.applied.back(), HasSubstr("everything is accepted"));

  EXPECT_EQ(run({"off"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("already off"));
  EXPECT_EQ(kernel_.applied.size(), 2u);

  EXPECT_EQ(run({"on"}), kExitOk) << err_.str();
  EXPECT_THAT(read(config_), HasSubstr("enabled = true"));
  ASSERT_EQ(kernel_.applied.size(), 3u);
  EXPECT_THAT(kernel_.applied.back(), Not(HasSubstr("everything is accepted")));
}

TEST_F(CliTest, RestartStopsThenStarts) {
  ASSERT_EQ(run({"start"}), kExitOk) << err_.str();
  EXPECT_EQ(run({"restart"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("pbxwall stopped"));
  ASSERT_EQ(kernel_.applied.size(), 3u);
  EXPECT_FALSE(kernel::script_defines_table(kernel_.applied[1]));
  EXPECT_TRUE(kernel::script_defines_table(kernel_.applied[2]));
  EXPECT_NE(kernel_.table, "");
}

TEST_F(CliTest, CheckCountsInTheSingular) {
  write_config("[interfaces]\neth0 = \"internet\"\n\n[networks]\n\"198.51.100.0/24\" = \"trusted\"\n");
  EXPECT_EQ(run({"check"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("OK (1 network, 1 interface, "));
  EXPECT_THAT(out_.str(), Not(HasSubstr("1 networks")));
}

TEST_F(CliTest, TrustOfABadNetworkSaysWhatIsWrongWithIt) {
  EXPECT_EQ(run({"trust", "203.0.113.0/33", "--zone", "local"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("\"203.0.113.0/33\" is not an address or network: prefix length must be 0..32"));
  EXPECT_EQ(run({"trust", "10.0.0.1/8", "--zone", "local"}), kExitInvalid);
  EXPECT_THAT(err_.str(), HasSubstr("bits set beyond the prefix length (did you mean 10.0.0.0/8?)"));
  EXPECT_EQ(read(config_), kConfig);
}

TEST_F(CliTest, TrustingAnEntryAgainChangesNothing) {
  const std::string before = read(config_);
  EXPECT_EQ(run({"trust", "198.51.100.0/24"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("198.51.100.0/24 is already in zone trusted; nothing to do"));
  EXPECT_EQ(run({"trust", "2001:DB8:10::/48", "--zone", "other"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("is already in zone other; nothing to do"));
  EXPECT_EQ(read(config_), before);
  EXPECT_FALSE(fs::exists(config_ + ".bak"));
  // Another zone is a change.
  EXPECT_EQ(run({"trust", "198.51.100.0/24", "--zone", "local"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("is now in zone local"));
  EXPECT_EQ(read(config_ + ".bak"), before);
}

TEST_F(CliTest, DiscoverReadsTheConfiguredAsteriskRoot) {
  const std::string root = dir_ + "/asterisk";
  fs::create_directories(root);
  std::ofstream(root + "/pjsip.conf") << "[transport-udp]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5160\n";
  write_config(std::string(kConfig) + "\n[pbx]\nasterisk_root = \"" + root + "\"\n");
  EXPECT_EQ(run({"discover"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("Asterisk configuration under " + root));
  EXPECT_THAT(out_.str(), HasSubstr("5160"));

  // An explicit --asterisk-root wins over the configuration.
  const std::string empty = dir_ + "/empty";
  fs::create_directories(empty);
  EXPECT_EQ(run({"discover", "--asterisk-root", empty}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("found no port and no trunk in the Asterisk configuration under " + empty +
                                    " (--asterisk-root); no configuration file there"));
}

TEST_F(CliTest, DiscoverFindingNothingSaysWhereItLookedAndFails) {
  const std::string root = dir_ + "/asterisk";
  fs::create_directories(root);
  write_config(std::string(kConfig) + "\n[pbx]\nasterisk_root = \"" + root + "\"\n");
  EXPECT_EQ(run({"discover"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr("under " + root + " ([pbx] asterisk_root in " + config_ + ")"));
  EXPECT_EQ(run({"discover"}), kExitFailure);

  write_config(std::string(kConfig) + "\n[pbx]\nasterisk_root = \"" + dir_ + "/nowhere\"\n");
  EXPECT_EQ(run({"discover"}), kExitFailure);
  EXPECT_THAT(err_.str(), HasSubstr(dir_ + "/nowhere ([pbx] asterisk_root in " + config_ + "): not a directory"));
}

}  // namespace
}  // namespace pbxwall::cli
