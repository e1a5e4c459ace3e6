// Making arbitrary text safe as an nftables element comment.
#pragma once

#include <string>
#include <string_view>

namespace pbxwall::packets {

// nft 1.0.6 limits comments to 128 bytes and its string syntax has no escapes. The result
// has double quotes replaced by single quotes, control characters and invalid UTF-8 bytes
// replaced by '?' or spaces, and is cut to at most `max_bytes` bytes at a character boundary.
std::string nft_comment(std::string_view text, std::size_t max_bytes = 128);

}  // namespace pbxwall::packets
