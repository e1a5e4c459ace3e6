// AMI actions as bytes on the wire: "Action: Login\r\nActionID: 1\r\n...\r\n\r\n".
// Values come from configuration (user name, secret); a CR or LF in them would let one
// setting inject another action, so serialize() refuses them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ami/message.h"
#include "base/result.h"

namespace pbxwall::ami {

struct Action {
  std::string name;           // Login, Events, Ping, Logoff
  std::string action_id;      // echoed in the response; may be empty
  std::vector<Field> fields;  // further keys in order
};

Action login_action(std::string_view username, std::string_view secret, std::string_view event_mask,
                    std::string_view action_id);
Action events_action(std::string_view event_mask, std::string_view action_id);  // EventMask
Action ping_action(std::string_view action_id);
Action logoff_action(std::string_view action_id);

Result<std::string> serialize(const Action& action);

// The event classes the firewall needs: security events and registrations.
inline constexpr const char* kFirewallEventMask = "security,system";

}  // namespace pbxwall::ami
