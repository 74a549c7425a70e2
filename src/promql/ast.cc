#include "promql/ast.h"

#include <cmath>

#include "promql/functions.h"

namespace xscaler::promql {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone:
      return "none";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

ValueType ValueTypeOf(const Expr& e) {
  struct V {
    ValueType operator()(const NumberLiteral&) { return ValueType::kScalar; }
    ValueType operator()(const StringLiteral&) { return ValueType::kString; }
    ValueType operator()(const VectorSelector&) { return ValueType::kVector; }
    ValueType operator()(const MatrixSelector&) { return ValueType::kMatrix; }
    ValueType operator()(const SubqueryExpr&) { return ValueType::kMatrix; }
    ValueType operator()(const ParenExpr& p) { return ValueTypeOf(*p.expr); }
    ValueType operator()(const UnaryExpr& u) { return ValueTypeOf(*u.expr); }
    ValueType operator()(const BinaryExpr& b) {
      if (ValueTypeOf(*b.lhs) == ValueType::kScalar && ValueTypeOf(*b.rhs) == ValueType::kScalar)
        return ValueType::kScalar;
      return ValueType::kVector;
    }
    ValueType operator()(const AggregateExpr&) { return ValueType::kVector; }
    ValueType operator()(const Call& c) { return c.func->return_type; }
  };
  return std::visit(V{}, e.node);
}

const Expr& Unparen(const Expr& e) {
  const Expr* cur = &e;
  while (const auto* p = cur->As<ParenExpr>()) cur = p->expr.get();
  return *cur;
}

namespace {

bool PtrEqual(const ExprPtr& a, const ExprPtr& b) {
  if (!a || !b) return !a && !b;
  return AstEqual(*a, *b);
}

bool MatchersEqual(const std::vector<labels::Matcher>& a, const std::vector<labels::Matcher>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type() != b[i].type() || a[i].name() != b[i].name() || a[i].value() != b[i].value())
      return false;
  }
  return true;
}

struct EqVisitor {
  const Expr& other;
  bool operator()(const NumberLiteral& x) {
    const auto& y = *other.As<NumberLiteral>();
    return x.value == y.value || (std::isnan(x.value) && std::isnan(y.value));
  }
  bool operator()(const StringLiteral& x) { return x == *other.As<StringLiteral>(); }
  bool operator()(const VectorSelector& x) {
    const auto& y = *other.As<VectorSelector>();
    return x.name == y.name && MatchersEqual(x.matchers, y.matchers) &&
           x.offset_ms == y.offset_ms && x.at == y.at;
  }
  bool operator()(const MatrixSelector& x) {
    const auto& y = *other.As<MatrixSelector>();
    return x.range_ms == y.range_ms && PtrEqual(x.selector, y.selector);
  }
  bool operator()(const SubqueryExpr& x) {
    const auto& y = *other.As<SubqueryExpr>();
    return x.range_ms == y.range_ms && x.step_ms == y.step_ms && x.offset_ms == y.offset_ms &&
           x.at == y.at && PtrEqual(x.expr, y.expr);
  }
  bool operator()(const ParenExpr& x) { return PtrEqual(x.expr, other.As<ParenExpr>()->expr); }
  bool operator()(const UnaryExpr& x) {
    const auto& y = *other.As<UnaryExpr>();
    return x.op == y.op && PtrEqual(x.expr, y.expr);
  }
  bool operator()(const BinaryExpr& x) {
    const auto& y = *other.As<BinaryExpr>();
    return x.op == y.op && x.return_bool == y.return_bool && x.matching == y.matching &&
           PtrEqual(x.lhs, y.lhs) && PtrEqual(x.rhs, y.rhs);
  }
  bool operator()(const AggregateExpr& x) {
    const auto& y = *other.As<AggregateExpr>();
    return x.op == y.op && x.without == y.without && x.grouping == y.grouping &&
           PtrEqual(x.expr, y.expr) && PtrEqual(x.param, y.param);
  }
  bool operator()(const Call& x) {
    const auto& y = *other.As<Call>();
    if (x.func != y.func || x.args.size() != y.args.size()) return false;
    for (size_t i = 0; i < x.args.size(); ++i) {
      if (!PtrEqual(x.args[i], y.args[i])) return false;
    }
    return true;
  }
};

}  // namespace

bool AstEqual(const Expr& a, const Expr& b) {
  if (a.node.index() != b.node.index()) return false;
  return std::visit(EqVisitor{b}, a.node);
}

}  // namespace xscaler::promql
