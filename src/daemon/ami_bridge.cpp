#include "daemon/ami_bridge.h"

#include <asio.hpp>
#include <filesystem>

#include "base/file_text.h"
#include "base/suggest.h"
#include "daemon/firewall.h"
#include "model/model.h"

namespace pbxwall::daemon {

namespace {

std::string diagnostics_text(const Diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += (s.empty() ? "" : "\n") + d.str();
  return s;
}

responsive::Transport transport_of(ami::Transport t) {
  switch (t) {
    case ami::Transport::udp: return responsive::Transport::udp;
    case ami::Transport::tcp: return responsive::Transport::tcp;
    case ami::Transport::tls: return responsive::Transport::tls;
    case ami::Transport::ws: return responsive::Transport::ws;
    case ami::Transport::wss: return responsive::Transport::wss;
  }
  return responsive::Transport::udp;
}

class SectionReader {
 public:
  SectionReader(const toml::table& t, const std::string& source) : t_(t), source_(source) {}

  void error(const toml::node& n, const std::string& key, std::string message) {
    errors.push_back(model::diagnostic_at(n, source_, "ami." + key, std::move(message)));
  }
  const toml::node* get(std::string_view key) const { return t_.get(key); }

  std::optional<std::string> string_at(std::string_view key) {
    const auto* n = t_.get(key);
    if (!n) return std::nullopt;
    const auto* s = n->as_string();
    if (s && !s->get().empty() && s->get().find_first_of("\r\n") == std::string::npos) return s->get();
    error(*n, std::string(key), "expected a non-empty string on one line");
    return std::nullopt;
  }

  std::optional<std::int64_t> integer_at(std::string_view key, std::int64_t min, std::int64_t max, const char* unit) {
    const auto* n = t_.get(key);
    if (!n) return std::nullopt;
    const auto* i = n->as_integer();
    if (i && i->get() >= min && i->get() <= max) return i->get();
    error(*n, std::string(key), "expected a whole number " + std::string(unit) + "from " + std::to_string(min) + " to " +
                                    std::to_string(max));
    return std::nullopt;
  }

  Diagnostics errors;

 private:
  const toml::table& t_;
  const std::string& source_;
};

// The secret in `path` (relative: to the configuration file's directory), without the line end.
Result<std::string, std::string> read_secret(const std::string& path, const std::string& source) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(source).parent_path() / p;
  return read_secret_line(p);
}

}  // namespace

