#include "ami/actions.h"

namespace pbxwall::ami {
namespace {

bool has_line_break(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

}  // namespace

Action login_action(std::string_view username, std::string_view secret, std::string_view event_mask,
                    std::string_view action_id) {
  return Action{"Login",
                std::string(action_id),
                {{"Username", std::string(username)}, {"Secret", std::string(secret)}, {"Events", std::string(event_mask)}}};
}

Action events_action(std::string_view event_mask, std::string_view action_id) {
  return Action{"Events", std::string(action_id), {{"EventMask", std::string(event_mask)}}};
}

Action ping_action(std::string_view action_id) { return Action{"Ping", std::string(action_id), {}}; }

Action logoff_action(std::string_view action_id) { return Action{"Logoff", std::string(action_id), {}}; }

Result<std::string> serialize(const Action& action) {
  if (action.name.empty() || has_line_break(action.name) || action.name.find(':') != std::string::npos)
    return fail(std::string("action name is empty or holds ':' or a line break"));
  if (has_line_break(action.action_id)) return fail(std::string("ActionID holds a line break"));
  std::string out = "Action: " + action.name + "\r\n";
  if (!action.action_id.empty()) out += "ActionID: " + action.action_id + "\r\n";
  for (const auto& f : action.fields) {
    if (f.key.empty() || has_line_break(f.key) || f.key.find(':') != std::string::npos)
      return fail("field name '" + f.key + "' is empty or holds ':' or a line break");
    if (has_line_break(f.value)) return fail(f.key + " holds a line break");
    out += f.key + ": " + f.value + "\r\n";
  }
  out += "\r\n";
  return out;
}

}  // namespace pbxwall::ami
