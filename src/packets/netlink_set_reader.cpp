#include "packets/netlink_set_reader.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <functional>

#include "kernel/netlink_exchange.h"
#include "packets/netlink_receive.h"
#include "packets/table_watch.h"

namespace pbxwall::packets {

bool is_responsive_set(std::string_view name) {
  for (auto s : kResponsiveSets)
    if (s == name) return true;
  return false;
}

std::optional<SetKey> set_key_of(std::string_view set_name, std::span<const std::uint8_t> bytes) {
  if (!is_responsive_set(set_name)) return std::nullopt;
  const bool v4 = set_name.back() == '4';
  const std::size_t width = v4 ? 4 : 16;
  const bool grants = set_name.starts_with("grants");
  if (bytes.size() != width + (grants ? 8 : 0)) return std::nullopt;
  const IpAddress a = v4 ? IpAddress::v4_bytes(bytes.data()) : IpAddress::v6_bytes(bytes.data());
  if (set_name.starts_with("blocked")) return SetKey::blocked(a);
  if (set_name.starts_with("validated")) return SetKey::validated(a);
  const std::uint8_t proto = bytes[width];
  const auto port = static_cast<std::uint16_t>((bytes[width + 4] << 8) | bytes[width + 5]);
  return SetKey::grant(a, proto, port);
}

Result<std::unique_ptr<NetlinkSetReader>> NetlinkSetReader::open(std::string table) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (socket == nullptr) return fail(errno_text("nftables netlink socket"));
  const timeval answer_timeout{2, 0};
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) != 0 ||
      setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout) != 0) {
    const std::string why = errno_text("nftables netlink socket");
    mnl_socket_close(socket);
    return fail(why);
  }
  return std::unique_ptr<NetlinkSetReader>(new NetlinkSetReader(socket, std::move(table)));
}

NetlinkSetReader::NetlinkSetReader(mnl_socket* socket, std::string table)
    : socket_(socket), table_(std::move(table)), buffer_(MNL_SOCKET_BUFFER_SIZE * 4) {}

NetlinkSetReader::~NetlinkSetReader() { mnl_socket_close(socket_); }

Result<bool> NetlinkSetReader::table_exists() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, ++seq_);
  mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table_.c_str());
  auto st = kernel::netlink_exchange(socket_, nlh, buffer_, [](const nlmsghdr*) {});
  if (st.ok()) return true;
  if (st.error() == ENOENT) return false;
  return fail("reading table inet " + table_ + ": " + std::strerror(st.error()));
}

Result<std::vector<SetKey>> NetlinkSetReader::keys(const std::string& name) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP | NLM_F_ACK, ++seq_);
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table_.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name.c_str());
  // The dump answers with NEWSETELEM messages, the shape of notifications.
  std::vector<SetKey> keys;
  auto st = kernel::netlink_exchange(socket_, nlh, buffer_, [&](const nlmsghdr* m) {
    for (const auto& bytes : element_keys_of(m))
      if (auto k = set_key_of(name, bytes)) keys.push_back(*k);
  });
  if (!st.ok())
    return fail("reading set " + name + " of table inet " + table_ + ": " + std::strerror(st.error()));
  return keys;
}

}  // namespace pbxwall::packets
