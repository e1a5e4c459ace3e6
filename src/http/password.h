// The admin password of the web UI: an Argon2id hash (libsodium crypto_pwhash_str) in a file
// readable by root only. There is no default password; `pbxwall passwd` writes the file.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace pbxwall::http {

inline constexpr std::size_t kMinPasswordLength = 8;

// The work an Argon2id hash costs: passes over memory and the memory used. The cost is stored
// in the hash string, so verifying a hash costs what hashing it did.
struct PasswordCost {
  unsigned long long passes;
  std::size_t memory_bytes;
};
// libsodium's "interactive" limits (crypto_pwhash_OPSLIMIT/MEMLIMIT_INTERACTIVE): the cost of
// every password an administrator sets.
inline constexpr PasswordCost kStrongPasswordCost{2, 64u << 20};
// Argon2id's minimum (1 pass, 8 KiB): for tests that log in many times, never for a real
// password.
inline constexpr PasswordCost kCheapestPasswordCost{1, 8u << 10};

// Errors: sodium could not start, the password is shorter than kMinPasswordLength, the cost is
// below kCheapestPasswordCost, or hashing ran out of memory.
Result<std::string> hash_password(std::string_view password, PasswordCost cost = kStrongPasswordCost);
bool verify_password(const std::string& hash, std::string_view password);

// Writes the hash to `path` with mode 0600 (temporary file, fsync, rename).
Status<std::string> write_password_file(const std::string& path, const std::string& hash);
// The stored hash; an error when the file is missing (no password set) or malformed.
Result<std::string> read_password_file(const std::string& path);

}  // namespace pbxwall::http
