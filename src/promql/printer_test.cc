#include "promql/printer.h"

#include <gtest/gtest.h>

#include "promql/parser.h"

namespace xscaler::promql {
namespace {

std::string Canon(std::string_view q) {
  auto e = ParseExpr(q);
  if (!e.ok()) return "ERROR: " + std::string(e.status().message());
  return Print(**e);
}

TEST(Printer, Canonical) {
  struct Case {
    const char* in;
    const char* out;
  } cases[] = {
      {"foo", "foo"},
      {"foo{a='b', c!~\"d\"}", "foo{a=\"b\",c!~\"d\"}"},
      {"{__name__=\"foo\"}", "{__name__=\"foo\"}"},
      {"foo[5m]", "foo[5m]"},
      {"foo[90m] offset 1h30m", "foo[1h30m] offset 1h30m"},
      {"foo offset -5m @ 100", "foo @ 100.000 offset -5m"},
      {"foo @ start()", "foo @ start()"},
      {"rate(foo[5m])[30m:1m] @ end()", "rate(foo[5m])[30m:1m] @ end()"},
      {"foo[1h:]", "foo[1h:]"},
      {"sum by(a,b)(foo)", "sum by (a, b) (foo)"},
      {"sum(foo) without (a)", "sum without (a) (foo)"},
      {"topk(5, foo)", "topk(5, foo)"},
      {"count_values(\"v\", foo)", "count_values(\"v\", foo)"},
      {"a + on(x) group_left(y) b", "a + on (x) group_left (y) b"},
      {"a > bool ignoring(x) b", "a > bool ignoring (x) b"},
      {"a and b or c unless d", "a and b or c unless d"},
      {"1 + 2 * 3", "1 + 2 * 3"},
      {"-foo", "-foo"},
      {"-1", "-1"},
      {"1e6", "1e+06"},
      {"0x10", "16"},
      {"Inf", "+Inf"},
      {"-inf", "-Inf"},
      {"NaN", "NaN"},
      {".5", "0.5"},
      {"(foo)", "(foo)"},
      {"label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")",
       "label_replace(foo, \"a\", \"$1\", \"b\", \"(.*)\")"},
      {"time()", "time()"},
      {"round(foo, 5,)", "round(foo, 5)"},
      {"foo[300]", "foo[5m]"},
      {"\"a\\nb\"", "\"a\\nb\""},
      {"`raw\\`", "\"raw\\\\\""},
  };
  for (const auto& c : cases) EXPECT_EQ(Canon(c.in), c.out) << c.in;
}

TEST(Printer, Precedence) {
  // The printed form must re-parse to the same tree even without parentheses.
  for (const char* q : {"a - b - c", "a ^ b ^ c", "-a ^ b", "a * -b", "a or b and c",
                        "a == bool b + c", "2 ^ -1", "-(1)", "- - foo", "a / on() b"}) {
    auto e = ParseExpr(q);
    ASSERT_TRUE(e.ok()) << q << ": " << e.status();
    auto again = ParseExpr(Print(**e));
    ASSERT_TRUE(again.ok()) << Print(**e);
    EXPECT_TRUE(AstEqual(**e, **again)) << q << " -> " << Print(**e);
  }
  auto pow = ParseExpr("a ^ b ^ c");
  const auto* b = (*pow)->As<BinaryExpr>();
  ASSERT_NE(b, nullptr);
  EXPECT_NE(b->rhs->As<BinaryExpr>(), nullptr);  // right-associative
  auto sub = ParseExpr("a - b - c");
  EXPECT_NE((*sub)->As<BinaryExpr>()->lhs->As<BinaryExpr>(), nullptr);  // left-associative
  auto neg = ParseExpr("-a ^ b");
  EXPECT_NE((*neg)->As<UnaryExpr>(), nullptr);
  auto neg2 = ParseExpr("-a * b");
  EXPECT_NE((*neg2)->As<BinaryExpr>(), nullptr);
}

TEST(Printer, Helpers) {
  EXPECT_EQ(FormatFloatG(0.0001), "0.0001");
  EXPECT_EQ(FormatFloatG(0.00001), "1e-05");
  EXPECT_EQ(FormatFloatG(123456), "123456");
  EXPECT_EQ(FormatFloatG(1234567), "1.234567e+06");
  EXPECT_EQ(FormatFloatG(-2.5), "-2.5");
  EXPECT_EQ(FormatDuration(90 * 86400000LL), "90d");
  EXPECT_EQ(FormatDuration(14 * 86400000LL), "2w");
  EXPECT_EQ(FormatDuration(1500), "1s500ms");
  EXPECT_EQ(QuoteString("a\"b\\\xff"), "\"a\\\"b\\\\\\xff\"");
}

TEST(Parser, Errors) {
  struct Case {
    const char* in;
    const char* msg;
  } cases[] = {
      {"", "1:1: parse error: no expression found in input"},
      {"foo +", "1:6: parse error: unexpected end of input"},
      {"1 > 2", "1:3: parse error: comparisons between scalars must use BOOL modifier"},
      {"foo + bool bar",
       "1:1: parse error: bool modifier can only be used on comparison operators"},
      {"rate(foo)",
       "1:6: parse error: expected type range vector in call to function \"rate\", got instant "
       "vector"},
      {"nope(foo)", "1:1: parse error: unknown function with name \"nope\""},
      {"round()", "1:1: parse error: expected at least 1 argument(s) in call to \"round\", got 0"},
      {"round(a, 1, 2)",
       "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"},
      {"time(1)", "1:1: parse error: expected 0 argument(s) in call to \"time\", got 1"},
      {"sum(foo[5m])",
       "1:5: parse error: expected type instant vector in aggregation expression, got range "
       "vector"},
      {"topk(foo)",
       "1:1: parse error: wrong number of arguments for aggregate expression provided, expected "
       "2, got 1"},
      {"foo and 1",
       "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"},
      {"foo and on(a) group_left b", "1:1: parse error: no grouping allowed for \"and\" operation"},
      {"(foo)[5m]", "1:1: parse error: ranges only allowed for vector selectors"},
      {"foo offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"},
      {"foo @ 1 @ 2", "1:9: parse error: @ <timestamp> may not be set multiple times"},
      {"foo[5m][5m]", "1:1: parse error: ranges only allowed for vector selectors"},
      {"foo[5m][5m:]",
       "1:1: parse error: subquery is only allowed on instant vector, got range vector instead"},
      {"-foo[5m]",
       "1:1: parse error: unary expression only allowed on expressions of type scalar or instant "
       "vector, got \"range vector\""},
      {"foo[5m] + 1",
       "1:1: parse error: binary expression must contain only scalar and instant vector types"},
      {"foo{a=\"b\"", "1:10: parse error: unexpected end of input inside braces"},
      {"foo{a=~\"(\"}", ""},
      {"(foo", "1:5: parse error: unclosed left parenthesis"},
      {"foo)", "1:4: parse error: unexpected right parenthesis ')'"},
      {"1 + $", "1:5: parse error: unexpected character: '$'"},
      {"\"abc", "1:1: parse error: unterminated quoted string"},
      {"foo[5x]", "1:5: parse error: bad number or duration syntax: \"5x\""},
      {"sum by (foo) (bar) by (baz)", "1:20: parse error: unexpected <by> in aggregation"},
      {"a + on(x) group_left(x) b",
       "1:1: parse error: label \"x\" must not occur in ON and GROUP clause at once"},
      {"1 + on(x) foo", "1:1: parse error: vector matching only allowed between instant vectors"},
  };
  for (const auto& c : cases) {
    auto e = ParseExpr(c.in);
    ASSERT_FALSE(e.ok()) << c.in;
    if (c.msg[0] != '\0') {
      EXPECT_EQ(std::string(e.status().message()), std::string(c.msg)) << c.in;
    }
  }
}

TEST(Parser, Types) {
  EXPECT_EQ(ValueTypeOf(**ParseExpr("1 + 2")), ValueType::kScalar);
  EXPECT_EQ(ValueTypeOf(**ParseExpr("foo + 2")), ValueType::kVector);
  EXPECT_EQ(ValueTypeOf(**ParseExpr("foo[1m:]")), ValueType::kMatrix);
  EXPECT_EQ(ValueTypeOf(**ParseExpr("\"s\"")), ValueType::kString);
  EXPECT_EQ(ValueTypeOf(**ParseExpr("scalar(foo)")), ValueType::kScalar);
  auto e = ParseExpr("foo and bar");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->As<BinaryExpr>()->matching->card, Cardinality::kManyToMany);
  auto s = ParseExpr("1 + foo");
  EXPECT_FALSE((*s)->As<BinaryExpr>()->matching.has_value());
  auto kw = ParseExpr("sum without(on, by) (bool{start=\"1\"})");
  ASSERT_TRUE(kw.ok()) << kw.status();
  EXPECT_EQ((*kw)->As<AggregateExpr>()->grouping, (std::vector<std::string>{"on", "by"}));
}

}  // namespace
}  // namespace xscaler::promql
