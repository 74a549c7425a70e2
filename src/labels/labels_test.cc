#include "labels/labels.h"

#include <gtest/gtest.h>

#include <set>

#include "labels/matcher.h"

namespace xscaler::labels {
namespace {

TEST(LabelsTest, SortsDedupsAndDropsEmptyValues) {
  Labels l({{"b", "2"}, {"a", "1"}, {"b", "3"}, {"c", ""}});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.items()[0], (Label{"a", "1"}));
  EXPECT_EQ(l.items()[1], (Label{"b", "3"}));
  EXPECT_EQ(l.Get("b"), "3");
  EXPECT_EQ(l.Get("c"), "");
}

TEST(LabelsTest, ToStringMatchesPrometheus) {
  EXPECT_EQ((Labels{{"__name__", "up"}}).ToString(), "up");
  EXPECT_EQ((Labels{{"__name__", "up"}, {"job", "a\"b"}}).ToString(), "up{job=\"a\\\"b\"}");
  EXPECT_EQ((Labels{{"job", "x"}, {"i", "y"}}).ToString(), "{i=\"y\", job=\"x\"}");
  EXPECT_EQ(Labels().ToString(), "{}");
}

TEST(LabelsTest, HashDistinguishesBoundaries) {
  Labels a{{"a", "bc"}};
  Labels b{{"ab", "c"}};
  EXPECT_NE(a.Hash(), b.Hash());
  EXPECT_EQ(a.Hash(), (Labels{{"a", "bc"}}).Hash());
}

TEST(LabelsTest, BuilderOverridesAndDeletes) {
  Labels base{{"a", "1"}, {"b", "2"}};
  Labels l = LabelsBuilder(base).Set("a", "9").Del("b").Set("c", "3").Build();
  EXPECT_EQ(l, (Labels{{"a", "9"}, {"c", "3"}}));
}

TEST(LabelsTest, NameValidity) {
  EXPECT_TRUE(IsValidMetricName("http_requests_total"));
  EXPECT_TRUE(IsValidMetricName("a:b"));
  EXPECT_FALSE(IsValidMetricName("1abc"));
  EXPECT_FALSE(IsValidMetricName("a.b"));
  EXPECT_TRUE(IsValidLabelName("_x1"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(MatcherTest, AllFourTypes) {
  auto eq = *Matcher::Create(MatchType::kEqual, "a", "x");
  auto ne = *Matcher::Create(MatchType::kNotEqual, "a", "x");
  auto re = *Matcher::Create(MatchType::kRegexMatch, "a", "x|y.*");
  auto nre = *Matcher::Create(MatchType::kRegexNoMatch, "a", "x|y.*");
  EXPECT_TRUE(eq.Matches("x"));
  EXPECT_FALSE(eq.Matches("xx"));
  EXPECT_TRUE(ne.Matches(""));
  EXPECT_TRUE(re.Matches("yzz"));
  EXPECT_FALSE(re.Matches("zx"));  // anchored
  EXPECT_TRUE(nre.Matches("zx"));
  EXPECT_TRUE(nre.MatchesEmpty());
  EXPECT_FALSE(re.MatchesEmpty());
  EXPECT_EQ(re.ToString(), "a=~\"x|y.*\"");
}

TEST(MatcherTest, BadRegexIsAnError) {
  auto m = Matcher::Create(MatchType::kRegexMatch, "a", "(");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("invalid regular expression"), std::string::npos);
}

}  // namespace
}  // namespace xscaler::labels

namespace xscaler::labels {
namespace {

TEST(LabelsTest, FromSortedEqualsSortingConstructor) {
  Labels a = Labels::FromSorted({{"a", "1"}, {"b", "2"}});
  Labels b({{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.Hash(), b.Hash());
}

TEST(LabelsTest, HashSpreadsLongAndShortValues) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    seen.insert(Labels{{"__name__", "m"}, {"instance", "host-" + std::to_string(i) + ":9100"}}.Hash());
  }
  EXPECT_EQ(seen.size(), 10000u);
  EXPECT_NE((Labels{{"a", "12345678x"}}).Hash(), (Labels{{"a", "12345678y"}}).Hash());
}

}  // namespace
}  // namespace xscaler::labels

namespace xscaler::labels {
namespace {

TEST(LabelsTest, LargeSetsSortAndDedupLikeSmallOnes) {
  std::vector<Label> many;
  for (int i = 40; i >= 0; --i) many.push_back({"l" + std::to_string(i), "v" + std::to_string(i)});
  many.push_back({"l7", "last"});
  many.push_back({"l8", ""});  // a later empty value removes the label
  Labels l(many);
  ASSERT_EQ(l.size(), 40u);
  EXPECT_EQ(l.Get("l7"), "last");
  EXPECT_FALSE(l.Has("l8"));
  for (size_t i = 1; i < l.size(); ++i) EXPECT_LT(l.items()[i - 1].name, l.items()[i].name);
}

}  // namespace
}  // namespace xscaler::labels
