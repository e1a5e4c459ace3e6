#include "daemon/control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <deque>
#include <optional>

namespace pbxwall::daemon {

using nlohmann::json;

// Requests larger than this are refused: a control request is a few hundred bytes, a batch of
// `pbxwall block --file` (5,000 addresses) at most about 250 KB.
constexpr std::size_t kMaxRequestBytes = 1024 * 1024;

class ControlServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::local::stream_protocol::socket socket, ControlServer& server)
      : socket_(std::move(socket)), server_(server) {}

  void start() { read(); }
  // Whether this follower wants the event of `address` (`pbxwall events --follow --addr`).
  bool wants(const std::string& address) const { return !within_ || event_within(address, *within_); }

  void send(const json& reply) {
    const bool idle = outbox_.empty();
    // Replies quote stored text (reasons, interface names); bytes that are not UTF-8 become
    // U+FFFD rather than an exception out of the event loop.
    outbox_.push_back(reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    if (idle) write();
  }

 private:
  void read() {
    auto self = shared_from_this();
    asio::async_read_until(socket_, asio::dynamic_buffer(inbox_, kMaxRequestBytes), '\n',
                           [self](std::error_code ec, std::size_t n) {
                             if (ec) {
                               if (ec == asio::error::not_found) self->send({{"ok", false}, {"error", "request too large"}});
                               return;
                             }
                             std::string line = self->inbox_.substr(0, n);
                             self->inbox_.erase(0, n);
                             self->handle(line);
                             self->read();
                           });
  }

  void handle(const std::string& line) {
    json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded()) {
      send({{"ok", false}, {"error", "request is not valid JSON"}});
      return;
    }
    json reply = server_.firewall_.handle(request);
    // Compared, not converted: json::value() throws when a field has another type
    // ({"cmd": 1} or "follow": "yes"), and an exception here would end the event loop.
    if (request.is_object() && request.contains("cmd") && request["cmd"] == "events" && request.contains("follow") &&
        request["follow"] == true && reply.value("ok", false)) {
      // The events answer checked the filter: a follower with one gets only its events.
      if (request.contains("addr") && !request["addr"].is_null())
        if (auto within = events_filter(request["addr"]); within.ok()) within_ = *within;
      server_.followers_.push_back(shared_from_this());
    }
    send(reply);
  }

  void write() {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(outbox_.front()), [self](std::error_code ec, std::size_t) {
      if (ec) return;
      self->outbox_.pop_front();
      if (!self->outbox_.empty()) self->write();
    });
  }

  asio::local::stream_protocol::socket socket_;
  ControlServer& server_;
  std::string inbox_;
  std::deque<std::string> outbox_;
  std::optional<Cidr> within_;
};

ControlServer::ControlServer(asio::io_context& io, std::string path, Firewall& firewall)
    : path_(std::move(path)), firewall_(firewall), acceptor_(io) {}

ControlServer::~ControlServer() {
  std::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::open(asio::io_context& io, const std::string& path, Firewall& firewall) {
  std::unique_ptr<ControlServer> server(new ControlServer(io, path, firewall));
  ::unlink(path.c_str());
  std::error_code ec;
  const mode_t old = ::umask(0077);
  server->acceptor_.open(asio::local::stream_protocol(), ec);
  if (!ec) server->acceptor_.bind(asio::local::stream_protocol::endpoint(path), ec);
  ::umask(old);
  if (!ec) server->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("control socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  return server;
}

void ControlServer::start() { accept(); }

void ControlServer::accept() {
  acceptor_.async_accept([this](std::error_code ec, asio::local::stream_protocol::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(socket), *this)->start();
    accept();
  });
}

void ControlServer::publish(const store::EventRecord& e) {
  std::erase_if(followers_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  if (followers_.empty()) return;
  const json line = event_json(e);
  for (auto& w : followers_)
    if (auto s = w.lock(); s && s->wants(e.address)) s->send(line);
}

}  // namespace pbxwall::daemon
