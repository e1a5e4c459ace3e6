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
#include <algorithm>
#include <functional>
#include <memory>

#include "kernel/netlink_exchange.h"
#include "packets/netlink_receive.h"
#include "packets/netlink_set_writer.h"

namespace pbxwall::packets {

namespace {

// Keys per GETSETELEM request: the kernel queues an answer of its own per present key on the
// socket (a few hundred bytes each once trimmed, up to a page before) while handling the
// request, so all of them must fit in the receive buffer (kReceiveBuffer, doubled by the kernel).
constexpr std::size_t kKeysPerRequest = 1024;
constexpr int kReceiveBuffer = 4 * 1024 * 1024;
constexpr std::size_t kRequestBytesPerKey = 64;  // a key of up to 24 bytes in its nested attributes

}  // namespace

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
  // Without CAP_NET_ADMIN the default size applies: requests then ask about fewer keys.
  (void)setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVBUFFORCE, &kReceiveBuffer, sizeof kReceiveBuffer);
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

Status<int> NetlinkSetReader::set_exists(const std::string& name) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSET, NFPROTO_INET, NLM_F_ACK, ++seq_);
  mnl_attr_put_strz(nlh, NFTA_SET_TABLE, table_.c_str());
  mnl_attr_put_strz(nlh, NFTA_SET_NAME, name.c_str());
  return kernel::netlink_exchange(socket_, nlh, buffer_, [](const nlmsghdr*) {});
}

Result<std::size_t, int> NetlinkSetReader::present_prefix(const std::string& name, std::span<const SetKey> keys) {
  std::unique_ptr<nftnl_set, void (*)(const nftnl_set*)> set(nftnl_set_alloc(), nftnl_set_free);
  if (!set) return fail(ENOMEM);
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table_.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.c_str());
  for (const auto& key : keys) {
    nftnl_set_elem* elem = nftnl_set_elem_alloc();
    if (elem == nullptr) return fail(ENOMEM);
    const auto bytes = nft_key_bytes(key);
    nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    nftnl_set_elem_add(set.get(), elem);
  }
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE + keys.size() * kRequestBytesPerKey);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_ACK, ++seq_);
  nftnl_set_elems_nlmsg_build_payload(nlh, set.get());
  // One NEWSETELEM per present key, in the request's order, then the ACK or the first absent
  // key's ENOENT.
  std::size_t present = 0;
  auto st = kernel::netlink_exchange(socket_, nlh, buffer_, [&](const nlmsghdr* m) {
    if ((m->nlmsg_type & 0xff) == NFT_MSG_NEWSETELEM) ++present;
  });
  if (st.ok()) return keys.size();
  if (st.error() == ENOENT) return present;
  return fail(st.error());
}

Result<std::vector<SetKey>> NetlinkSetReader::absent(const std::string& name, std::span<const SetKey> keys) {
  const std::string where = "reading set " + name + " of table inet " + table_ + ": ";
  if (auto st = set_exists(name); !st.ok()) return fail(where + std::strerror(st.error()));
  std::vector<SetKey> out;
  std::size_t batch = kKeysPerRequest;
  for (std::size_t at = 0; at < keys.size();) {
    const std::size_t count = std::min(batch, keys.size() - at);
    auto present = present_prefix(name, keys.subspan(at, count));
    if (!present.ok()) {
      // The answers did not fit in the socket's buffer: fewer keys per request.
      if (present.error() == ENOBUFS && batch > 1) {
        batch /= 2;
        continue;
      }
      return fail(where + std::strerror(present.error()));
    }
    at += *present;
    if (*present < count) out.push_back(keys[at++]);
  }
  return out;
}

}  // namespace pbxwall::packets
