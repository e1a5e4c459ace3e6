#include "kernel/netlink_exchange.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cstdint>

namespace pbxwall::kernel {

Status<int> netlink_exchange(mnl_socket* socket, const nlmsghdr* request, std::vector<char>& buffer,
                             const std::function<void(const nlmsghdr*)>& on_message) {
  if (mnl_socket_sendto(socket, request, request->nlmsg_len) < 0) return fail(errno);
  const std::uint32_t seq = request->nlmsg_seq;  // `buffer` may be where the request was built
  const std::uint32_t portid = mnl_socket_get_portid(socket);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(socket, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno);
    }
    int error = 0;
    bool done = false;
    int left = static_cast<int>(n);
    for (const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid) continue;  // a late answer to an earlier request
      if (nlh->nlmsg_type == NLMSG_DONE) {
        done = true;
      } else if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(nlmsgerr))
          error = -static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        done = true;
      } else {
        on_message(nlh);
      }
    }
    if (error != 0) return fail(error);
    if (done) return {};
  }
}

}  // namespace pbxwall::kernel
