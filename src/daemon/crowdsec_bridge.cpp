#include "daemon/crowdsec_bridge.h"

#include <asio.hpp>

#include "daemon/daemon_config.h"
#include "daemon/firewall.h"
#include "daemon/job_thread.h"
#include "daemon/time_json.h"
#include "model/model.h"

namespace pbxwall::daemon {

using crowdsec::PushItem;
using crowdsec::PushKind;
using nlohmann::json;

namespace {

constexpr std::size_t kSparedEventsPerPull = 100;  // the history is not flooded by one pull
constexpr Duration kTokenMargin = std::chrono::seconds(60);

std::optional<Cidr> net_of(const std::string& text) {
  if (auto a = IpAddress::parse(text)) return Cidr(*a, a->bit_width());
  return Cidr::parse(text);
}

}  // namespace

Result<crowdsec::CrowdsecSettings, std::string> load_crowdsec_settings(const std::string& path) {
  return load_section<crowdsec::CrowdsecSettings>(path, crowdsec::crowdsec_settings_from_toml);
}

// ---- the HTTP thread -------------------------------------------------------------------------

// Runs LAPI requests one after the other on a thread of its own. The token is this thread's.
struct CrowdsecWorkerState {
  crowdsec::LapiClient client;
  std::optional<crowdsec::Token> token;
};
struct CrowdsecBridge::Worker : JobThread<CrowdsecWorkerState> {
  using State = CrowdsecWorkerState;
  // A pull or push under way fails at once when the bridge stops, instead of at its timeout.
  explicit Worker(crowdsec::LapiEndpoint endpoint)
      : JobThread<State>([&endpoint] { return State{crowdsec::LapiClient(std::move(endpoint)), std::nullopt}; },
                         [](State& st) { st.client.stop(); }) {}
};

struct CrowdsecBridge::Timer {
  explicit Timer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
};

// ---- the bridge ------------------------------------------------------------------------------

CrowdsecBridge::CrowdsecBridge(asio::io_context& io, Firewall& firewall, store::StateStore& store, const Clock& clock,
                               crowdsec::CrowdsecSettings settings, Log log)
    : io_(io),
      firewall_(firewall),
      store_(store),
      clock_(clock),
      settings_(std::move(settings)),
      log_(std::move(log)),
      alive_(std::make_shared<bool>(true)),
      // A LAPI that comes back is noticed within five pull intervals (5 s to 60 s).
      pull_backoff_(std::chrono::seconds(1),
                    std::clamp<Duration>(settings_.pull_interval * 5, std::chrono::seconds(5), std::chrono::seconds(60))) {
  worker_ = std::make_unique<Worker>(crowdsec::LapiEndpoint{settings_.url});
  timer_ = std::make_unique<Timer>(io_);
}

CrowdsecBridge::~CrowdsecBridge() {
  *alive_ = false;
  timer_->timer.cancel();
  worker_.reset();  // ends a request under way and joins the thread
}

void CrowdsecBridge::start() {
  if (settings_.pushes()) {
    if (auto saved = store_.outbox(); saved.ok()) {
      std::vector<PushItem> items;
      for (const auto& r : *saved) {
        auto net = net_of(r.address);
        if (!net || (r.kind != "ban" && r.kind != "unban")) continue;
        items.push_back({r.seq, r.kind == "ban" ? PushKind::ban : PushKind::unban, *net, r.rule, r.reason, r.at, r.until});
      }
      if (!items.empty() && log_)
        log_(6, "CrowdSec: " + std::to_string(items.size()) + " decisions kept from before wait to be sent");
      queue_.restore(std::move(items));
    } else if (log_) {
      log_(4, "CrowdSec: cannot read the queued pushes: " + saved.error());
    }
  }
  if (log_)
    log_(6, std::string("CrowdSec: LAPI ") + settings_.url + (settings_.pulls() ? ", pulling decisions" : "") +
                (settings_.pushes() ? ", pushing decisions as " + settings_.machine_id : ""));
  tick();
}

void CrowdsecBridge::schedule_tick() {
  const Duration period = settings_.pulls() ? std::min<Duration>(settings_.pull_interval, std::chrono::seconds(1))
                                            : Duration(std::chrono::seconds(1));
  timer_->timer.expires_after(period);
  timer_->timer.async_wait([this, alive = alive_](std::error_code ec) {
    if (ec || !*alive) return;
    tick();
  });
}

void CrowdsecBridge::tick() {
  const TimePoint now = clock_.now();
  if (settings_.pulls() && !pull_in_flight_ && pull_backoff_.ready(now) &&
      (!last_pull_started_ || now - *last_pull_started_ >= settings_.pull_interval - std::chrono::milliseconds(5)))
    pull();
  if (settings_.pushes()) push();
  schedule_tick();
}

// ---- pulling ---------------------------------------------------------------------------------

void CrowdsecBridge::pull() {
  pull_in_flight_ = true;
  const bool startup = need_startup_;
  const TimePoint asked = clock_.now();
  last_pull_started_ = asked;
  worker_->post([this, alive = alive_, startup, asked, key = settings_.bouncer_key,
                 query = settings_.filter.query()](Worker::State& st) {
    auto answer = st.client.stream(key, startup, query);
    asio::post(io_, [this, alive, answer = std::move(answer), startup, asked]() mutable {
      if (*alive) on_pulled(std::move(answer), startup, asked);
    });
  });
}

void CrowdsecBridge::pull_failed(const std::string& why, TimePoint now) {
  ++counters_.pull_failures;
  pull_backoff_.failed(now);
  need_startup_ = true;  // whatever changed meanwhile comes whole with the next answer
  if (pull_error_ != why && log_)
    log_(4, "CrowdSec: " + why + "; protecting with the " + std::to_string(shared_.size()) +
                " bans held, retrying");
  pull_error_ = why;
  pull_up_ = false;
}

void CrowdsecBridge::on_pulled(Result<crowdsec::HttpAnswer> answer, bool startup, TimePoint asked) {
  pull_in_flight_ = false;
  const TimePoint now = clock_.now();
  if (!answer.ok()) return pull_failed(answer.error(), now);
  if (answer->status != 200) return pull_failed(crowdsec::describe("pulling decisions", *answer), now);
  auto delta = crowdsec::parse_stream(answer->body);
  if (!delta.ok()) return pull_failed("pulling decisions: " + delta.error(), now);
  ++counters_.pulls;
  pull_backoff_.succeeded();
  if (!pull_up_ && log_) log_(6, "CrowdSec: pulling decisions from " + settings_.url);
  pull_up_ = true;
  pull_error_.clear();
  need_startup_ = false;
  last_pull_ = now;

  // Durations count from when the LAPI answered, about when it was asked.
  (void)asked;
  auto report = shared_.apply(
      *delta, startup, now, settings_.filter, [this](const Cidr& net) { return firewall_.spare_reason(net); },
      [this](const Cidr& net, const crowdsec::LapiDecision& d) {
        return d.origin == crowdsec::kOrigin && net.is_host() && firewall_.blocks_here(net.address());
      });
  counters_.decisions_added += report.added;
  counters_.decisions_deleted += report.deleted;
  counters_.own += report.own;
  counters_.filtered += report.filtered;
  counters_.skipped += report.skipped;
  counters_.spared += report.spared.size();
  for (const auto& [origin, n] : report.added_by_origin) counters_.applied_by_origin[origin] += n;
  for (const auto& s : report.spared) ++counters_.spared_by_reason[Firewall::spare_kind(s.reason)];
  for (std::size_t i = 0; i < report.spared.size() && i < kSparedEventsPerPull; ++i) {
    const auto& s = report.spared[i];
    firewall_.note_event("spared", s.net.str(), "crowdsec", s.label + " not applied: " + s.reason);
  }

  std::string script;
  if (startup || kernel_dirty_) {
    shared_.kernel_reset();
    script = crowdsec::flush_script();
  }
  const auto change = shared_.kernel_change(now);
  script += crowdsec::kernel_script(change);
  if (!script.empty()) {
    auto applied = firewall_.apply_set_script(script);
    if (applied.ok()) {
      kernel_dirty_ = false;
    } else {
      ++counters_.kernel_failures;
      kernel_dirty_ = true;
      shared_.kernel_reset();
      if (log_) log_(3, "CrowdSec: the kernel refused the pulled bans (retried whole next pull): " + applied.error());
    }
  }
  if ((!change.empty() || !report.spared.empty()) && log_)
    log_(6, "CrowdSec: " + std::to_string(change.add.size()) + " bans in, " + std::to_string(change.remove.size()) +
                " out, " + std::to_string(report.spared.size()) + " spared; " + std::to_string(shared_.size()) +
                " held");
  firewall_.flush();
}

std::vector<ruleset::BlockedNetEntry> CrowdsecBridge::kernel_content(TimePoint now) const {
  std::vector<ruleset::BlockedNetEntry> out;
  for (const auto& [net, left] : shared_.kernel_content(now)) out.push_back({net, left, {}});
  return out;
}

// ---- pushing ---------------------------------------------------------------------------------

void CrowdsecBridge::on_event(const store::EventRecord& e) {
  if (!settings_.pushes()) return;
  auto net = net_of(e.address);
  if (!net) return;
  const TimePoint now = clock_.now();
  if (e.kind == "block") {
    auto record = store_.find_block(e.address);
    if (!record.ok() || !*record || (*record)->until <= now) return;
    queue({0, PushKind::ban, *net, e.rule, e.reason, e.time, (*record)->until});
  } else if (e.kind == "unblock" && e.rule == "manual") {
    queue({0, PushKind::unban, *net, e.rule, e.reason, e.time, e.time});
  } else {
    return;
  }
  // Sent at the end of this loop turn: the blocks of one tick go in one request.
  if (!push_posted_) {
    push_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
      if (!*alive) return;
      push_posted_ = false;
      push();
    });
  }
}

