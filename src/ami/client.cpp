#include "ami/client.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <asio.hpp>
#include <deque>
#include <variant>

namespace pbxwall::ami {

const char* to_string(ClientState state) {
  switch (state) {
    case ClientState::stopped: return "stopped";
    case ClientState::connecting: return "connecting";
    case ClientState::logging_in: return "logging in";
    case ClientState::ready: return "ready";
    case ClientState::waiting_to_retry: return "waiting to retry";
  }
  return "?";
}

// Handlers hold a shared_ptr to Impl, so it outlives the Client until they have run; each
// connection has a generation number, and handlers of an older connection do nothing.
struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(asio::io_context& io_context, ClientSettings s, EventHandler e, StateHandler st)
      : io(io_context),
        settings(std::move(s)),
        on_event(std::move(e)),
        on_state(std::move(st)),
        socket(io_context),
        resolver(io_context),
        retry_timer(io_context),
        idle_timer(io_context),
        answer_timer(io_context),
        backoff(settings.backoff_initial) {}

  asio::io_context& io;
  ClientSettings settings;
  EventHandler on_event;
  StateHandler on_state;
  asio::ip::tcp::socket socket;
  asio::ip::tcp::resolver resolver;
  asio::steady_timer retry_timer;
  asio::steady_timer idle_timer;    // keep-alive: fires when the connection has been quiet
  asio::steady_timer answer_timer;  // a Login or Ping answer is due
  std::array<char, 4096> buffer{};
  std::deque<std::string> writes;
  Parser parser;
  ClientState state = ClientState::stopped;
  ClientCounters counters;
  std::chrono::milliseconds backoff;
  std::uint64_t generation = 0;
  std::uint64_t next_action_id = 1;
  std::string login_id;
  std::string ping_id;

  void set_state(ClientState s, std::string_view reason) {
    state = s;
    if (on_state) on_state(s, reason);
  }

  void start() {
    if (state != ClientState::stopped) return;
    // Configured values are checked once: a line break in the secret cannot be fixed by retrying.
    auto login = serialize(login_action(settings.username, settings.secret, settings.event_mask, "0"));
    if (!login.ok()) {
      if (on_state) on_state(ClientState::stopped, "cannot log in: " + login.error());
      return;
    }
    connect();
  }

  void stop() {
    ++generation;
    close_socket();
    retry_timer.cancel();
    if (state != ClientState::stopped) set_state(ClientState::stopped, "stopped");
  }

  void close_socket() {
    std::error_code ignored;
    resolver.cancel();
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    idle_timer.cancel();
    answer_timer.cancel();
    writes.clear();
  }

  void connect() {
    const auto gen = ++generation;
    set_state(ClientState::connecting, settings.host + ":" + std::to_string(settings.port));
    resolver.async_resolve(settings.host, std::to_string(settings.port),
                           [self = shared_from_this(), gen](std::error_code ec, asio::ip::tcp::resolver::results_type r) {
                             if (gen != self->generation) return;
                             if (ec) return self->retry_later("cannot resolve " + self->settings.host + ": " + ec.message(), false);
                             asio::async_connect(self->socket, r, [self, gen](std::error_code ec2, const asio::ip::tcp::endpoint&) {
                               if (gen != self->generation) return;
                               if (ec2) return self->retry_later("cannot connect: " + ec2.message(), false);
                               self->connected();
                             });
                           });
  }

  void connected() {
    ++counters.connects;
    parser = Parser{};
    ping_id.clear();  // a Ping unanswered on the previous connection is moot
    login_id = std::to_string(next_action_id++);
    set_state(ClientState::logging_in, "connected");
    send(login_action(settings.username, settings.secret, settings.event_mask, login_id));
    expect_answer("no answer to Login");
    read();
  }

  // A failed attempt (connection, login, keep-alive) schedules the next one after the current
  // backoff, which doubles up to the maximum; a successful login resets it.
  void retry_later(const std::string& reason, bool was_connected) {
    if (was_connected) ++counters.disconnects;
    if (!was_connected) ++counters.connect_failures;
    ++generation;
    close_socket();
    set_state(ClientState::waiting_to_retry, reason);
    const auto delay = backoff;
    backoff = std::min(backoff * 2, settings.backoff_max);
    retry_timer.expires_after(delay);
    const auto gen = generation;
    retry_timer.async_wait([self = shared_from_this(), gen](std::error_code ec) {
      if (ec || gen != self->generation) return;
      self->connect();
    });
  }

