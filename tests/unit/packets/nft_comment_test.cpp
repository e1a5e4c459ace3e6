#include "packets/nft_comment.h"

#include <gtest/gtest.h>

namespace pbxwall::packets {
namespace {

TEST(NftComment, PlainTextUnchanged) {
  EXPECT_EQ(nft_comment("svwar fingerprint: User-Agent friendly-scanner"),
            "svwar fingerprint: User-Agent friendly-scanner");
  EXPECT_EQ(nft_comment(""), "");
}

TEST(NftComment, QuotesAndControlCharactersReplaced) {
  EXPECT_EQ(nft_comment("User-Agent \"sipcli\"\nline2\t!"), "User-Agent 'sipcli' line2 !");
  EXPECT_EQ(nft_comment(std::string("a\0b", 3)), "a b");
}

TEST(NftComment, CutAtByteLimit) {
  const std::string long_text(300, 'x');
  EXPECT_EQ(nft_comment(long_text).size(), 128u);
  EXPECT_EQ(nft_comment(long_text, 10), std::string(10, 'x'));
}

TEST(NftComment, NeverCutsInsideACharacter) {
  // "é" is 2 bytes, "日" is 3 bytes: with a 5-byte limit "aé" (3) fits, "aé日" (6) does not.
  EXPECT_EQ(nft_comment("aé日本", 5), "aé");
  EXPECT_EQ(nft_comment("aé日本", 6), "aé日");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "日";
  const std::string cut = nft_comment(many);
  EXPECT_EQ(cut.size(), 126u);  // 42 whole characters; a 43rd would need 129 bytes
  EXPECT_EQ(cut.substr(0, 3), "日");
}

TEST(NftComment, InvalidUtf8BytesReplaced) {
  EXPECT_EQ(nft_comment("a\xff" "b"), "a?b");
  EXPECT_EQ(nft_comment("\xc3"), "?");               // truncated sequence
  EXPECT_EQ(nft_comment("\xc0\xaf"), "??");          // overlong "/"
  EXPECT_EQ(nft_comment("\xed\xa0\x80"), "???");     // UTF-16 surrogate
  EXPECT_EQ(nft_comment("\xf4\x90\x80\x80"), "????");  // above U+10FFFF
}

}  // namespace
}  // namespace pbxwall::packets