Result<AmiSettings, Diagnostics> ami_settings_from_toml(const toml::table& root, const std::string& source) {
  AmiSettings out;
  const auto* node = root.get("ami");
  if (!node) return out;
  const auto* t = node->as_table();
  if (!t) return fail(Diagnostics{model::diagnostic_at(*node, source, "ami", "expected a table")});
  SectionReader r(*t, source);
  static constexpr std::string_view kKeys[] = {"enabled",       "host",           "port",
                                               "username",      "secret",         "secret_file",
                                               "reconnect_min_ms", "reconnect_max_ms", "keepalive_seconds"};
  for (const auto& [k, v] : *t) {
    if (std::find(std::begin(kKeys), std::end(kKeys), k.str()) != std::end(kKeys)) continue;
    std::string known;
    for (auto key : kKeys) known += (known.empty() ? "" : ", ") + std::string(key);
    r.error(v, std::string(k.str()), unknown_name("key", k.str(), known));
  }
  if (const auto* n = t->get("enabled")) {
    if (const auto* b = n->as_boolean()) out.enabled = b->get();
    else r.error(*n, "enabled", "expected true or false");
  }
  auto& c = out.client;
  if (auto v = r.string_at("host")) c.host = *v;
  if (auto v = r.integer_at("port", 1, 65535, "")) c.port = static_cast<std::uint16_t>(*v);
  if (auto v = r.string_at("username")) c.username = *v;
  if (auto v = r.string_at("secret")) c.secret = *v;
  if (auto v = r.integer_at("reconnect_min_ms", 10, 600'000, "of milliseconds ")) c.backoff_initial = std::chrono::milliseconds(*v);
  if (auto v = r.integer_at("reconnect_max_ms", 10, 3'600'000, "of milliseconds ")) c.backoff_max = std::chrono::milliseconds(*v);
  if (auto v = r.integer_at("keepalive_seconds", 1, 3600, "of seconds ")) c.keepalive_interval = std::chrono::seconds(*v);
  if (c.backoff_initial > c.backoff_max)
    r.error(*t->get(t->contains("reconnect_max_ms") ? "reconnect_max_ms" : "reconnect_min_ms"), "reconnect_max_ms",
            "must not be smaller than reconnect_min_ms (" + std::to_string(c.backoff_initial.count()) + ")");
  if (const auto* n = t->get("secret_file")) {
    if (t->contains("secret")) {
      r.error(*n, "secret_file", "give either secret or secret_file, not both");
    } else if (auto path = r.string_at("secret_file")) {
      auto secret = read_secret(*path, source);
      if (secret.ok()) c.secret = *secret;
      else r.error(*n, "secret_file", secret.error());
    }
  }
  if (out.enabled && r.errors.empty()) {
    if (c.username.empty()) r.error(*t, "username", "missing: the manager user of manager.conf that pbxwall logs in as");
    if (c.secret.empty()) r.error(*t, "secret", "missing: give secret or secret_file");
  }
  if (!r.errors.empty()) return fail(std::move(r.errors));
  return out;
}

Result<AmiSettings, std::string> load_ami_settings(const std::string& path) {
  auto config = model::load_file(path);
  if (!config.ok()) return fail(diagnostics_text(config.error()));
  if (!config->table) return AmiSettings{};
  auto settings = ami_settings_from_toml(*config->table, config->source_name);
  if (!settings.ok()) return fail(diagnostics_text(settings.error()));
  return std::move(*settings);
}

// ---- the bridge ------------------------------------------------------------------------------

AmiBridge::AmiBridge(asio::io_context& io, Firewall& firewall, ami::ClientSettings settings, Log log)
    : io_(io), firewall_(firewall), log_(std::move(log)), flush_pending_(std::make_shared<bool>(false)),
      endpoint_(settings.host + ":" + std::to_string(settings.port)), username_(settings.username) {
  client_ = std::make_unique<ami::Client>(
      io, std::move(settings), [this](const ami::Event& e) { on_event(e); },
      [this](ami::ClientState state, std::string_view reason) {
        if (state == ami::ClientState::ready) last_problem_.clear();
        else if (state == ami::ClientState::waiting_to_retry) last_problem_ = std::string(reason);
        if (!log_) return;
        if (state == ami::ClientState::ready) log_(6, "AMI: logged in, reading security and registration events");
        else if (state == ami::ClientState::waiting_to_retry)
          log_(4, "AMI: " + std::string(reason) + "; retrying in " + std::to_string(client_->next_backoff().count()) + " ms");
      });
}

AmiBridge::~AmiBridge() {
  client_.reset();
  *flush_pending_ = false;  // a flush still posted finds nothing to do for us
}

void AmiBridge::start() { client_->start(); }

nlohmann::json AmiBridge::status_json() const {
  const auto& c = client_->counters();
  nlohmann::json j = {{"state", ami::to_string(client_->state())},
                      {"endpoint", endpoint_},
                      {"username", username_},
                      {"logins", c.logins},
                      {"login_failures", c.login_failures},
                      {"connect_failures", c.connect_failures},
                      {"disconnects", c.disconnects},
                      {"events", c.events},
                      {"security_fed", counters_.security_fed},
                      {"validations", counters_.validations},
                      {"validations_merged", counters_.validations_merged},
                      {"forgets", counters_.forgets}};
  if (!last_problem_.empty()) j["problem"] = last_problem_;
  return j;
}
void AmiBridge::stop() { client_->stop(); }

void AmiBridge::schedule_flush() {
  if (*flush_pending_) return;
  *flush_pending_ = true;
  asio::post(io_, [pending = flush_pending_, &firewall = firewall_] {
    if (!*pending) return;
    *pending = false;
    firewall.flush();
  });
}

void AmiBridge::on_event(const ami::Event& event) {
  if (const auto* s = std::get_if<ami::SecurityEvent>(&event)) on_security(*s);
  else if (const auto* c = std::get_if<ami::ContactStatusEvent>(&event)) on_contact(*c);
  else if (const auto* p = std::get_if<ami::PeerStatusEvent>(&event)) on_peer(*p);
}

void AmiBridge::on_security(const ami::SecurityEvent& e) {
  using ami::SecurityEventType;
  PbxSecurityEvent pe;
  switch (e.type) {
    case SecurityEventType::invalid_account_id: pe.kind = responsive::SecurityEventKind::unknown_account; break;
    case SecurityEventType::challenge_response_failed:
    case SecurityEventType::invalid_password: pe.kind = responsive::SecurityEventKind::auth_failed; break;
    case SecurityEventType::successful_auth: pe.kind = responsive::SecurityEventKind::auth_ok; break;
    case SecurityEventType::failed_acl:  // refused by the PBX's own ACL: it says nothing about passwords
    case SecurityEventType::request_bad_format:
    case SecurityEventType::challenge_sent:  // the answer to every first attempt, phones' too
      ++counters_.security_counted;
      return;
  }
  pe.account = e.account_id;
  pe.remote = e.remote.address;
  pe.remote_port = e.remote.port;
  pe.transport = transport_of(e.remote.transport);
  if (firewall_.on_pbx_security_event(pe)) {
    ++counters_.security_fed;
    schedule_flush();
  } else {
    ++counters_.security_seen_by_packets;
  }
}

void AmiBridge::on_contact(const ami::ContactStatusEvent& e) {
  using ami::ContactState;
  const std::string user = e.aor.empty() ? e.endpoint : e.aor;
  // The contact URI's host is where the PBX sends calls; behind NAT with rewrite_contact it
  // is the NAT's address. A host name (WebRTC's "*.invalid") leaves the address seen in Via.
  const std::optional<IpAddress> addr = e.uri_address ? e.uri_address : e.via_address;
  switch (e.state) {
    // Asterisk 22 reports a new contact without qualify as NonQualified (it sends no Created).
    case ContactState::created:
    case ContactState::non_qualified:
    case ContactState::reachable:
    case ContactState::updated: {
      if (!addr) {
        ++counters_.without_address;
        return;
      }
      std::optional<TimePoint> ends;
      if (e.reg_expire) ends = TimePoint(std::chrono::seconds(*e.reg_expire));
      if (firewall_.on_pbx_registration(*addr, user, ends, "registered as " + user + " (PBX: contact " + e.uri + " " + e.status + ")")) {
        ++counters_.validations;
        schedule_flush();
      } else {
        ++counters_.validations_merged;
      }
      return;
    }
    case ContactState::removed: {
      std::vector<IpAddress> addrs;
      if (addr) addrs.push_back(*addr);
      else addrs = firewall_.pbx_registrations_of(user);
      for (const auto& a : addrs)
        if (firewall_.on_pbx_unregistration(a, user, "contact " + e.uri + " of " + user + " removed by the PBX")) {
          ++counters_.forgets;
          schedule_flush();
        }
      return;
    }
    default:
      return;  // unreachable or unknown: the registration stands until removed
  }
}

void AmiBridge::on_peer(const ami::PeerStatusEvent& e) {
  if (e.peer.empty()) return;
  if (e.state == ami::PeerState::registered) {
    if (!e.address) {
      // chan_pjsip's PeerStatus names no address; its ContactStatus does.
      if (e.channel_type != "PJSIP") ++counters_.without_address;
      return;
    }
    if (firewall_.on_pbx_registration(*e.address, e.peer, std::nullopt,
                                      "registered as " + e.peer + " (PBX: " + e.channel_type + " peer registered)")) {
      ++counters_.validations;
      schedule_flush();
    } else {
      ++counters_.validations_merged;
    }
  } else if (e.state == ami::PeerState::unregistered) {
    std::vector<IpAddress> addrs;
    if (e.address) addrs.push_back(*e.address);
    else addrs = firewall_.pbx_registrations_of(e.peer);
    for (const auto& a : addrs)
      if (firewall_.on_pbx_unregistration(a, e.peer, e.channel_type + " peer " + e.peer + " unregistered" +
                                                          (e.cause.empty() ? "" : " (" + e.cause + ")"))) {
        ++counters_.forgets;
        schedule_flush();
      }
  }
}

}  // namespace pbxwall::daemon
