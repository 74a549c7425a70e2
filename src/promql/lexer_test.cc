#include "promql/lexer.h"

#include <gtest/gtest.h>

namespace xscaler::promql {
namespace {

std::vector<TokenType> Types(std::string_view in) {
  std::vector<TokenType> out;
  for (const auto& t : Lex(in)) out.push_back(t.type);
  return out;
}

using T = TokenType;

TEST(Lexer, NumbersAndDurations) {
  auto toks = Lex("1 1.5 .5 1e3 0x1F Inf nan 5m 1h30m 100ms");
  ASSERT_EQ(toks.size(), 11u);
  for (int i = 0; i < 7; ++i) EXPECT_EQ(toks[i].type, T::kNumber) << toks[i].text;
  for (int i = 7; i < 10; ++i) EXPECT_EQ(toks[i].type, T::kDuration) << toks[i].text;
  EXPECT_EQ(toks[4].text, "0x1F");
  EXPECT_EQ(toks[8].text, "1h30m");
  EXPECT_EQ(toks[10].type, T::kEOF);
  EXPECT_EQ(Lex("5x").front().type, T::kError);
}

TEST(Lexer, SelectorsAndBrackets) {
  EXPECT_EQ(Types("foo{a=\"b\",c!~'d'}[5m:1m] offset 1m @ start()"),
            (std::vector<T>{T::kIdentifier, T::kLeftBrace,  T::kIdentifier,   T::kAssign,
                            T::kString,     T::kComma,      T::kIdentifier,   T::kNeqRegex,
                            T::kString,     T::kRightBrace, T::kLeftBracket,  T::kDuration,
                            T::kColon,      T::kDuration,   T::kRightBracket, T::kOffset,
                            T::kDuration,   T::kAt,         T::kStart,        T::kLeftParen,
                            T::kRightParen, T::kEOF}));
  // Keywords are plain label names inside braces.
  EXPECT_EQ(Types("{by=\"x\"}"), (std::vector<T>{T::kLeftBrace, T::kIdentifier, T::kAssign,
                                                 T::kString, T::kRightBrace, T::kEOF}));
  EXPECT_EQ(Lex("job:rate5m").front().type, T::kMetricIdentifier);
  EXPECT_EQ(Lex(":foo").front().type, T::kMetricIdentifier);
}

TEST(Lexer, OperatorsKeywordsComments) {
  EXPECT_EQ(
      Types("a == bool b # trailing comment\n and on(x) group_left c ^ d atan2 e"),
      (std::vector<T>{T::kIdentifier, T::kEqlc, T::kBool, T::kIdentifier, T::kLand, T::kOn,
                      T::kLeftParen, T::kIdentifier, T::kRightParen, T::kGroupLeft, T::kIdentifier,
                      T::kPow, T::kIdentifier, T::kAtan2, T::kIdentifier, T::kEOF}));
  EXPECT_EQ(Lex("SUM").front().type, T::kSum);  // keywords are case-insensitive
}

TEST(Lexer, StringsAndErrors) {
  auto s = Lex(R"("a\"b" `raw"x` 'c')");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].text, R"("a\"b")");
  EXPECT_EQ(s[1].text, "`raw\"x`");
  auto unterminated = Lex("\"abc");
  EXPECT_EQ(unterminated.back().type, T::kError);
  EXPECT_EQ(unterminated.back().text, "unterminated quoted string");
  EXPECT_EQ(Lex("foo{a=\"b\"").back().text, "unexpected end of input inside braces");
  EXPECT_EQ(Lex("foo{a%}").back().text, "unexpected character inside braces: '%'");
  EXPECT_EQ(Lex("a ! b").back().text, "unexpected character after '!': ' '");
}

}  // namespace
}  // namespace xscaler::promql
