#include "promql/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace xscaler::promql {
namespace {

using labels::MatchType;

TEST(ParseMetricSelector, NameOnly) {
  auto m = ParseMetricSelector("up");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].name(), "__name__");
  EXPECT_EQ((*m)[0].value(), "up");
  EXPECT_EQ((*m)[0].type(), MatchType::kEqual);
}

TEST(ParseMetricSelector, NameAndMatchers) {
  auto m = ParseMetricSelector(R"(http_requests_total{a="b",c!~"d.*", e!="f", g=~'h',})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ((*m)[1].ToString(), R"(a="b")");
  EXPECT_EQ((*m)[2].type(), MatchType::kRegexNoMatch);
  EXPECT_EQ((*m)[3].type(), MatchType::kNotEqual);
  EXPECT_EQ((*m)[4].type(), MatchType::kRegexMatch);
  EXPECT_EQ((*m)[4].value(), "h");
}

TEST(ParseMetricSelector, NameMatcherOnly) {
  auto m = ParseMetricSelector(R"({__name__=~"x.*"})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_TRUE((*m)[0].Matches("xyz"));
  EXPECT_FALSE((*m)[0].Matches("y"));
}

TEST(ParseMetricSelector, KeywordsAsNamesAndLabels) {
  auto m = ParseMetricSelector(R"(sum{by="x", on="y"})");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 3u);
  auto q = ParseMetricSelector(R"({"my.metric", "label.with.dots"="v"})");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ((*q)[0].value(), "my.metric");
  EXPECT_EQ((*q)[1].name(), "label.with.dots");
}

TEST(ParseMetricSelector, RejectsAllEmptyMatchers) {
  for (const char* in : {"{}", R"({a=""})", R"({a=~".*"})", R"({a!="x"})"}) {
    auto m = ParseMetricSelector(in);
    ASSERT_FALSE(m.ok()) << in;
    EXPECT_EQ(m.status().message(),
              "1:1: parse error: vector selector must contain at least one non-empty matcher")
        << in;
  }
}

TEST(ParseMetricSelector, Errors) {
  EXPECT_EQ(ParseMetricSelector("foo{a}").status().message(),
            "1:6: parse error: unexpected \"}\" in label matching, expected label matching "
            "operator");
  EXPECT_EQ(ParseMetricSelector("foo{a=b}").status().message(),
            "1:7: parse error: unexpected identifier \"b\" in label matching, expected string");
  EXPECT_EQ(ParseMetricSelector("foo + bar").status().message(),
            "1:5: parse error: unexpected <op:+>");
  EXPECT_EQ(ParseMetricSelector("").status().message(),
            "1:1: parse error: unexpected end of input");
  EXPECT_FALSE(ParseMetricSelector("foo{a=\"b\"").ok());
  EXPECT_FALSE(ParseMetricSelector("foo{a=~\"(\"}").ok());
  EXPECT_FALSE(ParseMetricSelector("foo{__name__=\"bar\"}").ok());
  EXPECT_FALSE(ParseMetricSelector("rate(foo[5m])").ok());
  EXPECT_FALSE(ParseMetricSelector("foo[5m]").ok());
}

TEST(ParseDuration, Units) {
  EXPECT_EQ(*ParseDuration("1h30m"), 5400000);
  EXPECT_EQ(*ParseDuration("100ms"), 100);
  EXPECT_EQ(*ParseDuration("1y2w3d"), (365 + 14 + 3) * 86400000LL);
  EXPECT_FALSE(ParseDuration("30m1h").ok());
  EXPECT_FALSE(ParseDuration("5x").ok());
  EXPECT_FALSE(ParseDuration("").ok());
}

TEST(UnquoteString, Escapes) {
  EXPECT_EQ(*UnquoteString(R"("a\nb\t\"\\")"), "a\nb\t\"\\");
  EXPECT_EQ(*UnquoteString(R"('it\'s')"), "it's");
  EXPECT_EQ(*UnquoteString(R"("\x41\u00e9\101")"),
            "A\xc3\xa9"
            "A");
  EXPECT_EQ(*UnquoteString(R"(`raw\n`)"), "raw\\n");
  EXPECT_FALSE(UnquoteString(R"("\q")").ok());
}

}  // namespace
}  // namespace xscaler::promql
