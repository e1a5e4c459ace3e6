#include "http/password.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace pbxwall::http {

static_assert(kStrongPasswordCost.passes == crypto_pwhash_OPSLIMIT_INTERACTIVE &&
              kStrongPasswordCost.memory_bytes == crypto_pwhash_MEMLIMIT_INTERACTIVE);
static_assert(kCheapestPasswordCost.passes == crypto_pwhash_argon2id_OPSLIMIT_MIN &&
              kCheapestPasswordCost.memory_bytes == crypto_pwhash_argon2id_MEMLIMIT_MIN);

Result<std::string> hash_password(std::string_view password, PasswordCost cost) {
  if (sodium_init() < 0) return fail(std::string("libsodium could not be initialised"));
  if (password.size() < kMinPasswordLength)
    return fail("the password must have at least " + std::to_string(kMinPasswordLength) + " characters");
  if (cost.passes < kCheapestPasswordCost.passes || cost.memory_bytes < kCheapestPasswordCost.memory_bytes)
    return fail(std::string("password cost below Argon2id's minimum (1 pass, 8 KiB)"));
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.passes, cost.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0)
    return fail(std::string("hashing the password ran out of memory"));
  return std::string(out);
}

bool verify_password(const std::string& hash, std::string_view password) {
  if (sodium_init() < 0 || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Status<std::string> write_password_file(const std::string& path, const std::string& hash) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(tmp + ": " + std::strerror(errno));
  const std::string line = hash + "\n";
  const bool written = ::fchmod(fd, 0600) == 0 &&
                       ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!written) {
    ::unlink(tmp.c_str());
    return fail(tmp + ": " + std::strerror(saved));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return fail(path + ": " + std::strerror(e));
  }
  return {};
}

Result<std::string> read_password_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(path + ": no admin password is set (run `pbxwall passwd` on the server)");
  std::string hash;
  std::getline(in, hash);
  if (hash.rfind("$argon2", 0) != 0) return fail(path + ":1: not a password hash written by `pbxwall passwd`");
  return hash;
}

}  // namespace pbxwall::http
