#include "packets/netlink_set_writer.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <cstring>

#include "packets/nft_comment.h"

namespace pbxwall::packets {

// One message of a batch: its sequence number, set, step and keys, and where in the message
// the set name and each element's attribute start (the kernel's extended ACK gives such an
// offset for what it refused).
struct NetlinkBatchMessage {
  std::uint32_t seq = 0;
  std::string set;
  const char* step = "";
  std::vector<SetKey> keys;
  std::uint32_t set_offset = 0;
  std::vector<std::uint32_t> element_offsets;
};

namespace {

// Elements per message: NFTA_SET_ELEM_LIST_ELEMENTS is one attribute, whose length field has
// 16 bits; an element with key, timeout and a 128-byte comment takes under kElementBytes.
constexpr std::size_t kElementsPerMessage = 200;
constexpr std::size_t kElementBytes = 256;
constexpr std::size_t kMessageBytes = 1024;  // headers, table and set names (256 bytes at most each)
constexpr int kAnswerTimeoutSeconds = 2;

struct SetFree {
  void operator()(nftnl_set* s) const { nftnl_set_free(s); }
};
using SetPtr = std::unique_ptr<nftnl_set, SetFree>;

struct BatchStop {
  void operator()(mnl_nlmsg_batch* b) const { mnl_nlmsg_batch_stop(b); }
};

using Entry = std::pair<const SetKey, std::optional<SetElement>>;

// A libnftnl set of the table holding the chunk's keys; `with_data`: only the additions, with
// their timeouts and comments. Null when out of memory.
SetPtr build_set(const std::string& table, const std::string& name, const std::vector<const Entry*>& chunk,
                 bool with_data) {
  SetPtr set(nftnl_set_alloc());
  if (!set) return set;
  nftnl_set_set_str(set.get(), NFTNL_SET_TABLE, table.c_str());
  nftnl_set_set_str(set.get(), NFTNL_SET_NAME, name.c_str());
  for (const Entry* entry : chunk) {
    if (with_data && !entry->second) continue;
    nftnl_set_elem* elem = nftnl_set_elem_alloc();
    if (elem == nullptr) return nullptr;
    const auto key = nft_key_bytes(entry->first);
    nftnl_set_elem_set(elem, NFTNL_SET_ELEM_KEY, key.data(), static_cast<std::uint32_t>(key.size()));
    if (with_data) {
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(entry->second->timeout).count();
      if (ms > 0) nftnl_set_elem_set_u64(elem, NFTNL_SET_ELEM_TIMEOUT, static_cast<std::uint64_t>(ms));
      if (const std::string c = nft_comment(entry->second->comment); !c.empty()) {
        nftnl_udata_buf* udata = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
        if (udata == nullptr) {
          nftnl_set_elem_free(elem);
          return nullptr;
        }
        nftnl_udata_put_strz(udata, NFTNL_UDATA_SET_ELEM_COMMENT, c.c_str());
        nftnl_set_elem_set(elem, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(udata), nftnl_udata_buf_len(udata));
        nftnl_udata_buf_free(udata);
      }
    }
    nftnl_set_elem_add(set.get(), elem);  // appended: the message lists elements in chunk order
  }
  return set;
}

// Visits the attributes from `first` up to `end` (the end of a message or of a nest).
template <typename Visit>
void for_each_attribute(const void* first, const void* end, Visit visit) {
  const auto* stop = static_cast<const char*>(end);
  for (const auto* a = static_cast<const nlattr*>(first);
       mnl_attr_ok(a, static_cast<int>(stop - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a))
    visit(a);
}

void record_offsets(const nlmsghdr* message, NetlinkBatchMessage& sent) {
  const auto* base = reinterpret_cast<const char*>(message);
  auto offset = [&](const nlattr* a) {
    return static_cast<std::uint32_t>(reinterpret_cast<const char*>(a) - base);
  };
  for_each_attribute(mnl_nlmsg_get_payload_offset(message, sizeof(nfgenmsg)), mnl_nlmsg_get_payload_tail(message),
                     [&](const nlattr* a) {
                       if (mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET) sent.set_offset = offset(a);
                       if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS) return;
                       const auto* payload = static_cast<const char*>(mnl_attr_get_payload(a));
                       for_each_attribute(payload, payload + mnl_attr_get_payload_len(a),
                                          [&](const nlattr* e) { sent.element_offsets.push_back(offset(e)); });
                     });
}

std::string key_text(const SetKey& key) {
  if (key.set != SetKind::grants) return key.address.str();
  const std::string proto = key.l4proto == IPPROTO_UDP   ? "udp"
                            : key.l4proto == IPPROTO_TCP ? "tcp"
                                                         : std::to_string(key.l4proto);
  return key.address.str() + " . " + proto + " . " + std::to_string(key.port);
}

// The kernel's refusal of one message, named by what its extended ACK points at: an element
// ("blocked4 192.0.2.3 (add with timeout): ..."), the set ("set blocked4: ...") or neither.
std::string describe_error(int error, const std::string& kernel_message, std::optional<std::uint32_t> offset,
                           const NetlinkBatchMessage* sent) {
  std::string reason = std::strerror(error);
  if (!kernel_message.empty()) reason += " (" + kernel_message + ")";
  if (sent == nullptr || !offset) return reason;
  if (*offset == sent->set_offset) return "set " + sent->set + ": " + reason;
  for (std::size_t i = 0; i < sent->element_offsets.size() && i < sent->keys.size(); ++i) {
    const bool last = i + 1 == sent->element_offsets.size();
    if (*offset >= sent->element_offsets[i] && (last || *offset < sent->element_offsets[i + 1]))
      return sent->set + " " + key_text(sent->keys[i]) + " (" + sent->step + "): " + reason;
  }
  return reason;
}

}  // namespace

std::vector<std::uint8_t> nft_key_bytes(const SetKey& key) {
  const std::size_t width = key.address.is_v4() ? 4 : 16;
  std::vector<std::uint8_t> out(key.address.bytes().begin(), key.address.bytes().begin() + static_cast<std::ptrdiff_t>(width));
  if (key.set != SetKind::grants) return out;
  out.insert(out.end(), {key.l4proto, 0, 0, 0});
  out.insert(out.end(), {static_cast<std::uint8_t>(key.port >> 8), static_cast<std::uint8_t>(key.port & 0xff), 0, 0});
  return out;
}

Result<std::unique_ptr<NetlinkSetWriter>> NetlinkSetWriter::open(kernel::RulesetApplier& applier,
                                                                 SetWriterOptions options) {
  mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (socket == nullptr) return fail(std::string("nftables netlink socket: ") + std::strerror(errno));
  const int fd = mnl_socket_get_fd(socket);
  const int buffer = 4 * 1024 * 1024;
  int on = 1;
  const timeval answer_timeout{kAnswerTimeoutSeconds, 0};
  // Extended ACKs point at the refused attribute; capped ACKs leave out the echoed request.
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout) != 0 ||
      mnl_socket_setsockopt(socket, NETLINK_EXT_ACK, &on, sizeof on) != 0 ||
      mnl_socket_setsockopt(socket, NETLINK_CAP_ACK, &on, sizeof on) != 0) {
    const std::string why = std::strerror(errno);
    mnl_socket_close(socket);
    return fail("nftables netlink socket: " + why);
  }
  // Large batches need room; without CAP_NET_ADMIN the default sizes apply.
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  return std::unique_ptr<NetlinkSetWriter>(new NetlinkSetWriter(socket, applier, std::move(options)));
}

