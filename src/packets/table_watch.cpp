#include "packets/table_watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <optional>
#include <utility>

#include "kernel/netlink_exchange.h"
#include "packets/netlink_receive.h"

namespace pbxwall::packets {

namespace {

// Every table, chain, rule, set and element message starts with the table's name (attribute
// 1 of each); chains carry their name in 3, rules their chain in 2, sets their name in 2,
// element lists their set in 2.
constexpr std::uint16_t kTableAttr = 1;

struct Attributes {
  std::vector<const nlattr*> by_type = std::vector<const nlattr*>(16, nullptr);
};

Attributes attributes_of(const nlmsghdr* nlh) {
  Attributes out;
  mnl_attr_parse(
      nlh, sizeof(nfgenmsg),
      [](const nlattr* a, void* data) -> int {
        auto* attrs = static_cast<Attributes*>(data);
        const auto type = mnl_attr_get_type(a);
        if (type < attrs->by_type.size()) attrs->by_type[type] = a;
        return MNL_CB_OK;
      },
      &out);
  return out;
}

std::string string_of(const nlattr* a) {
  if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_NUL_STRING) != 0) return {};
  return mnl_attr_get_str(a);
}

std::uint32_t be32_of(const nlattr* a) {
  if (a == nullptr || mnl_attr_validate(a, MNL_TYPE_U32) != 0) return 0;
  return ntohl(mnl_attr_get_u32(a));
}

template <typename Visit>
void for_each_nested(const nlattr* nest, Visit visit) {
  if (nest == nullptr) return;
  const auto* payload = static_cast<const char*>(mnl_attr_get_payload(nest));
  const char* end = payload + mnl_attr_get_payload_len(nest);
  for (const auto* a = reinterpret_cast<const nlattr*>(payload);
       mnl_attr_ok(a, static_cast<int>(end - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a))
    visit(a);
}

// The key bytes of each element of an element list.
std::vector<std::vector<std::uint8_t>> element_keys(const nlattr* list) {
  std::vector<std::vector<std::uint8_t>> keys;
  for_each_nested(list, [&](const nlattr* element) {
    if (mnl_attr_get_type(element) != NFTA_LIST_ELEM) return;
    for_each_nested(element, [&](const nlattr* field) {
      if (mnl_attr_get_type(field) != NFTA_SET_ELEM_KEY) return;
      for_each_nested(field, [&](const nlattr* value) {
        if (mnl_attr_get_type(value) != NFTA_DATA_VALUE) return;
        const auto* p = static_cast<const std::uint8_t*>(mnl_attr_get_payload(value));
        keys.emplace_back(p, p + mnl_attr_get_payload_len(value));
      });
    });
  });
  return keys;
}

}  // namespace

std::vector<std::vector<std::uint8_t>> element_keys_of(const nlmsghdr* message) {
  if (mnl_nlmsg_get_payload_len(message) < sizeof(nfgenmsg)) return {};
  return element_keys(attributes_of(message).by_type[NFTA_SET_ELEM_LIST_ELEMENTS]);
}

TableNotificationParser::TableNotificationParser(std::string family, std::string table)
    : family_(family == "ip" ? NFPROTO_IPV4 : family == "ip6" ? NFPROTO_IPV6 : NFPROTO_INET), table_(std::move(table)) {}

