// The AMI client against a scripted server on loopback: login, events, a disconnect in the
// middle of a message, reconnect with backoff, refused logins, unanswered keep-alives.
#include "ami/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <asio.hpp>
#include <chrono>
#include <functional>

#include "scripted_server.h"
#include "transcript.h"

namespace pbxwall::ami {
namespace {

using namespace std::chrono_literals;
using test::ScriptedServer;
using test::SessionScript;
using test::transcript;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Runs the loop until done() holds or the limit passes; the limit only bounds a failing test.
bool run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::seconds limit = 20s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.run_for(10ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

// A transcript without its banner and its first message (the recorded login answer).
std::string events_of(const std::string& name) {
  const auto t = transcript(name);
  const auto banner_end = t.find("\r\n") + 2;
  if (t.compare(banner_end, 9, "Response:") != 0) return t.substr(banner_end);
  return t.substr(t.find("\r\n\r\n", banner_end) + 4);
}

SessionScript refuse_login() {
  SessionScript s;
  s.accept_login = false;
  return s;
}

SessionScript send_after_login(std::string bytes, bool then_close) {
  SessionScript s;
  s.after_login = std::move(bytes);
  s.close_after_sending = then_close;
  return s;
}

struct Recorder {
  std::vector<Event> events;
  std::vector<std::string> transitions;  // "state: reason"
  std::vector<std::chrono::milliseconds> retry_delays;  // the delay chosen at each retry
  const Client* client = nullptr;
};

ClientSettings settings_for(const ScriptedServer& server) {
  ClientSettings s;
  s.port = server.port();
  s.username = "pbxwall";
  s.secret = "s3cret";
  s.backoff_initial = 20ms;
  s.backoff_max = 1s;
  s.response_timeout = 2s;
  s.keepalive_interval = 10s;
  return s;
}

std::unique_ptr<Client> make_client(asio::io_context& io, ClientSettings s, Recorder& rec) {
  auto client = std::make_unique<Client>(
      io, std::move(s), [&rec](const Event& e) { rec.events.push_back(e); },
      [&rec](ClientState state, std::string_view reason) {
        rec.transitions.push_back(std::string(to_string(state)) + ": " + std::string(reason));
        if (state == ClientState::waiting_to_retry && rec.client) rec.retry_delays.push_back(rec.client->next_backoff());
      });
  rec.client = client.get();
  return client;
}

TEST(AmiClient, LogsInDeliversEventsAndReconnectsAfterADisconnectMidMessage) {
  ScriptedServer server({
      send_after_login(events_of("registrations.txt") + "Event: InvalidAccountID\r\nService: PJSIP\r\nAccount", true),
      send_after_login(events_of("security_pjsip.txt"), false),
  });
  asio::io_context io;
  Recorder rec;
  auto client = make_client(io, settings_for(server), rec);
  client->start();
  ASSERT_TRUE(run_until(io, [&] { return rec.events.size() >= 7 + 9; }));
  EXPECT_EQ(rec.events.size(), 7u + 9u);
  EXPECT_TRUE(std::holds_alternative<ContactStatusEvent>(rec.events[0]));
  EXPECT_TRUE(std::holds_alternative<FullyBooted>(rec.events[7]));  // first of the second session
  EXPECT_EQ(std::get<SecurityEvent>(rec.events[8]).account_id, "1000");
  EXPECT_EQ(client->state(), ClientState::ready);
  const auto& c = client->counters();
  EXPECT_EQ(c.connects, 2u);
  EXPECT_EQ(c.logins, 2u);
  EXPECT_EQ(c.disconnects, 1u);
  EXPECT_EQ(c.events, 16u);
  EXPECT_THAT(rec.transitions,
              ElementsAre(HasSubstr("connecting: 127.0.0.1:"), "logging in: connected", "ready: Authentication accepted",
                          "waiting to retry: Asterisk closed the connection", HasSubstr("connecting: "),
                          "logging in: connected", "ready: Authentication accepted"));
  const auto actions = server.received();
  ASSERT_EQ(actions.size(), 2u);
  for (const auto& session : actions) {
    ASSERT_FALSE(session.empty());
    EXPECT_EQ(session[0].get_or("Action"), "Login");
    EXPECT_EQ(session[0].get_or("Username"), "pbxwall");
    EXPECT_EQ(session[0].get_or("Secret"), "s3cret");
    EXPECT_EQ(session[0].get_or("Events"), "security,system");
  }
  EXPECT_NE(actions[0][0].get_or("ActionID"), actions[1][0].get_or("ActionID"));
}

TEST(AmiClient, RefusedLoginsBackOffExponentially) {
  ScriptedServer server({refuse_login(), refuse_login(), refuse_login()});
  asio::io_context io;
  Recorder rec;
  auto client = make_client(io, settings_for(server), rec);
  client->start();
  ASSERT_TRUE(run_until(io, [&] { return client->counters().login_failures >= 3; }));
  EXPECT_EQ(client->counters().logins, 0u);
  ASSERT_GE(rec.retry_delays.size(), 3u);
  EXPECT_THAT(std::vector(rec.retry_delays.begin(), rec.retry_delays.begin() + 3), ElementsAre(20ms, 40ms, 80ms));
  EXPECT_THAT(rec.transitions, ::testing::Contains("waiting to retry: login refused: Authentication failed"));
  EXPECT_TRUE(rec.events.empty());
}

TEST(AmiClient, UnansweredPingReconnectsAnsweredPingsKeepTheSession) {
  SessionScript silent;
  silent.answer_pings = false;
  SessionScript answering;
  answering.close_after_pings = 2;
  ScriptedServer server({silent, answering});
  asio::io_context io;
  Recorder rec;
  auto s = settings_for(server);
  s.keepalive_interval = 30ms;
  s.response_timeout = 200ms;
  auto client = make_client(io, s, rec);
  client->start();
  ASSERT_TRUE(run_until(io, [&] { return client->counters().disconnects >= 2; }));
  EXPECT_EQ(client->counters().ping_timeouts, 1u);
  EXPECT_GE(client->counters().pings_sent, 3u);
  EXPECT_THAT(rec.transitions, ::testing::Contains("waiting to retry: no answer to Ping"));
  const auto actions = server.received();
  ASSERT_GE(actions.size(), 2u);
  ASSERT_EQ(actions[1].size(), 3u);  // Login and the two Pings answered before the close
  EXPECT_EQ(actions[1][1].get_or("Action"), "Ping");
  EXPECT_FALSE(actions[1][1].get_or("ActionID").empty());
  EXPECT_EQ(client->counters().connects, 2u);
}

TEST(AmiClient, ConnectionRefusedIsRetried) {
  std::uint16_t port = 0;
  {
    ScriptedServer closed({});  // listens, then closes at once: its port refuses connections
    port = closed.port();
  }
  asio::io_context io;
  Recorder rec;
  ClientSettings s;
  s.port = port;
  s.backoff_initial = 10ms;
  auto client = make_client(io, s, rec);
  client->start();
  ASSERT_TRUE(run_until(io, [&] { return client->counters().connect_failures >= 2; }));
  EXPECT_EQ(client->counters().connects, 0u);
  EXPECT_THAT(rec.transitions[1], HasSubstr("waiting to retry: cannot connect"));
  client->stop();
  EXPECT_EQ(client->state(), ClientState::stopped);
}

TEST(AmiClient, SecretWithALineBreakIsRefusedBeforeConnecting) {
  asio::io_context io;
  Recorder rec;
  ClientSettings s;
  s.secret = "x\r\nAction: Originate";
  auto client = make_client(io, s, rec);
  client->start();
  EXPECT_EQ(client->state(), ClientState::stopped);
  EXPECT_THAT(rec.transitions, ElementsAre("stopped: cannot log in: Secret holds a line break"));
  EXPECT_EQ(client->counters().connects + client->counters().connect_failures, 0u);
}

}  // namespace
}  // namespace pbxwall::ami