NetlinkSetWriter::NetlinkSetWriter(mnl_socket* socket, kernel::RulesetApplier& applier, SetWriterOptions options)
    : socket_(socket), options_(options), intervals_(applier, options), receive_buffer_(64 * 1024) {}

NetlinkSetWriter::~NetlinkSetWriter() { mnl_socket_close(socket_); }

std::uint32_t NetlinkSetWriter::portid() const { return mnl_socket_get_portid(socket_); }

void NetlinkSetWriter::add(const SetElement& element) { pending_[element.key] = element; }

void NetlinkSetWriter::remove(const SetKey& key) { pending_[key] = std::nullopt; }

Status<std::string> NetlinkSetWriter::commit() {
  if (pending_.empty()) return {};
  auto queued = std::move(pending_);
  pending_.clear();
  const std::string where = "updating sets of table " + options_.family + " " + options_.table;
  // An interval element is a pair of boundaries nft works out: a tick holding one goes whole
  // through libnftables, still one transaction.
  for (const auto& [key, element] : queued) {
    if (key.set != SetKind::blocked_nets) continue;
    for (const auto& [k, e] : queued) {
      if (e) intervals_.add(*e);
      else intervals_.remove(k);
    }
    auto st = intervals_.commit();
    ++(st.ok() ? stats_.commits : stats_.failed_commits);
    return st;
  }
  if (options_.family != "inet") return fail(where + ": only the inet family is supported");
  auto failed = [&](const std::string& why) -> Status<std::string> {
    ++stats_.failed_commits;
    return fail(where + ": " + why);
  };

  // A bound on the batch: per chunk (at most one per kElementsPerMessage keys of a set, six
  // sets) up to three messages. The buffer has twice that, so even a message past the bound
  // would be written inside it; the batch then reports the overflow.
  const std::size_t chunks = queued.size() / kElementsPerMessage + 6;
  const std::size_t bound = 3 * (queued.size() * kElementBytes + chunks * kMessageBytes) + 2 * kMessageBytes;
  std::vector<char> buffer(2 * bound);
  std::unique_ptr<mnl_nlmsg_batch, BatchStop> batch(mnl_nlmsg_batch_start(buffer.data(), bound));
  if (!batch) return failed("out of memory");
  nftnl_batch_begin(static_cast<char*>(mnl_nlmsg_batch_current(batch.get())), ++seq_);
  mnl_nlmsg_batch_next(batch.get());

  std::vector<NetlinkBatchMessage> sent;
  bool room = true;
  auto message = [&](int type, const char* step, nftnl_set* set, const std::string& name,
                     const std::vector<const Entry*>& chunk, bool additions_only) {
    std::uint16_t flags = NLM_F_ACK;
    if (type == NFT_MSG_NEWSETELEM) flags |= NLM_F_CREATE;
    NetlinkBatchMessage record{++seq_, name, step, {}, 0, {}};
    nlmsghdr* nlh = nftnl_nlmsg_build_hdr(static_cast<char*>(mnl_nlmsg_batch_current(batch.get())),
                                          static_cast<std::uint16_t>(type), NFPROTO_INET, flags, record.seq);
    nftnl_set_elems_nlmsg_build_payload(nlh, set);
    for (const Entry* entry : chunk)
      if (!additions_only || entry->second) record.keys.push_back(entry->first);
    record_offsets(nlh, record);
    sent.push_back(std::move(record));
    room = mnl_nlmsg_batch_next(batch.get()) && room;
  };
  std::uint64_t added = 0;
  auto it = queued.begin();
  while (it != queued.end()) {
    const std::string name = it->first.set_name();
    std::vector<const Entry*> chunk;
    bool any_addition = false;
    while (it != queued.end() && it->first.set_name() == name && chunk.size() < kElementsPerMessage) {
      any_addition = any_addition || it->second.has_value();
      added += it->second ? 1 : 0;
      chunk.push_back(&*it++);
    }
    const SetPtr keys = build_set(options_.table, name, chunk, false);
    const SetPtr additions = any_addition ? build_set(options_.table, name, chunk, true) : nullptr;
    if (!keys || (any_addition && !additions)) return failed("out of memory");
    message(NFT_MSG_NEWSETELEM, "add", keys.get(), name, chunk, false);
    message(NFT_MSG_DELSETELEM, "delete", keys.get(), name, chunk, false);
    if (additions) message(NFT_MSG_NEWSETELEM, "add with timeout", additions.get(), name, chunk, true);
  }
  nftnl_batch_end(static_cast<char*>(mnl_nlmsg_batch_current(batch.get())), ++seq_);
  room = mnl_nlmsg_batch_next(batch.get()) && room;
  if (!room) return failed("batch of " + std::to_string(queued.size()) + " elements exceeds its buffer");

  auto result = send_batch(mnl_nlmsg_batch_head(batch.get()), mnl_nlmsg_batch_size(batch.get()), sent);
  if (!result.ok()) return failed(result.error());
  ++stats_.commits;
  stats_.elements_added += added;
  stats_.elements_removed += queued.size() - added;
  return {};
}

