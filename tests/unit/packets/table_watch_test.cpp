// TableNotificationParser over notifications built as the kernel sends them: grouped per
// transaction (closed by NEWGEN, which names the process), limited to our table, element keys
// read back into SetKeys.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

#include "packets/netlink_set_writer.h"
#include "packets/set_reader.h"
#include "packets/table_watch.h"

namespace pbxwall::packets {
namespace {

// Notifications in one buffer, as one recv() returns them.
class Notifications {
 public:
  Notifications() : buffer_(64 * 1024) {}

  Notifications& table(int type, const char* name, std::uint8_t family = NFPROTO_INET, std::uint32_t flags = 0) {
    nftnl_table* t = nftnl_table_alloc();
    nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
    if (flags != 0) nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, flags);
    nlmsghdr* nlh = header(type, family);
    nftnl_table_nlmsg_build_payload(nlh, t);
    nftnl_table_free(t);
    return next(nlh);
  }
  Notifications& chain(int type, const char* name) {
    nftnl_chain* c = nftnl_chain_alloc();
    nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, "pbxwall");
    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
    nlmsghdr* nlh = header(type, NFPROTO_INET);
    nftnl_chain_nlmsg_build_payload(nlh, c);
    nftnl_chain_free(c);
    return next(nlh);
  }
  Notifications& elements(int type, const char* set, const std::vector<SetKey>& keys) {
    nftnl_set* s = nftnl_set_alloc();
    nftnl_set_set_str(s, NFTNL_SET_TABLE, "pbxwall");
    nftnl_set_set_str(s, NFTNL_SET_NAME, set);
    for (const auto& k : keys) {
      nftnl_set_elem* e = nftnl_set_elem_alloc();
      const auto bytes = nft_key_bytes(k);
      nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, bytes.data(), static_cast<std::uint32_t>(bytes.size()));
      nftnl_set_elem_add(s, e);
    }
    nlmsghdr* nlh = header(type, NFPROTO_INET);
    nftnl_set_elems_nlmsg_build_payload(nlh, s);
    nftnl_set_free(s);
    return next(nlh);
  }
  Notifications& generation(std::uint32_t id, std::uint32_t pid, const char* name) {
    nlmsghdr* nlh = header(NFT_MSG_NEWGEN, AF_UNSPEC);
    mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(id));
    mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID, htonl(pid));
    mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, name);
    return next(nlh);
  }
  Notifications& from_port(std::uint32_t portid) {
    portid_ = portid;
    return *this;
  }

  std::vector<TableTransaction> parse(TableNotificationParser& parser) const {
    std::vector<TableTransaction> out;
    parser.feed_buffer(buffer_.data(), used_, [&](const TableTransaction& t) { out.push_back(t); });
    return out;
  }

 private:
  nlmsghdr* header(int type, std::uint8_t family) {
    auto* nlh = nftnl_nlmsg_build_hdr(buffer_.data() + used_, static_cast<std::uint16_t>(type), family, 0, 1);
    nlh->nlmsg_pid = portid_;
    return nlh;
  }
  Notifications& next(nlmsghdr* nlh) {
    used_ += NLMSG_ALIGN(nlh->nlmsg_len);
    return *this;
  }
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint32_t portid_ = 4242;
};

const IpAddress kScanner = *IpAddress::parse("192.0.2.66");
const IpAddress kPhone6 = *IpAddress::parse("2001:db8::10");

