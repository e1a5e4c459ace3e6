#include "packets/netlink_set_writer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "packets/nft_comment.h"

namespace pbxwall::packets {
namespace {

// Elements per message: NFTA_SET_ELEM_LIST_ELEMENTS is one attribute, whose length field has
// 16 bits; an element with key, timeout and a 128-byte comment takes under 200 bytes.
constexpr std::size_t kElementsPerMessage = 200;
constexpr std::uint8_t kCommentType = 0;  // NFTNL_UDATA_SET_ELEM_COMMENT
constexpr int kAnswerTimeoutSeconds = 2;

// Appends netlink messages and attributes to a byte buffer, each aligned to 4 bytes.
class Batch {
 public:
  std::vector<std::uint8_t> bytes;

  std::size_t begin_message(std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint8_t family,
                            std::uint16_t res_id) {
    const std::size_t at = bytes.size();
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = flags;
    h.nlmsg_seq = seq;
    append(&h, sizeof h);
    nfgenmsg g{};
    g.nfgen_family = family;
    g.version = NFNETLINK_V0;
    g.res_id = htons(res_id);
    append(&g, sizeof g);
    return at;
  }
  void end_message(std::size_t at) { set_u32(at, static_cast<std::uint32_t>(bytes.size() - at)); }

  std::size_t begin_nest(std::uint16_t type) {
    const std::size_t at = bytes.size();
    nlattr a{0, static_cast<std::uint16_t>(type | NLA_F_NESTED)};
    append(&a, sizeof a);
    return at;
  }
  void end_nest(std::size_t at) { set_u16(at, static_cast<std::uint16_t>(bytes.size() - at)); }

  void attr(std::uint16_t type, const void* data, std::size_t len) {
    nlattr a{static_cast<std::uint16_t>(NLA_HDRLEN + len), type};
    append(&a, sizeof a);
    append(data, len);
  }
  void attr_string(std::uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void attr_be64(std::uint16_t type, std::uint64_t v) {
    std::uint8_t b[8];
    for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<std::uint8_t>(v & 0xff);
    attr(type, b, sizeof b);
  }

 private:
  void append(const void* data, std::size_t len) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    bytes.insert(bytes.end(), p, p + len);
    bytes.resize(NLMSG_ALIGN(bytes.size()), 0);
  }
  void set_u32(std::size_t at, std::uint32_t v) { std::memcpy(&bytes[at], &v, sizeof v); }
  void set_u16(std::size_t at, std::uint16_t v) { std::memcpy(&bytes[at], &v, sizeof v); }
};

std::uint16_t nft_type(int msg) { return static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg); }

std::string errno_name(int e) { return std::strerror(e); }

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
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return fail(std::string("nftables netlink socket: ") + std::strerror(errno));
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  const int buffer = 4 * 1024 * 1024;
  const timeval answer_timeout{kAnswerTimeoutSeconds, 0};
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return fail("nftables netlink socket: " + why);
  }
  // Large batches need room; without CAP_NET_ADMIN the default sizes apply.
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer);
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer);
  return std::unique_ptr<NetlinkSetWriter>(new NetlinkSetWriter(fd, applier, std::move(options)));
}

NetlinkSetWriter::NetlinkSetWriter(int fd, kernel::RulesetApplier& applier, SetWriterOptions options)
    : fd_(fd), options_(options), intervals_(applier, options), receive_buffer_(64 * 1024) {}

