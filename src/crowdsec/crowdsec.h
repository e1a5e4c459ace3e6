// Sharing block decisions through CrowdSec's Local API: pbxwall is a watcher (it pushes its
// blocks as alerts) and a bouncer (it applies the fleet's bans). The pure parts (decisions,
// filters, the table of pulled bans, the push queue's policy, [crowdsec]) are apart from the
// HTTP client, which the daemon runs on a thread of its own.
#pragma once

#include "crowdsec/decision.h"
#include "crowdsec/lapi_client.h"
#include "crowdsec/push_queue.h"
#include "crowdsec/settings.h"
#include "crowdsec/shared_blocks.h"
