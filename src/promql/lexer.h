// The PromQL lexer: turns a query string into tokens, the way Prometheus' lexer does, including
// its context sensitivity (label names inside `{}`, durations inside `[]`). Stateless apart
// from the input; a Lexer object is used by one thread.
//
// Invariant: the token list always ends with exactly one kEOF or kError token; a kError token
// carries the lexer's message in `text`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace xscaler::promql {

enum class TokenType {
  kEOF,
  kError,
  kIdentifier,
  kMetricIdentifier,  // an identifier containing ':'
  kNumber,
  kDuration,
  kString,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kAssign,  // '=' in label matchers
  kColon,
  kAt,
  // Operators.
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kEqlc,  // ==
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,
  kEqlRegex,
  kNeqRegex,
  kLand,
  kLor,
  kLunless,
  kAtan2,
  // Aggregators.
  kAvg,
  kBottomk,
  kCount,
  kCountValues,
  kGroup,
  kMax,
  kMin,
  kQuantile,
  kStddev,
  kStdvar,
  kSum,
  kTopk,
  kLimitk,
  kLimitRatio,
  // Keywords.
  kOffset,
  kBy,
  kWithout,
  kOn,
  kIgnoring,
  kGroupLeft,
  kGroupRight,
  kBool,
  kStart,
  kEnd,
};

struct Token {
  TokenType type;
  std::string text;  // source text (for kError: the message)
  int pos = 0;       // byte offset of the token's start in the input
};

bool IsAggregator(TokenType t);
bool IsOperator(TokenType t);
bool IsKeyword(TokenType t);
bool IsComparison(TokenType t);
bool IsSetOperator(TokenType t);
// Prometheus' description of a token in error messages, e.g. `"+"` -> `<op:+>`, identifiers as
// `identifier "foo"`, end of input as `end of input`.
std::string DescribeToken(const Token& t);
// The source spelling of an operator/aggregator/keyword ("+", "sum", "offset", ...).
std::string_view TokenSpelling(TokenType t);

std::vector<Token> Lex(std::string_view input);

// True when `word` (case-insensitively) lexes as a keyword, operator word, aggregator, Inf or
// NaN rather than as an identifier.
bool IsKeywordWord(std::string_view word);

}  // namespace xscaler::promql
