// NftApplier::named_counters(): the table's counter objects straight from nftables netlink.
// `nft list counters table ...` costs as much as listing the whole table (libnftables caches
// every set with its elements before it runs any list command); this costs two small requests.
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/object.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/netlink_exchange.h"

namespace pbxwall::kernel {

namespace {

struct SocketCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using Socket = std::unique_ptr<mnl_socket, SocketCloser>;

std::string errno_text(const std::string& what, int error) { return what + ": " + std::strerror(error); }

}  // namespace

Result<std::optional<std::vector<NamedCounter>>> NftApplier::named_counters() {
  Socket socket(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!socket) return fail(errno_text("nftables netlink socket", errno));
  const timeval answer_timeout{5, 0};
  if (mnl_socket_bind(socket.get(), 0, MNL_SOCKET_AUTOPID) != 0 ||
      setsockopt(mnl_socket_get_fd(socket.get()), SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout) != 0)
    return fail(errno_text("nftables netlink socket", errno));
  const std::string table(kTableName);
  std::vector<char> request(MNL_SOCKET_BUFFER_SIZE);
  std::vector<char> answers(MNL_SOCKET_BUFFER_SIZE);

  nlmsghdr* get_table = nftnl_nlmsg_build_hdr(request.data(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, 1);
  mnl_attr_put_strz(get_table, NFTA_TABLE_NAME, table.c_str());
  if (auto st = netlink_exchange(socket.get(), get_table, answers, [](const nlmsghdr*) {}); !st.ok()) {
    if (st.error() == ENOENT) return std::optional<std::vector<NamedCounter>>();
    return fail(errno_text("reading table inet " + table, st.error()));
  }

  nlmsghdr* get_counters = nftnl_nlmsg_build_hdr(request.data(), NFT_MSG_GETOBJ, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, 2);
  mnl_attr_put_strz(get_counters, NFTA_OBJ_TABLE, table.c_str());
  mnl_attr_put_u32(get_counters, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
  std::vector<NamedCounter> counters;
  std::string parse_error;
  auto st = netlink_exchange(socket.get(), get_counters, answers, [&](const nlmsghdr* m) {
    nftnl_obj* obj = nftnl_obj_alloc();
    if (obj == nullptr) std::abort();  // only fails on out-of-memory
    if (nftnl_obj_nlmsg_parse(m, obj) < 0) {
      parse_error = "counter object the kernel sent could not be read";
    } else if (nftnl_obj_get_u32(obj, NFTNL_OBJ_TYPE) == NFT_OBJECT_COUNTER &&
               table == nftnl_obj_get_str(obj, NFTNL_OBJ_TABLE)) {
      counters.push_back({nftnl_obj_get_str(obj, NFTNL_OBJ_NAME), nftnl_obj_get_u64(obj, NFTNL_OBJ_CTR_PKTS),
                          nftnl_obj_get_u64(obj, NFTNL_OBJ_CTR_BYTES)});
    }
    nftnl_obj_free(obj);
  });
  if (!st.ok()) return fail(errno_text("reading the counters of table inet " + table, st.error()));
  if (!parse_error.empty()) return fail("reading the counters of table inet " + table + ": " + parse_error);
  return std::optional(std::move(counters));
}

}  // namespace pbxwall::kernel
