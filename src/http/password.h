// The admin password of the web UI: an Argon2id hash (libsodium crypto_pwhash_str) in a file
// readable by root only. There is no default password; `pbxwall passwd` writes the file.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace pbxwall::http {

inline constexpr std::size_t kMinPasswordLength = 8;

// Errors: sodium could not start, the password is shorter than kMinPasswordLength, or hashing
// ran out of memory.
Result<std::string> hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

// Writes the hash to `path` with mode 0600 (temporary file, fsync, rename).
Status<std::string> write_password_file(const std::string& path, const std::string& hash);
// The stored hash; an error when the file is missing (no password set) or malformed.
Result<std::string> read_password_file(const std::string& path);

}  // namespace pbxwall::http
