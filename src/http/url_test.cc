#include "http/url.h"

#include "gtest/gtest.h"

namespace xscaler::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndPlus) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("%7B__name__%3D%22up%22%7D", false), "{__name__=\"up\"}");
}

TEST(PercentDecode, KeepsMalformedEscapes) {
  EXPECT_EQ(PercentDecode("100%", false), "100%");
  EXPECT_EQ(PercentDecode("%zz%4", false), "%zz%4");
}

TEST(ParseFormEncoded, KeepsRepeatedKeysInOrder) {
  std::multimap<std::string, std::string> out;
  ParseFormEncoded("match%5B%5D=up&&match[]=foo%7Bjob%3D%22a%22%7D&start=1&flag", out);
  auto [lo, hi] = out.equal_range("match[]");
  ASSERT_EQ(std::distance(lo, hi), 2);
  EXPECT_EQ(lo->second, "up");
  EXPECT_EQ(std::next(lo)->second, "foo{job=\"a\"}");
  EXPECT_EQ(out.find("start")->second, "1");
  EXPECT_EQ(out.find("flag")->second, "");
  EXPECT_EQ(out.size(), 4u);
}

}  // namespace
}  // namespace xscaler::http
