// The live packet path between the kernel and the engine: packets in (NflogSource, or
// QueueSource with inline verdicts), decisions out (SetUpdater / NftSetWriter for the
// responsive sets, ConntrackFlusher for established flows of blocked sources), and probing
// which packet path the kernel supports.
#pragma once

#include "packets/background_conntrack_flusher.h"
#include "packets/conntrack_flusher.h"
#include "packets/kernel_probe.h"
#include "packets/netlink_set_writer.h"
#include "packets/nflog_source.h"
#include "packets/nft_comment.h"
#include "packets/nft_set_writer.h"
#include "packets/queue_source.h"
#include "packets/recording_set_updater.h"
#include "packets/set_updater.h"
