// Changes applied through pbxwalld (reload, start, trust, untrust): the daemon validates,
// checks the administrator's session, applies, and keeps safe mode's pending change itself.
#include <ostream>

#include "cli/daemon_link.h"
#include "cli/firewall.h"

namespace pbxwall::cli {

using nlohmann::json;

std::optional<json> daemon_change(Context& ctx, json request, bool safe_mode) {
  const auto session = admin_session(ctx);
  if (session) request["session"] = session_json(*session);
  request["force"] = ctx.force;
  request["safe_mode"] = safe_mode;
  // Who the change is by, in pbxwalld's event: the command the administrator typed.
  std::string who = request.value("who", "pbxwall " + request.value("cmd", std::string("change")));
  if (session) who += " (" + session->describe() + ")";
  request["who"] = who;
  auto answer = daemon_answer(ctx, request);
  if (!answer) return std::nullopt;
  if (!answer->value("ok", false)) {
    ctx.fail("pbxwalld refused: ", answer->value("error", std::string("(no reason given)")));
    if (answer->value("lockout", false))
      ctx.e() << "pbxwall: to apply it anyway, add --force (safe mode rolls it back unless you confirm)\n";
    if (answer->value("http_status", 0) == 422) ctx.exit_status = kExitInvalid;
    return std::nullopt;
  }
  if (answer->contains("forced"))
    ctx.e() << "pbxwall: warning: --force: " << (*answer)["forced"].get<std::string>() << "\n";
  return answer;
}

void print_safe_mode(Context& ctx, const json& answer) {
  if (!answer.contains("safe_mode") || !answer["safe_mode"].is_object()) return;
  ctx.o() << "safe mode: run `pbxwall confirm` within " << answer["safe_mode"].value("confirm_within_seconds", 0)
          << " s to keep this change; otherwise pbxwalld restores the configuration confirmed before\n";
}

}  // namespace pbxwall::cli
