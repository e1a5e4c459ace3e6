// Keys as the kernel stores them, for the netlink set writer (its batches are checked against
// the kernel in tests/netns/packets).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "packets/netlink_set_writer.h"

namespace pbxwall::packets {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(NftKeyBytes, AddressesInNetworkOrder) {
  EXPECT_EQ(nft_key_bytes(SetKey::blocked(*IpAddress::parse("192.0.2.7"))), (Bytes{192, 0, 2, 7}));
  EXPECT_EQ(nft_key_bytes(SetKey::validated(*IpAddress::parse("2001:db8::1"))),
            (Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}));
}

TEST(NftKeyBytes, ConcatenationFieldsArePaddedToFourBytes) {
  EXPECT_EQ(nft_key_bytes(SetKey::grant(*IpAddress::parse("198.51.100.9"), IPPROTO_UDP, 5060)),
            (Bytes{198, 51, 100, 9, IPPROTO_UDP, 0, 0, 0, 0x13, 0xc4, 0, 0}));
  const auto v6 = nft_key_bytes(SetKey::grant(*IpAddress::parse("2001:db8::2"), IPPROTO_TCP, 5061));
  ASSERT_EQ(v6.size(), 24u);
  EXPECT_EQ(v6[15], 2);
  EXPECT_EQ((Bytes(v6.begin() + 16, v6.end())), (Bytes{IPPROTO_TCP, 0, 0, 0, 0x13, 0xc5, 0, 0}));
}

}  // namespace
}  // namespace pbxwall::packets
