#include "packets/conntrack_flusher.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <string>

extern "C" {
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
}

namespace pbxwall::packets {

namespace {

IpAddress address_of(const nf_conntrack* ct, int family, nf_conntrack_attr v4, nf_conntrack_attr v6) {
  const void* raw = nfct_get_attr(ct, family == AF_INET ? v4 : v6);
  if (raw == nullptr) return {};
  const auto* bytes = static_cast<const std::uint8_t*>(raw);
  return family == AF_INET ? IpAddress::v4_bytes(bytes) : IpAddress::v6_bytes(bytes);
}

}  // namespace

// The handle and the state of the dump in progress (the dump callback fills `matches`).
struct NetlinkConntrackFlusher::Handle {
  nfct_handle* ct = nullptr;
  std::vector<IpAddress> wanted;       // sorted; the family being dumped
  std::vector<nf_conntrack*> matches;  // clones, owned until deleted
  ~Handle() {
    for (auto* m : matches) nfct_destroy(m);
    if (ct != nullptr) nfct_close(ct);
  }

  // Dump callback: keeps a copy of each UDP entry of a wanted address.
  static int on_entry(enum nf_conntrack_msg_type, nf_conntrack* ct, void* data) {
    auto* h = static_cast<Handle*>(data);
    if (nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO) != IPPROTO_UDP) return NFCT_CB_CONTINUE;
    const int family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
    const IpAddress src = address_of(ct, family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC);
    const IpAddress dst = address_of(ct, family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST);
    if (std::binary_search(h->wanted.begin(), h->wanted.end(), src) ||
        std::binary_search(h->wanted.begin(), h->wanted.end(), dst))
      h->matches.push_back(nfct_clone(ct));
    return NFCT_CB_CONTINUE;
  }
};

Result<std::unique_ptr<NetlinkConntrackFlusher>> NetlinkConntrackFlusher::open() {
  auto handle = std::make_unique<Handle>();
  handle->ct = nfct_open(CONNTRACK, 0);
  if (handle->ct == nullptr)
    return fail(std::string("conntrack: opening netlink socket: ") + std::strerror(errno));
  if (nfct_callback_register(handle->ct, NFCT_T_ALL, &Handle::on_entry, handle.get()) < 0)
    return fail(std::string("conntrack: registering callback: ") + std::strerror(errno));
  return std::unique_ptr<NetlinkConntrackFlusher>(new NetlinkConntrackFlusher(std::move(handle)));
}

NetlinkConntrackFlusher::NetlinkConntrackFlusher(std::unique_ptr<Handle> handle)
    : handle_(std::move(handle)) {}

NetlinkConntrackFlusher::~NetlinkConntrackFlusher() = default;

Result<std::size_t> NetlinkConntrackFlusher::flush_udp(std::span<const IpAddress> sources) {
  std::size_t deleted = 0;
  for (const Family family : {Family::v4, Family::v6}) {
    Handle& h = *handle_;
    h.wanted.clear();
    for (const IpAddress& a : sources)
      if (a.family() == family) h.wanted.push_back(a);
    if (h.wanted.empty()) continue;
    std::sort(h.wanted.begin(), h.wanted.end());

    const std::uint8_t l3 = family == Family::v4 ? AF_INET : AF_INET6;
    nfct_filter_dump* filter = nfct_filter_dump_create();
    if (filter == nullptr) return fail("conntrack: out of memory");
    nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM, l3);
    const int rc = nfct_query(h.ct, NFCT_Q_DUMP_FILTER, filter);
    const int dump_errno = errno;
    nfct_filter_dump_destroy(filter);
    if (rc < 0) return fail(std::string("conntrack: listing entries: ") + std::strerror(dump_errno));

    // Entries can expire between the dump and the delete: ENOENT is not an error.
    std::string error;
    for (nf_conntrack* ct : h.matches) {
      if (nfct_query(h.ct, NFCT_Q_DESTROY, ct) == 0) ++deleted;
      else if (errno != ENOENT && error.empty())
        error = std::string("conntrack: deleting entry: ") + std::strerror(errno);
      nfct_destroy(ct);
    }
    h.matches.clear();
    if (!error.empty()) return fail(error);
  }
  return deleted;
}

}  // namespace pbxwall::packets
