// Address arithmetic for interval sets: addresses as 128-bit integers, and the text nft reads
// for a range (a CIDR when the range is one, else "first-last").
#pragma once

#include <string>

#include "base/address.h"

namespace pbxwall::ruleset::detail {

__extension__ typedef unsigned __int128 u128;  // GCC/Clang extension; -Wpedantic needs the marker

u128 to_u128(const IpAddress& a);
IpAddress from_u128(u128 v, Family family);
std::string range_text(const IpAddress& first, const IpAddress& last);

}  // namespace pbxwall::ruleset::detail