// Sends the batch and reads one answer per message in `sent`. The kernel applies all or
// nothing; the first error is the reason.
Status<std::string> NetlinkSetWriter::send_batch(const void* batch, std::size_t size,
                                                 const std::vector<NetlinkBatchMessage>& sent) {
  const ssize_t n = mnl_socket_sendto(socket_, batch, size);
  if (n < 0 || static_cast<std::size_t>(n) != size) return fail(std::string("sending: ") + std::strerror(errno));
  const std::uint32_t first_seq = sent.empty() ? 0 : sent.front().seq;
  std::size_t answers = 0;
  std::optional<std::string> first_error;
  while (answers < sent.size()) {
    const int fd = mnl_socket_get_fd(socket_);
    const ssize_t got = ::recv(fd, receive_buffer_.data(), receive_buffer_.size(), first_error ? MSG_DONTWAIT : 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (first_error) break;  // the kernel said why; what it did not answer after that is moot
      return fail(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer from the kernel within 2 s"
                                                          : std::string("receiving: ") + std::strerror(errno));
    }
    int left = static_cast<int>(got);
    for (const auto* nlh = static_cast<const nlmsghdr*>(static_cast<const void*>(receive_buffer_.data()));
         mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      // Answers to an earlier batch that failed before all were read are skipped.
      if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first_seq ||
          mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr))
        continue;
      ++answers;
      const auto* answer = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (answer->error == 0 || first_error) continue;
      // Extended ACK attributes follow the error and the (capped or whole) request.
      std::string kernel_message;
      std::optional<std::uint32_t> offset;
      if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
        std::size_t at = sizeof(nlmsgerr);
        if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) at += answer->msg.nlmsg_len - sizeof(nlmsghdr);
        if (at <= mnl_nlmsg_get_payload_len(nlh))
          for_each_attribute(mnl_nlmsg_get_payload_offset(nlh, at), mnl_nlmsg_get_payload_tail(nlh),
                             [&](const nlattr* a) {
                               if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                                 kernel_message = mnl_attr_get_str(a);
                               if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
                                 offset = mnl_attr_get_u32(a);
                             });
      }
      const NetlinkBatchMessage* message = nullptr;
      for (const auto& m : sent)
        if (m.seq == nlh->nlmsg_seq) message = &m;
      first_error = describe_error(-answer->error, kernel_message, offset, message);
    }
  }
  if (first_error) return fail(*first_error);
  return {};
}

}  // namespace pbxwall::packets