NetlinkSetWriter::~NetlinkSetWriter() { ::close(fd_); }

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

  Batch batch;
  const std::uint32_t first_seq = ++seq_;
  std::uint32_t messages = 0;
  const std::size_t begin = batch.begin_message(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, first_seq, AF_UNSPEC,
                                                NFNL_SUBSYS_NFTABLES);
  batch.end_message(begin);
  // One message per step, set and chunk; `with_data`: timeout and comment of additions.
  auto message = [&](int type, const std::string& set, const std::vector<const std::pair<const SetKey, std::optional<SetElement>>*>& chunk,
                     bool additions_only, bool with_data) {
    std::uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
    if (type == NFT_MSG_NEWSETELEM) flags |= NLM_F_CREATE;
    const std::size_t at = batch.begin_message(nft_type(type), flags, ++seq_, NFPROTO_INET, 0);
    ++messages;
    batch.attr_string(NFTA_SET_ELEM_LIST_TABLE, options_.table);
    batch.attr_string(NFTA_SET_ELEM_LIST_SET, set);
    const std::size_t list = batch.begin_nest(NFTA_SET_ELEM_LIST_ELEMENTS);
    for (const auto* entry : chunk) {
      if (additions_only && !entry->second) continue;
      const std::size_t elem = batch.begin_nest(NFTA_LIST_ELEM);
      const std::size_t key = batch.begin_nest(NFTA_SET_ELEM_KEY);
      const auto bytes = nft_key_bytes(entry->first);
      batch.attr(NFTA_DATA_VALUE, bytes.data(), bytes.size());
      batch.end_nest(key);
      if (with_data) {
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(entry->second->timeout).count();
        if (ms > 0) batch.attr_be64(NFTA_SET_ELEM_TIMEOUT, static_cast<std::uint64_t>(ms));
        if (const std::string c = nft_comment(entry->second->comment); !c.empty()) {
          std::vector<std::uint8_t> udata{kCommentType, static_cast<std::uint8_t>(c.size() + 1)};
          udata.insert(udata.end(), c.begin(), c.end());
          udata.push_back(0);
          batch.attr(NFTA_SET_ELEM_USERDATA, udata.data(), udata.size());
        }
      }
      batch.end_nest(elem);
    }
    batch.end_nest(list);
    batch.end_message(at);
  };
  std::uint64_t added = 0;
  auto it = queued.begin();
  while (it != queued.end()) {
    const std::string set = it->first.set_name();
    std::vector<const std::pair<const SetKey, std::optional<SetElement>>*> chunk;
    bool any_addition = false;
    while (it != queued.end() && it->first.set_name() == set && chunk.size() < kElementsPerMessage) {
      any_addition = any_addition || it->second.has_value();
      added += it->second ? 1 : 0;
      chunk.push_back(&*it++);
    }
    message(NFT_MSG_NEWSETELEM, set, chunk, false, false);
    message(NFT_MSG_DELSETELEM, set, chunk, false, false);
    if (any_addition) message(NFT_MSG_NEWSETELEM, set, chunk, true, true);
  }
  const std::size_t end = batch.begin_message(NFNL_MSG_BATCH_END, NLM_F_REQUEST, ++seq_, AF_UNSPEC,
                                              NFNL_SUBSYS_NFTABLES);
  batch.end_message(end);

  auto sent = send_batch(batch.bytes, first_seq + 1, messages);
  if (!sent.ok()) {
    ++stats_.failed_commits;
    return fail(where + ": " + sent.error());
  }
  ++stats_.commits;
  stats_.elements_added += added;
  stats_.elements_removed += queued.size() - added;
  return {};
}

// Sends the batch and reads one answer per acknowledged message (sequence numbers from
// `first_seq`). The kernel applies all or nothing; the first error is the reason.
Status<std::string> NetlinkSetWriter::send_batch(const std::vector<std::uint8_t>& batch, std::uint32_t first_seq,
                                                 std::uint32_t messages) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  const ssize_t n = ::sendto(fd_, batch.data(), batch.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  if (n < 0 || static_cast<std::size_t>(n) != batch.size()) return fail(std::string("sending: ") + std::strerror(errno));
  std::uint32_t answers = 0;
  int first_error = 0;
  while (answers < messages) {
    const ssize_t got = ::recv(fd_, receive_buffer_.data(), receive_buffer_.size(), first_error ? MSG_DONTWAIT : 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (first_error) break;  // the kernel said why; what it did not answer after that is moot
      return fail(errno == EAGAIN || errno == EWOULDBLOCK ? "no answer from the kernel within 2 s"
                                                          : std::string("receiving: ") + std::strerror(errno));
    }
    for (std::size_t at = 0; at + sizeof(nlmsghdr) <= static_cast<std::size_t>(got);) {
      nlmsghdr h;
      std::memcpy(&h, &receive_buffer_[at], sizeof h);
      if (h.nlmsg_len < sizeof h || at + h.nlmsg_len > static_cast<std::size_t>(got)) break;
      // Answers to an earlier batch that failed before all were read are skipped.
      if (h.nlmsg_type == NLMSG_ERROR && h.nlmsg_seq >= first_seq && h.nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
        int error = 0;
        std::memcpy(&error, &receive_buffer_[at + NLMSG_HDRLEN], sizeof error);
        ++answers;
        if (error != 0 && first_error == 0) first_error = -error;
      }
      at += NLMSG_ALIGN(h.nlmsg_len);
    }
  }
  if (first_error != 0) return fail(errno_name(first_error));
  return {};
}

}  // namespace pbxwall::packets
