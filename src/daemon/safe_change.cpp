// The one path of every configuration change the daemon applies (the CLI's reload, start,
// trust and untrust, the web UI's edits, SIGHUP): validate as `pbxwall check` does, refuse a
// change that cuts the administrator's own session unless forced, write, apply, and in safe
// mode keep the last confirmed file to restore unless the change is confirmed in time. The
// pending change is kept on disk, so a daemon killed or restarted meanwhile still rolls back.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/firewall.h"
#include "daemon/firewall_loaded.h"

namespace pbxwall::daemon {

using nlohmann::json;

namespace {

json refused(int status, const std::string& error) { return {{"ok", false}, {"error", error}, {"http_status", status}}; }

std::int64_t epoch_seconds(TimePoint t) { return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count(); }

json diagnostics_json(const Diagnostics& ds) {
  json out = json::array();
  for (const auto& d : ds) out.push_back(d.str());
  return out;
}

std::string diagnostics_lines(const Diagnostics& ds) {
  std::string s;
  for (const auto& d : ds) s += (s.empty() ? "" : "\n") + d.str();
  return s;
}

}  // namespace

std::optional<model::Session> session_from_json(const json& j) {
  if (!j.is_object() || !j.contains("client") || !j["client"].is_string()) return std::nullopt;
  model::Session s;
  auto client = IpAddress::parse(j["client"].get<std::string>());
  if (!client) return std::nullopt;
  s.client = *client;
  if (j.contains("port")) {
    if (!j["port"].is_number_integer() || j["port"].get<std::int64_t>() < 0 || j["port"].get<std::int64_t>() > 65535)
      return std::nullopt;
    s.port = static_cast<std::uint16_t>(j["port"].get<std::int64_t>());
  }
  const std::string proto = j.value("proto", "tcp");
  if (proto != "tcp" && proto != "udp") return std::nullopt;
  s.proto = proto == "tcp" ? model::Proto::tcp : model::Proto::udp;
  s.ifname = j.value("interface", "");
  s.kind = j.value("kind", "session");
  return s;
}

json Firewall::change(const ChangeRequest& request) {
  if (!loaded_) return refused(503, "no configuration loaded");
  const TimePoint now = edges_.clock.now();
  auto candidate = load(request.text);
  if (!candidate.ok()) {
    ++counters_.refused_reloads;
    json r = refused(422, std::string(request.text ? "the change makes the configuration invalid; nothing was changed"
                                                   : "configuration refused, the running policy is kept") +
                              ":\n" + diagnostics_lines(candidate.error()));
    r["diagnostics"] = diagnostics_json(candidate.error());
    return r;
  }
  Loaded& next = **candidate;
  std::optional<std::string> cut;
  if (request.session) cut = model::session_refused(next.config.policy, *request.session, next.resolved);
  if (cut && !request.force) {
    ++counters_.refused_reloads;
    json r = refused(409, "refused: this change would cut your " + request.session->describe() + " (" + *cut +
                              "); nothing was changed");
    r["lockout"] = true;
    return r;
  }
  const std::string previous_text = loaded_->text;
  const bool same_text = next.text == previous_text;
  if (request.text && !same_text) {
    if (auto written = model::write_atomically(options_.config_path, *request.text); !written.ok())
      return refused(500, "cannot write " + options_.config_path + ": " + written.error());
  }
  const bool guarded = request.safe_mode && !same_text &&
                       (loaded_->config.policy.safe_mode || next.config.policy.safe_mode);
  const int seconds = std::max(loaded_->config.policy.safe_mode_seconds, next.config.policy.safe_mode_seconds);
  if (auto applied = replace_loaded(std::move(*candidate)); !applied.ok()) {
    if (request.text && !same_text) (void)model::write_atomically(options_.config_path, previous_text);
    return refused(422, applied.error());
  }
  json answer = {{"ok", true}, {"change", request.what.empty() ? "configuration applied" : request.what}};
  if (cut) answer["forced"] = "this change cuts your " + request.session->describe() + " (" + *cut + ")";
  if (guarded) {
    // With a change already waiting, the rollback target stays the configuration confirmed last.
    if (!pending_change_) pending_change_ = PendingChange{previous_text, {}, "", "", 0};
    pending_change_->deadline = now + std::chrono::seconds(seconds);
    pending_change_->who = request.who;
    pending_change_->what = request.what.empty() ? "configuration reloaded" : request.what;
    pending_change_->seconds = seconds;
    if (pending_change_->previous_text == loaded_->text) pending_change_.reset();  // back where it was
    save_pending_change();
    if (pending_change_) answer["safe_mode"] = {{"confirm_within_seconds", seconds}, {"deadline", epoch_seconds(pending_change_->deadline)}};
  } else if (pending_change_ && !request.safe_mode && !same_text) {
    pending_change_.reset();  // applying without safe mode confirms implicitly
    save_pending_change();
  }
  // Every change is an event, a reload of the file as it was too (someone asked for it).
  note("change", request.session ? request.session->client.str() : "", request.who,
       (same_text && !request.text ? std::string("configuration reloaded, unchanged")
                                   : answer["change"].get<std::string>()) +
           (cut ? " (forced: cuts the requester's session)" : "") +
           (answer.contains("safe_mode") ? " (in safe mode, awaiting confirmation)" : ""));
  flush();
  return answer;
}

json Firewall::confirm(const std::string& who) {
  if (!pending_change_) return refused(409, "nothing to confirm: no change is waiting in safe mode");
  note("change", "", who, "change by " + pending_change_->who + " (" + pending_change_->what + ") confirmed");
  pending_change_.reset();
  save_pending_change();
  flush();
  return {{"ok", true}, {"confirmed", true}};
}

json Firewall::pending_change_json(TimePoint now) const {
  if (!pending_change_) return nullptr;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(pending_change_->deadline - now).count();
  return {{"who", pending_change_->who},
          {"what", pending_change_->what},
          {"deadline", epoch_seconds(pending_change_->deadline)},
          {"rolls_back_in_seconds", std::max<std::int64_t>(0, left)}};
}

void Firewall::roll_back_if_due(TimePoint now) {
  if (!pending_change_ || now < pending_change_->deadline) return;
  roll_back("not confirmed within " + std::to_string(pending_change_->seconds) + " s");
}

void Firewall::roll_back(const std::string& why) {
  const PendingChange pending = std::move(*pending_change_);
  pending_change_.reset();
  // The unconfirmed file is kept beside the configuration: an edit made by hand is not lost.
  const std::string kept = options_.config_path + ".unconfirmed";
  if (loaded_) (void)model::write_atomically(kept, loaded_->text);
  auto written = model::write_atomically(options_.config_path, pending.previous_text);
  auto reloaded = written.ok() ? (loaded_ ? reload() : Status<std::string>{}) : Status<std::string>(fail(written.error()));
  save_pending_change();
  note("change", "", pending.who,
       "change by " + pending.who + " (" + pending.what + ") " + why +
           (reloaded.ok() ? ": rolled back to the configuration confirmed before; the unconfirmed file is " + kept
                          : "; rollback FAILED: " + reloaded.error()));
  flush();
}

void Firewall::save_pending_change() const {
  if (options_.pending_change_path.empty()) return;
  if (!pending_change_) {
    std::error_code ec;
    std::filesystem::remove(options_.pending_change_path, ec);
    return;
  }
  const json j = {{"previous_text", pending_change_->previous_text},
                  {"deadline", epoch_seconds(pending_change_->deadline)},
                  {"who", pending_change_->who},
                  {"what", pending_change_->what},
                  {"seconds", pending_change_->seconds}};
  (void)model::write_atomically(options_.pending_change_path, j.dump());
}

void Firewall::recover_pending_change(TimePoint now) {
  if (options_.pending_change_path.empty()) return;
  std::ifstream in(options_.pending_change_path);
  if (!in) return;
  std::ostringstream buf;
  buf << in.rdbuf();
  const json j = json::parse(buf.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("previous_text") || !j["previous_text"].is_string() ||
      !j.contains("deadline") || !j["deadline"].is_number_integer()) {
    note("change", "", "pbxwalld", "unreadable safe-mode record " + options_.pending_change_path + " ignored");
    save_pending_change();
    return;
  }
  pending_change_ = PendingChange{j["previous_text"].get<std::string>(),
                                  TimePoint(std::chrono::seconds(j["deadline"].get<std::int64_t>())),
                                  j.value("who", "admin"), j.value("what", "a change"), j.value("seconds", 0)};
  if (now < pending_change_->deadline) return;  // housekeeping rolls it back when due
  // The deadline passed while the daemon was down: the file goes back before it is loaded.
  if (auto text = std::ifstream(options_.config_path)) {
    std::ostringstream current;
    current << text.rdbuf();
    (void)model::write_atomically(options_.config_path + ".unconfirmed", current.str());
  }
  const PendingChange pending = std::move(*pending_change_);
  pending_change_.reset();
  auto written = model::write_atomically(options_.config_path, pending.previous_text);
  save_pending_change();
  note("change", "", pending.who,
       "change by " + pending.who + " (" + pending.what + ") was not confirmed before pbxwalld stopped" +
           (written.ok() ? ": rolled back to the configuration confirmed before; the unconfirmed file is " +
                               options_.config_path + ".unconfirmed"
                         : "; rollback FAILED: " + written.error()));
}

}  // namespace pbxwall::daemon
