// The daemon's one change path (Firewall::change): validation as `pbxwall check` does it, the
// session guard, and safe mode's rollback, also across a restart of the daemon.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "daemon/firewall.h"
#include "firewall_fixture.h"

namespace pbxwall::daemon {
namespace {

using nlohmann::json;

// The admin's SSH session comes from 198.51.100.5, inside a trusted network.
const std::string kTrustedAdmin =
    "[firewall]\nsafe_mode_seconds = 30\n[networks]\n\"198.51.100.0/24\" = \"trusted\"\n";
// The same without that network: 198.51.100.5 falls into the internet zone, where ssh is closed.
const std::string kAdminUntrusted = "[firewall]\nsafe_mode_seconds = 30\n[networks]\n\"192.0.2.0/24\" = \"local\"\n";

model::Session admin_ssh() {
  return model::Session{.client = *IpAddress::parse("198.51.100.5"), .proto = model::Proto::tcp, .port = 22,
                        .ifname = "", .kind = "SSH session"};
}

class SafeChangeTest : public test::FirewallFixture {
 protected:
  std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string config_text() { return file_text(config_); }
  bool has_pending_record() { return std::filesystem::exists(dir_ / "pending-change.json"); }
  ChangeRequest edit(const std::string& text) {
    ChangeRequest r;
    r.text = text;
    r.session = admin_ssh();
    r.who = "pbxwall untrust (SSH session from 198.51.100.5 to tcp/22)";
    r.what = "198.51.100.0/24 removed from [networks]";
    return r;
  }
  bool event_mentions(const std::string& words) {
    for (const auto& e : events())
      if (e.reason.find(words) != std::string::npos) return true;
    return false;
  }
};

TEST_F(SafeChangeTest, ChangeThatCutsTheSessionIsRefusedAndNothingChanges) {
  auto& fw = start(kTrustedAdmin);
  const auto applies = applier_.applied.size();
  const json answer = fw.change(edit(kAdminUntrusted));
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_EQ(answer["http_status"], 409);
  EXPECT_TRUE(answer.value("lockout", false));
  EXPECT_NE(answer["error"].get<std::string>().find("198.51.100.5 would be in zone internet"), std::string::npos)
      << answer.dump();
  EXPECT_EQ(config_text(), kTrustedAdmin);
  EXPECT_EQ(applier_.applied.size(), applies);
  EXPECT_TRUE(fw.handle({{"cmd", "status"}})["pending_change"].is_null());
}

TEST_F(SafeChangeTest, ReloadOfAFileEditedByHandIsRefusedWhenItCutsTheSession) {
  auto& fw = start(kTrustedAdmin);
  write_config(kAdminUntrusted);
  const json answer = fw.handle({{"cmd", "reload"}, {"session", {{"client", "198.51.100.5"}, {"port", 22}}}});
  EXPECT_FALSE(answer["ok"].get<bool>());
  EXPECT_TRUE(answer.value("lockout", false));
  // The running policy stays the trusted one.
  EXPECT_EQ(model::zone_of(*fw.policy(), *IpAddress::parse("198.51.100.5"), ""), model::Zone::trusted);
}

TEST_F(SafeChangeTest, ForcedChangeIsRolledBackUnlessConfirmed) {
  auto& fw = start(kTrustedAdmin);
  auto request = edit(kAdminUntrusted);
  request.force = true;
  const json answer = fw.change(request);
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  EXPECT_EQ(answer["safe_mode"]["confirm_within_seconds"], 30);
  EXPECT_EQ(config_text(), kAdminUntrusted);
  EXPECT_TRUE(has_pending_record());
  EXPECT_EQ(model::zone_of(*fw.policy(), *IpAddress::parse("198.51.100.5"), ""), model::Zone::internet);

  clock_.advance(std::chrono::seconds(29));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kAdminUntrusted) << "rolled back before the deadline";
  clock_.advance(std::chrono::seconds(2));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kTrustedAdmin);
  EXPECT_EQ(file_text(config_ + ".unconfirmed"), kAdminUntrusted);
  EXPECT_EQ(model::zone_of(*fw.policy(), *IpAddress::parse("198.51.100.5"), ""), model::Zone::trusted);
  EXPECT_FALSE(has_pending_record());
  EXPECT_TRUE(event_mentions("not confirmed within 30 s: rolled back"));
}

TEST_F(SafeChangeTest, ConfirmedChangeStays) {
  auto& fw = start(kTrustedAdmin);
  const std::string more = kTrustedAdmin + "\"203.0.113.0/24\" = \"local\"\n";
  ASSERT_TRUE(fw.change(edit(more))["ok"].get<bool>());
  EXPECT_FALSE(fw.handle({{"cmd", "status"}})["pending_change"].is_null());
  EXPECT_TRUE(fw.handle({{"cmd", "confirm"}, {"who", "pbxwall confirm"}})["ok"].get<bool>());
  EXPECT_TRUE(fw.handle({{"cmd", "status"}})["pending_change"].is_null());
  clock_.advance(std::chrono::minutes(5));
  fw.housekeeping();
  EXPECT_EQ(config_text(), more);
  EXPECT_FALSE(fw.handle({{"cmd", "confirm"}})["ok"].get<bool>()) << "nothing left to confirm";
}

TEST_F(SafeChangeTest, SecondChangeKeepsTheLastConfirmedFileAsTheRollbackTarget) {
  auto& fw = start(kTrustedAdmin);
  const std::string one = kTrustedAdmin + "\"203.0.113.0/24\" = \"local\"\n";
  const std::string two = kTrustedAdmin + "\"203.0.113.0/24\" = \"other\"\n";
  ASSERT_TRUE(fw.change(edit(one))["ok"].get<bool>());
  ASSERT_TRUE(fw.change(edit(two))["ok"].get<bool>());
  clock_.advance(std::chrono::seconds(31));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kTrustedAdmin);
}

