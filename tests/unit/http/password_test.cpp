#include "http/password.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "http/sessions.h"

namespace pbxwall::http {
namespace {

// The one strong hash of the suite (each hash or check of it takes 64 MiB and a good part of a second):
// the default cost is libsodium's interactive one.
TEST(Password, DefaultCostIsStrong) {
  auto hash = hash_password("correct horse");
  ASSERT_TRUE(hash.ok()) << hash.error();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=65536,t=2,", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
}

TEST(Password, HashVerifiesOnlyTheSamePassword) {
  auto hash = hash_password("correct horse", kCheapestPasswordCost);
  ASSERT_TRUE(hash.ok()) << hash.error();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=8,t=1,", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horsf"));
  EXPECT_FALSE(verify_password("", "correct horse"));
  auto below = hash_password("correct horse", {1, 4096});
  ASSERT_FALSE(below.ok());
  EXPECT_NE(below.error().find("minimum"), std::string::npos);
}

TEST(Password, ShortPasswordsAreRefused) {
  auto hash = hash_password("short");
  ASSERT_FALSE(hash.ok());
  EXPECT_NE(hash.error().find("at least 8"), std::string::npos);
}

TEST(Password, FileIsPrivateAndRoundTrips) {
  const auto path = std::filesystem::temp_directory_path() / ("pbxwall-pw-" + std::to_string(::getpid()));
  auto hash = hash_password("correct horse", kCheapestPasswordCost);
  ASSERT_TRUE(hash.ok());
  ASSERT_TRUE(write_password_file(path.string(), *hash).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto read = read_password_file(path.string());
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(*read, *hash);
  std::filesystem::remove(path);
  auto missing = read_password_file(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("pbxwall passwd"), std::string::npos);
}

TEST(Sessions, ExpireAfterTheirLifetime) {
  SimulatedClock clock;
  SessionTable table(clock, std::chrono::minutes(10));
  const Session s = table.open("192.0.2.1");
  EXPECT_EQ(s.id.size(), 64u);
  EXPECT_NE(s.id, s.csrf);
  EXPECT_TRUE(table.find(s.id).has_value());
  clock.advance(std::chrono::minutes(11));
  EXPECT_FALSE(table.find(s.id).has_value());
}

TEST(LoginLimiter, FifthFailureInAMinuteBlocksUntilTheMinutePasses) {
  SimulatedClock clock;
  LoginLimiter limiter(clock, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(limiter.allowed("192.0.2.1"));
    limiter.failed("192.0.2.1");
  }
  EXPECT_FALSE(limiter.allowed("192.0.2.1"));
  EXPECT_TRUE(limiter.allowed("192.0.2.2"));
  clock.advance(std::chrono::seconds(61));
  EXPECT_TRUE(limiter.allowed("192.0.2.1"));
}

}  // namespace
}  // namespace pbxwall::http