void TableNotificationParser::feed(const nlmsghdr* nlh, const Done& done) {
  if ((nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES || mnl_nlmsg_get_payload_len(nlh) < sizeof(nfgenmsg)) return;
  const int type = nlh->nlmsg_type & 0xff;
  const auto* gen = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  const Attributes attrs = attributes_of(nlh);
  if (type == NFT_MSG_NEWGEN) {
    current_.generation = be32_of(attrs.by_type[NFTA_GEN_ID]);
    current_.process_id = be32_of(attrs.by_type[NFTA_GEN_PROC_PID]);
    current_.process_name = string_of(attrs.by_type[NFTA_GEN_PROC_NAME]);
    current_.portid = nlh->nlmsg_pid;
    if (touched_) done(current_);
    current_ = TableTransaction{};
    touched_ = false;
    return;
  }
  TableChange change;
  switch (type) {
    case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE: change.object = TableChange::Object::table; break;
    case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN: change.object = TableChange::Object::chain; break;
    case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE: change.object = TableChange::Object::rule; break;
    case NFT_MSG_NEWSET: case NFT_MSG_DELSET: change.object = TableChange::Object::set; break;
    case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM: change.object = TableChange::Object::elements; break;
    case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ: case NFT_MSG_NEWFLOWTABLE: case NFT_MSG_DELFLOWTABLE:
      change.object = TableChange::Object::other;
      break;
    default: return;  // queries and their answers
  }
  change.deleted = type == NFT_MSG_DELTABLE || type == NFT_MSG_DELCHAIN || type == NFT_MSG_DELRULE ||
                   type == NFT_MSG_DELSET || type == NFT_MSG_DELSETELEM || type == NFT_MSG_DELOBJ ||
                   type == NFT_MSG_DELFLOWTABLE;
  const std::string table = string_of(attrs.by_type[kTableAttr]);
  current_.portid = nlh->nlmsg_pid;
  if (table != table_ || gen->nfgen_family != family_) {
    if (change.object == TableChange::Object::table && change.deleted) ++current_.other_tables_deleted;
    return;
  }
  touched_ = true;
  switch (change.object) {
    case TableChange::Object::table:
      change.dormant = (be32_of(attrs.by_type[NFTA_TABLE_FLAGS]) & NFT_TABLE_F_DORMANT) != 0;
      break;
    case TableChange::Object::chain: change.name = string_of(attrs.by_type[NFTA_CHAIN_NAME]); break;
    case TableChange::Object::rule: change.name = string_of(attrs.by_type[NFTA_RULE_CHAIN]); break;
    case TableChange::Object::set: change.name = string_of(attrs.by_type[NFTA_SET_NAME]); break;
    case TableChange::Object::elements:
      change.name = string_of(attrs.by_type[NFTA_SET_ELEM_LIST_SET]);
      change.keys = element_keys(attrs.by_type[NFTA_SET_ELEM_LIST_ELEMENTS]);
      break;
    case TableChange::Object::other: break;
  }
  current_.changes.push_back(std::move(change));
}

void TableNotificationParser::feed_buffer(const void* data, std::size_t size, const Done& done) {
  int left = static_cast<int>(size);
  for (const auto* nlh = static_cast<const nlmsghdr*>(data); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
    feed(nlh, done);
}

void TableNotificationParser::lost(const Done& done) {
  current_ = TableTransaction{};
  touched_ = false;
  TableTransaction unknown;
  unknown.incomplete = true;
  done(unknown);
}

Result<std::unique_ptr<TableWatch>> TableWatch::open() {
  mnl_socket* socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  if (socket == nullptr) return fail(errno_text("nftables notifications: netlink socket"));
  if (mnl_socket_bind(socket, 0, MNL_SOCKET_AUTOPID) != 0) {
    const std::string why = errno_text("nftables notifications: binding");
    mnl_socket_close(socket);
    return fail(why);
  }
  int group = NFNLGRP_NFTABLES;
  if (mnl_socket_setsockopt(socket, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
    const std::string why = errno_text("nftables notifications: joining the nftables group");
    mnl_socket_close(socket);
    return fail(why);
  }
  // A whole-table apply notifies every element of the table: room for large transactions.
  if (auto st = prepare_netlink_socket(mnl_socket_get_fd(socket), 8 * 1024 * 1024, "nftables notifications"); !st.ok()) {
    mnl_socket_close(socket);
    return fail(st.error());
  }
  mnl_socket* query = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
  const timeval answer_timeout{2, 0};
  if (query == nullptr || mnl_socket_bind(query, 0, MNL_SOCKET_AUTOPID) != 0 ||
      setsockopt(mnl_socket_get_fd(query), SOL_SOCKET, SO_RCVTIMEO, &answer_timeout, sizeof answer_timeout) != 0) {
    const std::string why = errno_text("nftables notifications: generation socket");
    if (query != nullptr) mnl_socket_close(query);
    mnl_socket_close(socket);
    return fail(why);
  }
  return std::unique_ptr<TableWatch>(new TableWatch(socket, query));
}

TableWatch::TableWatch(mnl_socket* socket, mnl_socket* query)
    : socket_(socket), query_(query), buffer_(MNL_SOCKET_BUFFER_SIZE * 4) {}

TableWatch::~TableWatch() {
  mnl_socket_close(query_);
  mnl_socket_close(socket_);
}

int TableWatch::fd() const { return mnl_socket_get_fd(socket_); }

Status<std::string> TableWatch::drain(const TableNotificationParser::Done& done) {
  // Bounded per call, so a storm of notifications cannot hold the event loop.
  constexpr std::size_t kMaxMessages = 4096;
  const std::uint64_t overruns_before = overruns_;
  auto st = receive_pending(
      fd(), buffer_, kMaxMessages,
      [&](char* data, int size) {
        parser_.feed_buffer(data, static_cast<std::size_t>(size), done);
        return 0;
      },
      [] { return false; }, ReceiveCounters{overruns_, malformed_}, "nftables notifications");
  if (overruns_ != overruns_before) parser_.lost(done);
  return st;
}

Result<std::uint32_t> TableWatch::generation() {
  std::vector<char> request(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = nftnl_nlmsg_build_hdr(request.data(), NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK, ++seq_);
  std::optional<std::uint32_t> id;
  std::vector<char> answer(MNL_SOCKET_BUFFER_SIZE);
  auto st = kernel::netlink_exchange(query_, nlh, answer, [&](const nlmsghdr* m) {
    if ((m->nlmsg_type & 0xff) != NFT_MSG_NEWGEN) return;
    const nlattr* a = attributes_of(m).by_type[NFTA_GEN_ID];
    if (a != nullptr && mnl_attr_validate(a, MNL_TYPE_U32) == 0) id = ntohl(mnl_attr_get_u32(a));
  });
  if (!st.ok()) return fail(std::string("nftables generation: ") + std::strerror(st.error()));
  if (!id) return fail(std::string("nftables generation: no NFTA_GEN_ID in the answer"));
  return *id;
}

bool TableWatch::join(bool member) {
  int group = NFNLGRP_NFTABLES;
  const int option = member ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP;
  if (mnl_socket_setsockopt(socket_, option, &group, sizeof group) != 0) return false;
  member_ = member;
  return true;
}

void TableWatch::unheard(const std::function<void()>& own_change) {
  // Read before leaving: a transaction between the two is still heard, and counted.
  const auto before = generation();
  if (!before.ok() || !join(false)) {
    own_change();  // heard as always
    return;
  }
  own_change();
  const bool joined = join(true);
  const auto after = generation();
  // One transaction (the daemon's) or none (refused): nothing else happened unheard.
  if (!joined || !after.ok() || (*after != *before && *after != *before + 1)) unheard_ = true;
}

bool TableWatch::take_unheard() {
  if (!member_ && !join(true)) return true;
  return std::exchange(unheard_, false);
}

Status<std::string> UnheardApplier::apply(std::string_view script) {
  if (watch_ == nullptr) return inner_.apply(script);
  Status<std::string> applied;
  watch_->unheard([&] { applied = inner_.apply(script); });
  return applied;
}

Status<std::string> UnheardSetUpdater::commit() {
  if (watch_ == nullptr || inner_.pending() < kUnheardFrom) return inner_.commit();
  Status<std::string> committed;
  watch_->unheard([&] { committed = inner_.commit(); });
  return committed;
}

}  // namespace pbxwall::packets