TEST_F(SafeChangeTest, DeadlinePassedWhileTheDaemonWasDownRollsBackAtStart) {
  start(kTrustedAdmin);
  auto request = edit(kAdminUntrusted);
  request.force = true;
  ASSERT_TRUE(firewall_->change(request)["ok"].get<bool>());
  firewall_.reset();  // kill -9: nothing runs at exit
  clock_.advance(std::chrono::minutes(2));
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(config_text(), kTrustedAdmin);
  EXPECT_EQ(model::zone_of(*fw.policy(), *IpAddress::parse("198.51.100.5"), ""), model::Zone::trusted);
  fw.flush();
  EXPECT_TRUE(event_mentions("was not confirmed before pbxwalld stopped"));
}

TEST_F(SafeChangeTest, PendingChangeOutlivesARestartBeforeItsDeadline) {
  start(kTrustedAdmin);
  auto request = edit(kAdminUntrusted);
  request.force = true;
  ASSERT_TRUE(firewall_->change(request)["ok"].get<bool>());
  firewall_.reset();
  clock_.advance(std::chrono::seconds(10));
  auto& fw = make();
  ASSERT_TRUE(fw.start().ok());
  EXPECT_EQ(config_text(), kAdminUntrusted);
  const json pending = fw.handle({{"cmd", "status"}})["pending_change"];
  ASSERT_FALSE(pending.is_null());
  EXPECT_EQ(pending["rolls_back_in_seconds"], 20);
  clock_.advance(std::chrono::seconds(21));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kTrustedAdmin);
}

TEST_F(SafeChangeTest, SighupReloadGoesThroughSafeModeToo) {
  auto& fw = start(kTrustedAdmin);
  const std::string edited = kTrustedAdmin + "\"203.0.113.0/24\" = \"local\"\n";
  write_config(edited);
  ChangeRequest sighup;
  sighup.who = "SIGHUP";
  const json answer = fw.change(sighup);
  ASSERT_TRUE(answer["ok"].get<bool>()) << answer.dump();
  EXPECT_TRUE(answer.contains("safe_mode"));
  clock_.advance(std::chrono::seconds(31));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kTrustedAdmin);
  EXPECT_EQ(file_text(config_ + ".unconfirmed"), edited) << "the edit made by hand is kept";
}

TEST_F(SafeChangeTest, UnchangedFileNeedsNoConfirmation) {
  auto& fw = start(kTrustedAdmin);
  const json answer = fw.handle({{"cmd", "reload"}});
  ASSERT_TRUE(answer["ok"].get<bool>());
  EXPECT_FALSE(answer.contains("safe_mode"));
  EXPECT_FALSE(has_pending_record());
}

TEST_F(SafeChangeTest, WithoutSafeModeTheChangeIsFinal) {
  const std::string off = "[firewall]\nsafe_mode = false\n[networks]\n\"198.51.100.0/24\" = \"trusted\"\n";
  auto& fw = start(off);
  const json answer = fw.change(edit(off + "\"203.0.113.0/24\" = \"local\"\n"));
  ASSERT_TRUE(answer["ok"].get<bool>());
  EXPECT_FALSE(answer.contains("safe_mode"));
  ChangeRequest no_guard = edit(off + "\"203.0.113.0/24\" = \"other\"\n");
  no_guard.safe_mode = false;
  EXPECT_FALSE(fw.change(no_guard).contains("safe_mode"));
}

// SIGHUP used to accept a [web] that `pbxwall check` refuses; the next start then failed.
TEST_F(SafeChangeTest, ReloadRefusesWhatCheckRefuses) {
  auto& fw = start(kTrustedAdmin);
  for (const std::string web : {"[web]\nlisten = \"localhost\"\n", "[web]\nsession_minutes = 0\n",
                                "[web]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n"}) {
    write_config(kTrustedAdmin + web);
    ChangeRequest sighup;
    sighup.who = "SIGHUP";
    const json answer = fw.change(sighup);
    EXPECT_FALSE(answer["ok"].get<bool>()) << web;
    EXPECT_EQ(answer["http_status"], 422) << web;
    EXPECT_NE(answer["error"].get<std::string>().find("web."), std::string::npos) << answer.dump();
  }
  EXPECT_EQ(fw.counters().refused_reloads, 3u);
}

TEST_F(SafeChangeTest, WebEditThatCutsTheClientIsRefusedUnlessConfirmedAsLockout) {
  auto& fw = start(kTrustedAdmin);
  const json change = {{"op", "network"}, {"key", "198.51.100.0/24"}, {"zone", nullptr}};
  json refused = fw.handle({{"cmd", "change"}, {"change", change}, {"client", "198.51.100.5"}, {"who", "admin"}});
  EXPECT_FALSE(refused["ok"].get<bool>());
  EXPECT_TRUE(refused.value("lockout", false));
  EXPECT_EQ(config_text(), kTrustedAdmin);
  json forced = fw.handle({{"cmd", "change"}, {"change", change}, {"client", "198.51.100.5"}, {"who", "admin"},
                           {"confirm_lockout", true}});
  ASSERT_TRUE(forced["ok"].get<bool>()) << forced.dump();
  EXPECT_TRUE(forced.contains("safe_mode"));
  clock_.advance(std::chrono::seconds(31));
  fw.housekeeping();
  EXPECT_EQ(config_text(), kTrustedAdmin);
}

}  // namespace
}  // namespace pbxwall::daemon
