#include "base/result.h"

#include <gtest/gtest.h>

namespace pbxwall {
namespace {

Result<int> half(int x) {
  if (x % 2) return fail(std::string("odd: ") + std::to_string(x));
  return x / 2;
}

TEST(Result, CarriesValueOrError) {
  auto a = half(8);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 4);
  auto b = half(7);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), "odd: 7");
}

TEST(Status, DefaultsToSuccess) {
  Status<> s;
  EXPECT_TRUE(s.ok());
  Status<> f = fail(std::string("nope"));
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.error(), "nope");
}

}  // namespace
}  // namespace pbxwall
