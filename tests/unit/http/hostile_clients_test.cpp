// The web server against clients that try to hold it: bodies over the limit however they are
// framed, slow connections, parallel password guesses. Over real sockets on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "http/password.h"
#include "http/server.h"

namespace pbxwall::http {
namespace {

using nlohmann::json;

// A raw TCP connection to the server, with a receive timeout so no read can hang the test.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send(const std::string& s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Everything until the server closes (or 5 s pass without a byte).
  std::string read_all() {
    std::string out;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  // True once the server has closed its side (after an answer, if any): recv gives end of
  // stream or a reset rather than running into its timeout.
  bool closed_by_server() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n > 0) continue;
      return n == 0 || errno == ECONNRESET;
    }
  }

 private:
  int fd_;
  bool connected_ = false;
};

class HostileClients : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pbxwall-hostile-" + std::to_string(::getpid()) + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_ / "web");
    std::ofstream(dir_ / "web" / "index.html") << "<!doctype html><title>pbxwall</title>";
    settings_.port = 0;
    settings_.root = (dir_ / "web").string();
    settings_.password_file = (dir_ / "web-password").string();
    auto hash = hash_password("correct horse", kCheapestPasswordCost);
    ASSERT_TRUE(hash.ok());
    ASSERT_TRUE(write_password_file(settings_.password_file, *hash).ok());
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    server_ = std::make_unique<Server>(settings_, [this](const json& r) { return daemon(r); }, clock_);
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(5, 0);
    client_->set_connection_timeout(5, 0);
  }
  json daemon(const json& request) {
    std::lock_guard lock(mutex_);
    if (request["cmd"] == "metrics") return {{"ok", true}};
    return {{"ok", true}};
  }
  std::uint64_t metric(const std::string& name) {
    auto res = client_->Get("/metrics");
    if (!res) return ~0ull;
    const auto at = res->body.find("\n" + name + " ");
    return at == std::string::npos ? ~0ull : std::stoull(res->body.substr(at + name.size() + 2));
  }

  std::filesystem::path dir_;
  WebSettings settings_;
  SimulatedClock clock_;
  std::mutex mutex_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

std::string status_line(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

// 100 MB chunked to /api/login: refused on its headers, before the body is read; the sender
// finds the connection closed long before it has sent it all.
TEST_F(HostileClients, AChunkedBodyIsRefusedBeforeItIsRead) {
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";
  std::size_t sent = 0;
  while (sent < (100u << 20) && c.send(chunk)) sent += chunk.size();
  EXPECT_LT(sent, 100u << 20) << "the server read the whole body";
  const std::string answer = c.read_all();
  EXPECT_EQ(status_line(answer), "HTTP/1.1 411 Length Required") << answer.substr(0, 200);
  EXPECT_NE(answer.find("Content-Length"), std::string::npos);
}

TEST_F(HostileClients, BodiesOverTheLimitWithoutLengthOrCompressedAreRefused) {
  start();
  auto answer_to = [&](const std::string& request) {
    RawConnection c(server_->port());
    EXPECT_TRUE(c.connected());
    c.send(request);
    return status_line(c.read_all());
  };
  EXPECT_EQ(answer_to("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: 500000000\r\n\r\n{"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(answer_to("POST /api/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{\"password\": \"x\"}"),
            "HTTP/1.1 411 Length Required");
  EXPECT_EQ(answer_to("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n0123456789"),
            "HTTP/1.1 415 Unsupported Media Type");
  // Header lines without end: the connection's byte allowance runs out, the server stops reading.
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  const std::string line = "X-Filler: " + std::string(1000, 'f') + "\r\n";
  std::size_t sent = 0;
  while (sent < (50u << 20) && c.send(line)) sent += line.size();
  EXPECT_LT(sent, 50u << 20);
  // A request within the limits is still answered.
  auto ok = client_->Post("/api/login", R"({"password": "correct horse"})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// 40 connections from the same address that send part of a request and then a header line now
// and then: the metrics, the session and a login are still answered, and the oldest slow
// connections are pushed out (at most 8 of one address wait for their request).
TEST_F(HostileClients, SlowConnectionsDoNotHoldTheServer) {
  start();
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 40; ++i) {
    slow.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->send("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  }
  // A header line each, as a slow client sends them.
  for (auto& c : slow) c->send("X-Slow: 1\r\n");
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics) << "no answer while slow connections are open";
  EXPECT_EQ(metrics->status, 200);
  auto session = client_->Get("/api/session");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->status, 200);
  auto login = client_->Post("/api/login", R"({"password": "correct horse"})", "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  EXPECT_TRUE(slow.front()->closed_by_server()) << "the oldest slow connection is still open";
}

// A request whose bytes trickle in is cut at the request deadline, however short the pauses.
TEST_F(HostileClients, ARequestMustArriveWithinItsDeadline) {
  settings_.connections.request_timeout = std::chrono::milliseconds(300);
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\n"));
  // One header line every 50 ms for up to 5 s: each pause is far below any read timeout.
  auto trickle = std::async(std::launch::async, [&] {
    int lines = 0;
    for (; lines < 100; ++lines) {
      if (!c.send("X-Slow: " + std::to_string(lines) + "\r\n")) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the client's pace, not a wait for the server
    }
    return lines;
  });
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_LT(trickle.get(), 100) << "the server kept reading the trickle";
}

// 60 logins at once from one address with wrong passwords: never more password checks than the
// ceiling (5 a minute), and every login gets an answer.
TEST_F(HostileClients, ParallelGuessesGetNoMoreChecksThanTheCeiling) {
  start();
  std::vector<std::future<int>> logins;
  for (int i = 0; i < 60; ++i)
    logins.push_back(std::async(std::launch::async, [this, i] {
      httplib::Client c("127.0.0.1", server_->port());
      c.set_read_timeout(30, 0);
      auto res = c.Post("/api/login", json{{"password", "guess " + std::to_string(i)}}.dump(), "application/json");
      return res ? res->status : 0;
    }));
  // Gives the logins 5 ms to finish; true when all have.
  auto all_answered = [&] {
    for (auto& f : logins)
      if (f.wait_for(std::chrono::milliseconds(5)) != std::future_status::ready) return false;
    return true;
  };
  // 59 simulated seconds: within one minute of the first check.
  for (int step = 0; step < 59 * 4 && !all_answered(); ++step) {
    clock_.advance(std::chrono::milliseconds(250));
  }
  EXPECT_LE(metric("pbxwall_web_password_checks_total"), 5u);
  EXPECT_GE(metric("pbxwall_web_password_checks_total"), 1u);
  // The rest: their wait ends (checked in the next minute, or 429 after the longest wait).
  for (int step = 0; step < 2400 && !all_answered(); ++step) {
    clock_.advance(std::chrono::milliseconds(250));
  }
  int wrong = 0, busy = 0;
  for (auto& f : logins) {
    const int status = f.get();
    wrong += status == 401;
    busy += status == 429;
  }
  EXPECT_EQ(wrong + busy, 60);
  EXPECT_EQ(static_cast<std::uint64_t>(wrong), metric("pbxwall_web_password_checks_total"));
}

}  // namespace
}  // namespace pbxwall::http