void CrowdsecBridge::queue(PushItem item) {
  auto added = queue_.enqueue(item);
  item.seq = added.seq;
  if (auto st = store_.add_outbox({item.seq, item.kind == PushKind::ban ? "ban" : "unban", item.net.str(), item.rule,
                                   item.reason, item.at, item.until});
      !st.ok() && log_)
    log_(4, "CrowdSec: cannot keep a push in the state database: " + st.error());
  if (!added.dropped.empty()) (void)store_.remove_outbox(added.dropped);
}

void CrowdsecBridge::push() {
  const TimePoint now = clock_.now();
  auto batch = queue_.next_batch(now);
  if (batch.empty()) return;
  worker_->post([this, alive = alive_, batch = std::move(batch), machine = settings_.machine_id,
                 password = settings_.password](Worker::State& st) {
    const auto wall = [this] { return clock_.now(); };
    std::size_t done = 0;
    std::string error;
    const auto logged_in = [&]() -> bool {
      if (st.token && st.token->expire > wall() + kTokenMargin) return true;
      auto token = st.client.login(machine, password);
      if (!token.ok()) {
        st.token.reset();
        error = token.error();
        return false;
      }
      st.token = std::move(*token);
      return true;
    };
    // One request, retried once with a fresh token when the LAPI says ours is no longer good.
    const auto send = [&](auto request, const char* what) -> bool {
      for (int attempt = 0; attempt < 2; ++attempt) {
        if (!logged_in()) return false;
        auto answer = request(*st.token);
        if (!answer.ok()) {
          error = answer.error();
          return false;
        }
        if (answer->status == 401 && attempt == 0) {
          st.token.reset();
          continue;
        }
        if (answer->status >= 200 && answer->status < 300) return true;
        error = crowdsec::describe(what, *answer);
        // The LAPI refuses the request itself: sending it again would block the queue forever.
        if (answer->status == 400 || answer->status == 422) {
          error += "; dropped";
          return true;
        }
        return false;
      }
      return false;
    };
    if (batch.front().kind == PushKind::ban) {
      const json body = crowdsec::alerts_body(batch, machine, wall());
      if (body.empty() || send([&](const crowdsec::Token& t) { return st.client.post_alerts(t, body); }, "sending alerts"))
        done = batch.size();
    } else {
      for (const auto& item : batch) {
        const std::string query = crowdsec::unban_query(item.net);
        if (!send([&](const crowdsec::Token& t) { return st.client.delete_decisions(t, query); }, "deleting decisions"))
          break;
        ++done;
      }
    }
    asio::post(io_, [this, alive, done, error = std::move(error)]() mutable {
      if (*alive) on_pushed(done, std::move(error));
    });
  });
}

