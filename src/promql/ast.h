// The PromQL abstract syntax tree. Built by the parser (parser.h), printed by the printer
// (printer.h), evaluated by the engine (engine.h). Nodes are immutable after parsing and may be
// read from many threads.
//
// Invariants the parser guarantees: every node is type-checked (ValueTypeOf never returns
// kNone for a parsed tree); a VectorSelector has at least one matcher that does not match the
// empty string, and its metric name (if written as an identifier) is also its first matcher.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "labels/matcher.h"
#include "promql/lexer.h"

namespace xscaler::promql {

struct FunctionSig;

enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };
std::string_view ValueTypeName(ValueType t);  // "scalar", "instant vector", "range vector", ...

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// `@` modifier: absent, a fixed timestamp, or the query's start()/end().
enum class AtKind { kNone, kTimestamp, kStart, kEnd };

struct AtModifier {
  AtKind kind = AtKind::kNone;
  int64_t timestamp_ms = 0;  // for kTimestamp
  friend bool operator==(const AtModifier&, const AtModifier&) = default;
};

struct NumberLiteral {
  double value = 0;
};
struct StringLiteral {
  std::string value;
  friend bool operator==(const StringLiteral&, const StringLiteral&) = default;
};

struct VectorSelector {
  std::string name;  // the metric name when written as `name{...}`, else ""
  std::vector<labels::Matcher> matchers;
  int64_t offset_ms = 0;
  AtModifier at;
};

struct MatrixSelector {
  ExprPtr selector;  // a VectorSelector; carries offset and @
  int64_t range_ms = 0;
};

struct SubqueryExpr {
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0: the engine's default evaluation interval
  int64_t offset_ms = 0;
  AtModifier at;
};

struct ParenExpr {
  ExprPtr expr;
};

struct UnaryExpr {
  TokenType op;  // kSub or kAdd
  ExprPtr expr;
};

enum class Cardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  Cardinality card = Cardinality::kOneToOne;
  std::vector<std::string> matching_labels;
  bool on = false;                   // on(...) rather than ignoring(...)
  std::vector<std::string> include;  // group_left/right extra labels
  friend bool operator==(const VectorMatching&, const VectorMatching&) = default;
};

struct BinaryExpr {
  TokenType op;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  // Present when both sides are vectors (set operators always have many-to-many).
  std::optional<VectorMatching> matching;
};

struct AggregateExpr {
  TokenType op;
  ExprPtr expr;
  ExprPtr param;  // topk/bottomk/quantile/count_values/limitk/limit_ratio only
  std::vector<std::string> grouping;
  bool without = false;
};

struct Call {
  const FunctionSig* func = nullptr;
  std::vector<ExprPtr> args;
};

struct Expr {
  std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, SubqueryExpr,
               ParenExpr, UnaryExpr, BinaryExpr, AggregateExpr, Call>
      node;
  int pos_start = 0;  // byte range in the source, for error messages
  int pos_end = 0;

  template <typename T>
  const T* As() const {
    return std::get_if<T>(&node);
  }
  template <typename T>
  T* As() {
    return std::get_if<T>(&node);
  }
};

template <typename T>
ExprPtr MakeExpr(T node, int start = 0, int end = 0) {
  auto e = std::make_unique<Expr>();
  e->node = std::move(node);
  e->pos_start = start;
  e->pos_end = end;
  return e;
}

ValueType ValueTypeOf(const Expr& e);

// Structural equality, ignoring source positions; NaN literals equal each other.
bool AstEqual(const Expr& a, const Expr& b);

// The expression inside any ParenExpr wrappers.
const Expr& Unparen(const Expr& e);

}  // namespace xscaler::promql