  void send(const Action& action) {
    auto bytes = serialize(action);
    if (!bytes.ok()) std::abort();  // start() checked the configured values; ids are digits
    writes.push_back(std::move(*bytes));
    if (writes.size() == 1) write_next();
  }

  void write_next() {
    const auto gen = generation;
    asio::async_write(socket, asio::buffer(writes.front()), [self = shared_from_this(), gen](std::error_code ec, std::size_t) {
      if (gen != self->generation) return;
      if (ec) return self->retry_later("write failed: " + ec.message(), true);
      self->writes.pop_front();
      if (!self->writes.empty()) self->write_next();
    });
  }

  void expect_answer(const char* what) {
    answer_timer.expires_after(settings.response_timeout);
    const auto gen = generation;
    answer_timer.async_wait([self = shared_from_this(), gen, what](std::error_code ec) {
      if (ec || gen != self->generation) return;
      if (self->state == ClientState::logging_in) ++self->counters.login_failures;
      if (self->state == ClientState::ready) ++self->counters.ping_timeouts;
      self->retry_later(what, true);
    });
  }

  void arm_idle_timer() {
    idle_timer.expires_after(settings.keepalive_interval);
    const auto gen = generation;
    idle_timer.async_wait([self = shared_from_this(), gen](std::error_code ec) {
      if (ec || gen != self->generation || self->state != ClientState::ready || !self->ping_id.empty()) return;
      self->ping_id = std::to_string(self->next_action_id++);
      ++self->counters.pings_sent;
      self->send(ping_action(self->ping_id));
      self->expect_answer("no answer to Ping");
    });
  }

  void read() {
    const auto gen = generation;
    socket.async_read_some(asio::buffer(buffer), [self = shared_from_this(), gen](std::error_code ec, std::size_t n) {
      if (gen != self->generation) return;
      if (ec) {
        self->parser.end_of_stream();
        return self->retry_later(ec == asio::error::eof ? "Asterisk closed the connection" : "read failed: " + ec.message(),
                                 true);
      }
      std::vector<Message> messages;
      self->parser.feed(std::string_view(self->buffer.data(), n), messages);
      if (self->state == ClientState::ready) self->arm_idle_timer();
      for (const auto& m : messages) {
        self->handle(m);
        if (gen != self->generation) return;  // the message ended this connection
      }
      self->read();
    });
  }

  void handle(const Message& m) {
    auto r = interpret(m);
    if (!r.problem.empty()) ++counters.event_problems;
    if (!r.event) return;
    if (auto* response = std::get_if<ActionResponse>(&*r.event)) {
      if (!login_id.empty() && response->action_id == login_id) {
        login_id.clear();
        answer_timer.cancel();
        if (!response->success) {
          ++counters.login_failures;
          return retry_later("login refused: " + response->message, true);
        }
        ++counters.logins;
        backoff = settings.backoff_initial;
        set_state(ClientState::ready, response->message);
        arm_idle_timer();
        return;
      }
      if (!ping_id.empty() && response->action_id == ping_id) {
        ping_id.clear();
        answer_timer.cancel();
        return;
      }
    }
    ++counters.events;
    if (on_event) on_event(*r.event);
  }
};

Client::Client(asio::io_context& io, ClientSettings settings, EventHandler on_event, StateHandler on_state)
    : impl_(std::make_shared<Impl>(io, std::move(settings), std::move(on_event), std::move(on_state))) {}

Client::~Client() {
  impl_->on_state = nullptr;
  impl_->on_event = nullptr;
  impl_->stop();
}

void Client::start() { impl_->start(); }
void Client::stop() { impl_->stop(); }
ClientState Client::state() const { return impl_->state; }
const ClientCounters& Client::counters() const { return impl_->counters; }
const ParserCounters& Client::parser_counters() const { return impl_->parser.counters(); }
std::chrono::milliseconds Client::next_backoff() const { return impl_->backoff; }

}  // namespace pbxwall::ami
