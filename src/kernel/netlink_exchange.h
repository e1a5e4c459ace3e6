// One nfnetlink request and its answers, for the modules that ask nftables over netlink
// directly (the table's counters, the sets' elements).
#pragma once

#include <functional>
#include <vector>

#include "base/result.h"

struct mnl_socket;
struct nlmsghdr;

namespace pbxwall::kernel {

// Sends `request` and reads its answers into `buffer` up to the ACK or DONE; `on_message` sees
// each data message (answers to earlier requests are skipped). The error is the kernel's
// errno when it refused the request, or the socket's.
Status<int> netlink_exchange(mnl_socket* socket, const nlmsghdr* request, std::vector<char>& buffer,
                             const std::function<void(const nlmsghdr*)>& on_message);

}  // namespace pbxwall::kernel
