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

// Three failures are free; then each check of the address waits 1 s, 2 s, 4 s, ... after the
// last failure; one check at a time per address; five checks a minute for everyone together.
TEST(LoginThrottle, FailuresGrowTheAddresssDelayAndChecksHaveACeilingPerMinute) {
  using Turn = LoginThrottle::Turn;
  SimulatedClock clock;
  LoginThrottle throttle(clock, LoginThrottle::Limits{.checks_per_minute = 5});
  const std::string a = "127.0.0.1", b = "192.0.2.7";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(throttle.try_turn(a), Turn::check);
    EXPECT_EQ(throttle.try_turn(a), Turn::wait);  // its own check is running
    throttle.done(a, false);
  }
  ASSERT_EQ(throttle.try_turn(a), Turn::check);  // the third failure was the last free one
  throttle.done(a, false);
  EXPECT_EQ(throttle.try_turn(a), Turn::wait);
  clock.advance(std::chrono::milliseconds(999));
  EXPECT_EQ(throttle.try_turn(a), Turn::wait);
  clock.advance(std::chrono::milliseconds(1));
  ASSERT_EQ(throttle.try_turn(a), Turn::check);  // 1 s after the fourth failure
  throttle.done(a, false);
  clock.advance(std::chrono::milliseconds(1999));
  EXPECT_EQ(throttle.try_turn(a), Turn::wait);  // 2 s after the fifth
  clock.advance(std::chrono::milliseconds(1));
  // Five checks in this minute already: everyone waits, the other address too.
  EXPECT_EQ(throttle.try_turn(a), Turn::wait);
  EXPECT_EQ(throttle.try_turn(b), Turn::wait);
  EXPECT_EQ(throttle.checks(), 5u);
  clock.advance(std::chrono::seconds(60));
  ASSERT_EQ(throttle.try_turn(b), Turn::check);
  throttle.done(b, true);
  ASSERT_EQ(throttle.try_turn(a), Turn::check);
  throttle.done(a, true);  // the right password: the address starts over
  ASSERT_EQ(throttle.try_turn(a), Turn::check);
  throttle.done(a, false);
}

TEST(LoginThrottle, TheDelayStopsGrowingAtItsCeiling) {
  using Turn = LoginThrottle::Turn;
  SimulatedClock clock;
  LoginThrottle throttle(clock, LoginThrottle::Limits{.checks_per_minute = 1000});
  for (int i = 0; i < 20; ++i) {
    clock.advance(std::chrono::seconds(30));
    ASSERT_EQ(throttle.try_turn("127.0.0.1"), Turn::check) << "failure " << i;
    throttle.done("127.0.0.1", false);
  }
}

}  // namespace
}  // namespace pbxwall::http
