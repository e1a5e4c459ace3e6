#include "dns/cares_resolver.h"

#include <arpa/nameser.h>
#include <ares.h>
#include <poll.h>

#include <algorithm>
#include <mutex>

namespace pbxwall::dns {

namespace {

std::once_flag library_once;
int library_status = ARES_SUCCESS;

Duration seconds(int ttl) { return std::chrono::seconds(std::max(ttl, 0)); }

void keep_smallest(Duration& current, Duration ttl) {
  if (current <= Duration(0) || ttl < current) current = ttl;
}

Answer parse(QueryType type, const unsigned char* buf, int len) {
  Answer answer;
  answer.status = AnswerStatus::ok;
  if (type == QueryType::srv) {
    ares_srv_reply* replies = nullptr;
    const int rc = ares_parse_srv_reply(buf, len, &replies);
    if (rc == ARES_ENODATA) return answer;
    if (rc != ARES_SUCCESS) return {AnswerStatus::failure, {}, {}, {}, std::string("bad SRV answer: ") + ares_strerror(rc)};
    for (auto* r = replies; r; r = r->next) {
      std::string target = r->host ? r->host : "";
      if (target.empty() || target == ".") continue;  // "service decidedly not available"
      answer.targets.push_back({target, r->port, r->priority, r->weight});
    }
    ares_free_data(replies);
    // ares_parse_srv_reply does not give TTLs; the targets' own A/AAAA TTLs drive their
    // refresh, and the SRV record is asked again after the minimum refresh interval.
    return answer;
  }
  constexpr int kMax = 64;
  if (type == QueryType::a) {
    hostent* host = nullptr;
    ares_addrttl ttls[kMax];
    int count = kMax;
    const int rc = ares_parse_a_reply(buf, len, &host, ttls, &count);
    if (host) ares_free_hostent(host);
    if (rc == ARES_ENODATA) return answer;
    if (rc != ARES_SUCCESS) return {AnswerStatus::failure, {}, {}, {}, std::string("bad A answer: ") + ares_strerror(rc)};
    for (int i = 0; i < count; ++i) {
      answer.addresses.push_back(IpAddress::v4_bytes(reinterpret_cast<const std::uint8_t*>(&ttls[i].ipaddr)));
      keep_smallest(answer.ttl, seconds(ttls[i].ttl));
    }
  } else {
    hostent* host = nullptr;
    ares_addr6ttl ttls[kMax];
    int count = kMax;
    const int rc = ares_parse_aaaa_reply(buf, len, &host, ttls, &count);
    if (host) ares_free_hostent(host);
    if (rc == ARES_ENODATA) return answer;
    if (rc != ARES_SUCCESS) return {AnswerStatus::failure, {}, {}, {}, std::string("bad AAAA answer: ") + ares_strerror(rc)};
    for (int i = 0; i < count; ++i) {
      answer.addresses.push_back(IpAddress::v6_bytes(reinterpret_cast<const std::uint8_t*>(&ttls[i].ip6addr)));
      keep_smallest(answer.ttl, seconds(ttls[i].ttl));
    }
  }
  return answer;
}

struct Pending {
  QueryType type;
  bool done = false;
  Answer answer;
};

void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* buf, int len) {
  auto* p = static_cast<Pending*>(arg);
  p->done = true;
  if (status == ARES_SUCCESS) {
    p->answer = parse(p->type, buf, len);
  } else if (status == ARES_ENOTFOUND) {
    p->answer = {AnswerStatus::no_name, {}, {}, {}, {}};
  } else if (status == ARES_ENODATA) {
    p->answer = {AnswerStatus::ok, {}, {}, {}, {}};
  } else {
    p->answer = {AnswerStatus::failure, {}, {}, {}, ares_strerror(status)};
  }
}

}  // namespace

struct CaresResolver::Channel {
  ares_channel channel = nullptr;
  ~Channel() {
    if (channel) ares_destroy(channel);
  }
};

Result<std::unique_ptr<CaresResolver>> CaresResolver::open(const CaresOptions& options) {
  std::call_once(library_once, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS) return fail(std::string("c-ares: ") + ares_strerror(library_status));
  auto ch = std::make_unique<Channel>();
  ares_options o{};
  o.timeout = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(options.timeout).count());
  o.tries = std::max(options.tries, 1);
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  if (int rc = ares_init_options(&ch->channel, &o, mask); rc != ARES_SUCCESS)
    return fail(std::string("c-ares: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(ch->channel, options.servers.c_str()); rc != ARES_SUCCESS)
      return fail("DNS servers \"" + options.servers + "\": " + ares_strerror(rc));
  }
  return std::unique_ptr<CaresResolver>(new CaresResolver(std::move(ch)));
}

CaresResolver::CaresResolver(std::unique_ptr<Channel> channel) : channel_(std::move(channel)) {}
CaresResolver::~CaresResolver() = default;

Answer CaresResolver::lookup(const Question& question) {
  Pending pending{question.type, false, {}};
  const int type = question.type == QueryType::a ? ns_t_a : question.type == QueryType::aaaa ? ns_t_aaaa : ns_t_srv;
  ares_query(channel_->channel, question.name.c_str(), ns_c_in, type, on_reply, &pending);
  // c-ares ends every query by itself (answer, or its timeout x tries), so this loop is bounded.
  while (!pending.done) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel_->channel, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events) fds[n++] = {socks[i], events, 0};
    }
    timeval max{1, 0};
    timeval tv{};
    const timeval* t = ares_timeout(channel_->channel, &max, &tv);
    const int ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
    const int ready = ::poll(fds, n, ms);
    if (ready <= 0) {
      ares_process_fd(channel_->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      const ares_socket_t r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) ? fds[i].fd : ARES_SOCKET_BAD;
      const ares_socket_t w = (fds[i].revents & POLLOUT) ? fds[i].fd : ARES_SOCKET_BAD;
      if (r != ARES_SOCKET_BAD || w != ARES_SOCKET_BAD) ares_process_fd(channel_->channel, r, w);
    }
  }
  return pending.answer;
}

}  // namespace pbxwall::dns