TEST(TableNotificationParser, FlushRulesetIsOneTransactionNamingTheProcessAndTheOtherTables) {
  TableNotificationParser parser;
  const auto ts = Notifications()
                      .elements(NFT_MSG_DELSETELEM, "blocked4", {SetKey::blocked(kScanner)})
                      .table(NFT_MSG_DELTABLE, "pbxwall")
                      .table(NFT_MSG_DELTABLE, "filter", NFPROTO_IPV4)
                      .table(NFT_MSG_DELTABLE, "nat", NFPROTO_INET)
                      .generation(8, 19972, "nft")
                      .parse(parser);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].generation, 8u);
  EXPECT_EQ(ts[0].process_id, 19972u);
  EXPECT_EQ(ts[0].process_name, "nft");
  EXPECT_EQ(ts[0].portid, 4242u);
  EXPECT_EQ(ts[0].other_tables_deleted, 2u);
  ASSERT_EQ(ts[0].changes.size(), 2u);
  EXPECT_EQ(ts[0].changes[0].object, TableChange::Object::elements);
  EXPECT_TRUE(ts[0].changes[0].deleted);
  EXPECT_EQ(ts[0].changes[0].name, "blocked4");
  ASSERT_EQ(ts[0].changes[0].keys.size(), 1u);
  EXPECT_EQ(set_key_of("blocked4", ts[0].changes[0].keys[0]), SetKey::blocked(kScanner));
  EXPECT_EQ(ts[0].changes[1].object, TableChange::Object::table);
  EXPECT_TRUE(ts[0].changes[1].deleted);
}

TEST(TableNotificationParser, TransactionsOfOtherTablesAreNotReported) {
  TableNotificationParser parser;
  const auto ts = Notifications()
                      .table(NFT_MSG_NEWTABLE, "filter", NFPROTO_INET)
                      .generation(3, 100, "nft")
                      .chain(NFT_MSG_DELCHAIN, "input")
                      .table(NFT_MSG_NEWTABLE, "pbxwall", NFPROTO_INET, NFT_TABLE_F_DORMANT)
                      .generation(4, 101, "nft")
                      .parse(parser);
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_EQ(ts[0].generation, 4u);
  ASSERT_EQ(ts[0].changes.size(), 2u);
  EXPECT_EQ(ts[0].changes[0].object, TableChange::Object::chain);
  EXPECT_EQ(ts[0].changes[0].name, "input");
  EXPECT_TRUE(ts[0].changes[1].dormant);
}

TEST(TableNotificationParser, ATableOfTheSameNameInAnotherFamilyIsNotOurs) {
  TableNotificationParser parser;
  EXPECT_TRUE(Notifications().table(NFT_MSG_DELTABLE, "pbxwall", NFPROTO_IPV4).generation(5, 1, "nft").parse(parser).empty());
}

TEST(TableNotificationParser, LostNotificationsGiveAnIncompleteTransaction) {
  TableNotificationParser parser;
  std::vector<TableTransaction> ts;
  Notifications().chain(NFT_MSG_DELCHAIN, "input").parse(parser);  // no NEWGEN yet
  parser.lost([&](const TableTransaction& t) { ts.push_back(t); });
  ASSERT_EQ(ts.size(), 1u);
  EXPECT_TRUE(ts[0].incomplete);
  // The half-read transaction was dropped: its NEWGEN alone reports nothing.
  EXPECT_TRUE(Notifications().generation(9, 1, "nft").parse(parser).empty());
}

TEST(SetKeyOf, ReadsTheKeysOfEveryResponsiveSet) {
  for (const auto& key : {SetKey::blocked(kScanner), SetKey::validated(kPhone6), SetKey::grant(kPhone6, IPPROTO_TCP, 443),
                          SetKey::grant(kScanner, IPPROTO_UDP, 5060)})
    EXPECT_EQ(set_key_of(key.set_name(), nft_key_bytes(key)), key) << key.set_name();
  EXPECT_FALSE(set_key_of("trusted4", nft_key_bytes(SetKey::blocked(kScanner))));
  EXPECT_FALSE(set_key_of("blocked6", nft_key_bytes(SetKey::blocked(kScanner))));  // 4 bytes for a v6 set
  EXPECT_TRUE(is_responsive_set("grants6"));
  EXPECT_FALSE(is_responsive_set("flood4"));
}

}  // namespace
}  // namespace pbxwall::packets