void CrowdsecBridge::on_pushed(std::size_t done, std::string error) {
  const TimePoint now = clock_.now();
  const bool failed = !error.empty();
  auto gone = queue_.finished(done, failed, now);
  counters_.pushed += gone.size();
  if (!gone.empty()) (void)store_.remove_outbox(gone);
  if (failed) {
    ++counters_.push_failures;
    if (push_error_ != error && log_)
      log_(4, "CrowdSec: " + error + "; " + std::to_string(queue_.size()) + " decisions wait to be sent, retrying");
    push_error_ = std::move(error);
    return;
  }
  if (!push_error_.empty() && log_) log_(6, "CrowdSec: pushing decisions again");
  push_error_.clear();
  if (queue_.size() > 0) push();  // more than one batch waited
}

// ---- what the daemon shows -------------------------------------------------------------------

json CrowdsecBridge::status_json() const {
  const TimePoint now = clock_.now();
  json by_origin = json::object();
  for (const auto& [origin, n] : counters_.applied_by_origin) by_origin[origin] = n;
  json spared_by_reason = json::object();
  for (const auto& [reason, n] : counters_.spared_by_reason) spared_by_reason[reason] = n;
  json s = {{"url", settings_.url},
            {"pull", settings_.pulls()},
            {"push", settings_.pushes()},
            {"link", !settings_.pulls() ? (push_error_.empty() ? "up" : "down") : pull_up_ ? "up" : last_pull_ ? "down" : "connecting"},
            {"last_pull", time_json(last_pull_)},
            {"last_error", !pull_error_.empty() ? pull_error_ : push_error_},
            {"pulls", counters_.pulls},
            {"pull_failures", counters_.pull_failures},
            {"blocks", shared_.blocks(now).size()},
            {"kernel_elements", shared_.kernel_size()},
            {"decisions_added", counters_.decisions_added},
            {"decisions_deleted", counters_.decisions_deleted},
            {"applied_by_origin", by_origin},
            {"own", counters_.own},
            {"filtered", counters_.filtered},
            {"skipped", counters_.skipped},
            {"spared", counters_.spared},
            {"spared_by_reason", spared_by_reason},
            {"kernel_failures", counters_.kernel_failures},
            {"queue", queue_.size()},
            {"queue_dropped", queue_.dropped()},
            {"pushed", counters_.pushed},
            {"push_failures", counters_.push_failures}};
  if (settings_.pushes()) s["machine_id"] = settings_.machine_id;
  return s;
}

void CrowdsecBridge::extend(const std::string& cmd, const json&, json& answer) const {
  if (cmd == "status" || cmd == "overview" || cmd == "metrics") answer["crowdsec"] = status_json();
}

BlockSection CrowdsecBridge::block_section() const {
  BlockSection s;
  s.name = "crowdsec";
  s.rule = "crowdsec";
  s.reason = "shared by the fleet";
  s.size = shared_.size();
  s.walk = [this](TimePoint now, const std::optional<Cidr>& after, const ListedBlockVisitor& each) {
    ListedBlock listed;
    shared_.each_block(now, after, [&](const crowdsec::SharedBlock& b) {
      listed.net = b.net;
      listed.until = b.until;
      listed.origin = b.label;
      return each(listed);
    });
  };
  return s;
}

}  // namespace pbxwall::daemon
