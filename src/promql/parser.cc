#include "promql/parser.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "labels/labels.h"
#include "promql/functions.h"

namespace xscaler::promql {
namespace {

// Internal only: unwinds the recursive descent to ParseExpr, which turns it into a Status.
struct ParseFailure {
  int pos;
  std::string msg;
};

[[noreturn]] void Fail(int pos, std::string msg) { throw ParseFailure{pos, std::move(msg)}; }

int Precedence(TokenType t) {
  switch (t) {
    case TokenType::kLor:
      return 1;
    case TokenType::kLand:
    case TokenType::kLunless:
      return 2;
    case TokenType::kEqlc:
    case TokenType::kNeq:
    case TokenType::kLte:
    case TokenType::kLss:
    case TokenType::kGte:
    case TokenType::kGtr:
      return 3;
    case TokenType::kAdd:
    case TokenType::kSub:
      return 4;
    case TokenType::kMul:
    case TokenType::kDiv:
    case TokenType::kMod:
    case TokenType::kAtan2:
      return 5;
    case TokenType::kPow:
      return 6;
    default:
      return 0;
  }
}

bool AggregatorTakesParam(TokenType t) {
  return t == TokenType::kTopk || t == TokenType::kBottomk || t == TokenType::kQuantile ||
         t == TokenType::kCountValues || t == TokenType::kLimitk || t == TokenType::kLimitRatio;
}

// Identifier-like tokens usable as label names in grouping clauses and as metric names.
bool IsWordToken(const Token& t) {
  if (t.type == TokenType::kIdentifier) return true;
  if (IsKeyword(t.type) || IsAggregator(t.type) || IsSetOperator(t.type) ||
      t.type == TokenType::kAtan2)
    return true;
  return false;
}

// Go's strconv.ParseInt(s, 0, 64) then ParseFloat, as Prometheus' number() does.
double ParseNumber(const std::string& s, int pos) {
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "+inf") return std::numeric_limits<double>::infinity();
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (lower.size() > 2 && lower[0] == '0' && lower[1] == 'x') {
    errno = 0;
    unsigned long long v = std::strtoull(lower.c_str() + 2, nullptr, 16);
    if (errno == 0) return static_cast<double>(v);
  }
  bool octal = lower.size() > 1 && lower[0] == '0';
  for (char c : lower) {
    if (c < '0' || c > '7') octal = false;
  }
  if (octal) return static_cast<double>(std::strtoull(lower.c_str(), nullptr, 8));
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) Fail(pos, absl::StrFormat("error parsing number: %s", s));
  return v;
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), toks_(Lex(input)) {}

  ExprPtr ParseTop() {
    if (Peek().type == TokenType::kEOF) Fail(0, "no expression found in input");
    ExprPtr e = ParseBinary(1);
    if (Peek().type != TokenType::kEOF) Unexpected(Peek(), "");
    return e;
  }

  std::vector<labels::Matcher> ParseSelectorOnly() {
    if (Peek().type == TokenType::kEOF) Fail(0, "unexpected end of input");
    const Token& t = Peek();
    ExprPtr e;
    if (t.type == TokenType::kLeftBrace || t.type == TokenType::kIdentifier ||
        t.type == TokenType::kMetricIdentifier || IsWordToken(t)) {
      e = ParseSelector();
    } else {
      Unexpected(t, "");
    }
    if (Peek().type != TokenType::kEOF) Unexpected(Peek(), "");
    return std::move(e->As<VectorSelector>()->matchers);
  }

 private:
  const Token& Peek(size_t off = 0) const {
    size_t i = std::min(idx_ + off, toks_.size() - 1);
    return toks_[i];
  }
  const Token& Next() {
    const Token& t = toks_[idx_];
    if (idx_ + 1 < toks_.size()) ++idx_;
    if (t.type == TokenType::kError) Fail(t.pos, t.text);
    return t;
  }

  [[noreturn]] void Unexpected(const Token& t, std::string_view context,
                               std::string_view expected = "") {
    if (t.type == TokenType::kError) Fail(t.pos, t.text);
    std::string msg = "unexpected " + DescribeToken(t);
    if (!context.empty()) absl::StrAppend(&msg, " in ", std::string(context));
    if (!expected.empty()) absl::StrAppend(&msg, ", expected ", std::string(expected));
    Fail(t.pos, msg);
  }

  const Token& Expect(TokenType type, std::string_view context, std::string_view expected) {
    if (Peek().type != type) Unexpected(Peek(), context, expected);
    return Next();
  }

  ExprPtr ParseBinary(int min_prec) {
    ExprPtr lhs = ParseUnary();
    while (true) {
      const Token& op_tok = Peek();
      int prec = Precedence(op_tok.type);
      if (prec == 0 || prec < min_prec) break;
      TokenType op = op_tok.type;
      Next();
      bool return_bool = false;
      VectorMatching vm;
      bool has_matching = false;
      if (Peek().type == TokenType::kBool) {
        Next();
        return_bool = true;
      }
      if (Peek().type == TokenType::kOn || Peek().type == TokenType::kIgnoring) {
        vm.on = Next().type == TokenType::kOn;
        vm.matching_labels = ParseLabelList("grouping opts");
        has_matching = true;
        if (Peek().type == TokenType::kGroupLeft || Peek().type == TokenType::kGroupRight) {
          vm.card = Next().type == TokenType::kGroupLeft ? Cardinality::kManyToOne
                                                         : Cardinality::kOneToMany;
          if (Peek().type == TokenType::kLeftParen) vm.include = ParseLabelList("grouping opts");
        }
      }
      int next_min = op == TokenType::kPow ? prec : prec + 1;
      ExprPtr rhs = ParseBinary(next_min);
      lhs = MakeBinary(op, std::move(lhs), std::move(rhs), return_bool, has_matching, std::move(vm),
                       op_tok.pos);
    }
    return lhs;
  }

  ExprPtr MakeBinary(TokenType op, ExprPtr lhs, ExprPtr rhs, bool return_bool, bool has_matching,
                     VectorMatching vm, int op_pos) {
    ValueType lt = ValueTypeOf(*lhs), rt = ValueTypeOf(*rhs);
    int start = lhs->pos_start, end = rhs->pos_end;
    if (return_bool && !IsComparison(op)) {
      Fail(start, "bool modifier can only be used on comparison operators");
    }
    if (IsComparison(op) && !return_bool && lt == ValueType::kScalar && rt == ValueType::kScalar) {
      Fail(op_pos, "comparisons between scalars must use BOOL modifier");
    }
    for (const auto& l : vm.matching_labels) {
      for (const auto& inc : vm.include) {
        if (l == inc && vm.on) {
          Fail(start,
               absl::StrFormat("label \"%s\" must not occur in ON and GROUP clause at once", l));
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      Fail(lhs->pos_start, "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      Fail(rhs->pos_start, "binary expression must contain only scalar and instant vector types");
    }
    BinaryExpr b;
    b.op = op;
    b.return_bool = return_bool;
    if (lt == ValueType::kVector && rt == ValueType::kVector) {
      if (IsSetOperator(op)) {
        if (vm.card == Cardinality::kOneToMany || vm.card == Cardinality::kManyToOne) {
          Fail(start,
               absl::StrFormat("no grouping allowed for \"%s\" operation", TokenSpelling(op)));
        }
        vm.card = Cardinality::kManyToMany;
      }
      b.matching = std::move(vm);
    } else if (has_matching &&
               (!vm.matching_labels.empty() || vm.on || vm.card != Cardinality::kOneToOne)) {
      if (!vm.matching_labels.empty() || vm.card != Cardinality::kOneToOne) {
        Fail(start, "vector matching only allowed between instant vectors");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOperator(op)) {
      Fail(start, absl::StrFormat("set operator \"%s\" not allowed in binary scalar expression",
                                  TokenSpelling(op)));
    }
    b.lhs = std::move(lhs);
    b.rhs = std::move(rhs);
    return MakeExpr(std::move(b), start, end);
  }

  ExprPtr ParseUnary() {
    const Token& t = Peek();
    if (t.type == TokenType::kSub || t.type == TokenType::kAdd) {
      TokenType op = t.type;
      int start = t.pos;
      Next();
      ExprPtr operand = ParseBinary(Precedence(TokenType::kPow));
      if (auto* n = operand->As<NumberLiteral>()) {
        if (op == TokenType::kSub) n->value = -n->value;
        operand->pos_start = start;
        return operand;
      }
      ValueType vt = ValueTypeOf(*operand);
      if (vt != ValueType::kScalar && vt != ValueType::kVector) {
        Fail(start, absl::StrFormat("unary expression only allowed on expressions of type scalar "
                                    "or instant vector, got \"%s\"",
                                    ValueTypeName(vt)));
      }
      int end = operand->pos_end;
      return MakeExpr(UnaryExpr{op, std::move(operand)}, start, end);
    }
    return ParsePostfix(ParsePrimary());
  }

  int64_t ParseDurationToken(std::string_view context) {
    const Token& t = Peek();
    if (t.type == TokenType::kDuration) {
      Next();
      auto d = ParseDuration(t.text);
      if (!d.ok()) Fail(t.pos, std::string(d.status().message()));
      return *d;
    }
    if (t.type == TokenType::kNumber) {
      Next();
      double secs = ParseNumber(t.text, t.pos);
      if (!std::isfinite(secs) || std::abs(secs) > 9.2e15) {
        Fail(t.pos, absl::StrFormat("duration out of range: %s", t.text));
      }
      return static_cast<int64_t>(std::llround(secs * 1000));
    }
    Unexpected(t, context, "duration");
  }

  ExprPtr ParsePostfix(ExprPtr e) {
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kLeftBracket) {
        Next();
        int64_t range = ParseDurationToken("duration expression");
        if (Peek().type == TokenType::kColon) {
          Next();
          int64_t step = 0;
          if (Peek().type != TokenType::kRightBracket) step = ParseDurationToken("subquery");
          const Token& close = Expect(TokenType::kRightBracket, "subquery", "\"]\"");
          ValueType vt = ValueTypeOf(*e);
          if (vt != ValueType::kVector) {
            Fail(e->pos_start,
                 absl::StrFormat("subquery is only allowed on instant vector, got %s instead",
                                 ValueTypeName(vt)));
          }
          if (range <= 0) Fail(t.pos, "duration must be greater than 0");
          if (step < 0) Fail(t.pos, "step must be greater than 0");
          int start = e->pos_start;
          SubqueryExpr sq;
          sq.expr = std::move(e);
          sq.range_ms = range;
          sq.step_ms = step;
          e = MakeExpr(std::move(sq), start, close.pos + 1);
          continue;
        }
        const Token& close = Expect(TokenType::kRightBracket, "duration expression", "\"]\"");
        auto* vs = e->As<VectorSelector>();
        if (vs == nullptr) Fail(e->pos_start, "ranges only allowed for vector selectors");
        if (vs->offset_ms != 0 || offset_set_.count(e.get())) {
          Fail(e->pos_start, "no offset modifiers allowed before range");
        }
        if (vs->at.kind != AtKind::kNone) Fail(e->pos_start, "no @ modifiers allowed before range");
        if (range <= 0) Fail(t.pos, "duration must be greater than 0");
        int start = e->pos_start;
        MatrixSelector ms;
        ms.selector = std::move(e);
        ms.range_ms = range;
        e = MakeExpr(std::move(ms), start, close.pos + 1);
        continue;
      }
      if (t.type == TokenType::kOffset) {
        Next();
        bool neg = false;
        if (Peek().type == TokenType::kSub || Peek().type == TokenType::kAdd) {
          neg = Next().type == TokenType::kSub;
        }
        int64_t off = ParseDurationToken("offset");
        if (neg) off = -off;
        int64_t* target = OffsetTarget(*e);
        if (target == nullptr) {
          Fail(e->pos_start,
               "offset modifier must be preceded by an instant vector selector or range vector "
               "selector or a subquery");
        }
        if (*target != 0 || offset_set_.count(e.get())) {
          Fail(e->pos_start, "offset may not be set multiple times");
        }
        *target = off;
        offset_set_.insert(e.get());
        e->pos_end = Peek().pos;
        continue;
      }
      if (t.type == TokenType::kAt) {
        Next();
        AtModifier at;
        const Token& v = Peek();
        if (v.type == TokenType::kStart || v.type == TokenType::kEnd) {
          at.kind = v.type == TokenType::kStart ? AtKind::kStart : AtKind::kEnd;
          Next();
          Expect(TokenType::kLeftParen, "@", "\"(\"");
          Expect(TokenType::kRightParen, "@", "\")\"");
        } else {
          bool neg = false;
          if (Peek().type == TokenType::kSub || Peek().type == TokenType::kAdd) {
            neg = Next().type == TokenType::kSub;
          }
          const Token& num = Peek();
          double secs;
          if (num.type == TokenType::kNumber) {
            Next();
            secs = ParseNumber(num.text, num.pos);
          } else if (num.type == TokenType::kDuration) {
            secs = static_cast<double>(ParseDurationToken("@")) / 1000.0;
          } else {
            Unexpected(num, "@", "timestamp");
          }
          if (neg) secs = -secs;
          double ms = std::round(secs * 1000.0);
          if (!std::isfinite(secs) || ms > 9.2e18 || ms < -9.2e18) {
            Fail(t.pos, absl::StrFormat("timestamp out of bounds for @ modifier: %f", secs));
          }
          at.kind = AtKind::kTimestamp;
          at.timestamp_ms = static_cast<int64_t>(ms);
        }
        AtModifier* target = AtTarget(*e);
        if (target == nullptr) {
          Fail(e->pos_start,
               "@ modifier must be preceded by an instant vector selector or range vector "
               "selector or a subquery");
        }
        if (target->kind != AtKind::kNone)
          Fail(t.pos, "@ <timestamp> may not be set multiple times");
        *target = at;
        e->pos_end = Peek().pos;
        continue;
      }
      return e;
    }
  }

  static int64_t* OffsetTarget(Expr& e) {
    if (auto* vs = e.As<VectorSelector>()) return &vs->offset_ms;
    if (auto* ms = e.As<MatrixSelector>()) return &ms->selector->As<VectorSelector>()->offset_ms;
    if (auto* sq = e.As<SubqueryExpr>()) return &sq->offset_ms;
    return nullptr;
  }
  static AtModifier* AtTarget(Expr& e) {
    if (auto* vs = e.As<VectorSelector>()) return &vs->at;
    if (auto* ms = e.As<MatrixSelector>()) return &ms->selector->As<VectorSelector>()->at;
    if (auto* sq = e.As<SubqueryExpr>()) return &sq->at;
    return nullptr;
  }

  ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.type) {
      case TokenType::kNumber: {
        Next();
        return MakeExpr(NumberLiteral{ParseNumber(t.text, t.pos)}, t.pos,
                        t.pos + static_cast<int>(t.text.size()));
      }
      case TokenType::kDuration: {
        Next();
        auto d = ParseDuration(t.text);
        if (!d.ok()) Fail(t.pos, std::string(d.status().message()));
        return MakeExpr(NumberLiteral{static_cast<double>(*d) / 1000.0}, t.pos,
                        t.pos + static_cast<int>(t.text.size()));
      }
      case TokenType::kString: {
        Next();
        auto s = UnquoteString(t.text);
        if (!s.ok()) Fail(t.pos, std::string(s.status().message()));
        return MakeExpr(StringLiteral{*s}, t.pos, t.pos + static_cast<int>(t.text.size()));
      }
      case TokenType::kLeftParen: {
        Next();
        ExprPtr inner = ParseBinary(1);
        const Token& close = Expect(TokenType::kRightParen, "paren expression", "\")\"");
        return MakeExpr(ParenExpr{std::move(inner)}, t.pos, close.pos + 1);
      }
      case TokenType::kLeftBrace:
      case TokenType::kMetricIdentifier:
        return ParseSelector();
      case TokenType::kIdentifier:
        if (Peek(1).type == TokenType::kLeftParen) return ParseCall();
        return ParseSelector();
      default:
        break;
    }
    if (IsAggregator(t.type)) {
      TokenType n = Peek(1).type;
      if (n == TokenType::kLeftParen || n == TokenType::kBy || n == TokenType::kWithout) {
        return ParseAggregate();
      }
      return ParseSelector();
    }
    if (IsWordToken(t) && Peek(1).type == TokenType::kLeftBrace) return ParseSelector();
    Unexpected(t, "");
  }

  std::vector<std::string> ParseLabelList(std::string_view context) {
    Expect(TokenType::kLeftParen, context, "\"(\"");
    std::vector<std::string> out;
    while (true) {
      const Token& t = Peek();
      if (t.type == TokenType::kRightParen) {
        Next();
        return out;
      }
      bool word_number = t.type == TokenType::kNumber && !t.text.empty() &&
                         std::isalpha(static_cast<unsigned char>(t.text[0]));
      if (IsWordToken(t) || word_number || t.type == TokenType::kMetricIdentifier) {
        if (t.type == TokenType::kMetricIdentifier) {
          Fail(t.pos, absl::StrFormat("unexpected metric identifier \"%s\" in %s, expected label",
                                      t.text, context));
        }
        out.push_back(t.text);
        Next();
      } else if (t.type == TokenType::kString) {
        auto s = UnquoteString(t.text);
        if (!s.ok()) Fail(t.pos, std::string(s.status().message()));
        out.push_back(*s);
        Next();
      } else {
        Unexpected(t, context, "label");
      }
      if (Peek().type == TokenType::kComma) {
        Next();
      } else if (Peek().type != TokenType::kRightParen) {
        Unexpected(Peek(), context, "\",\" or \")\"");
      }
    }
  }

  ExprPtr ParseSelector() {
    const Token& first = Peek();
    int start = first.pos;
    int end = start;
    VectorSelector vs;
    if (first.type != TokenType::kLeftBrace) {
      vs.name = first.text;
      Next();
      end = start + static_cast<int>(first.text.size());
    }
    std::vector<labels::Matcher> matchers;
    std::string quoted_name;
    if (Peek().type == TokenType::kLeftBrace) {
      Next();
      while (true) {
        const Token& t = Peek();
        if (t.type == TokenType::kRightBrace) {
          end = t.pos + 1;
          Next();
          break;
        }
        std::string name;
        if (t.type == TokenType::kIdentifier) {
          name = t.text;
        } else if (t.type == TokenType::kString) {
          auto s = UnquoteString(t.text);
          if (!s.ok()) Fail(t.pos, std::string(s.status().message()));
          name = *s;
        } else {
          Unexpected(t, "label matching", "identifier or \"}\"");
        }
        Next();
        const Token& op = Peek();
        if (t.type == TokenType::kString &&
            (op.type == TokenType::kComma || op.type == TokenType::kRightBrace)) {
          // `{"metric.name"}`: a quoted metric name.
          if (!quoted_name.empty() || !vs.name.empty()) {
            Fail(t.pos, absl::StrFormat("metric name must not be set twice: \"%s\" or \"%s\"",
                                        vs.name.empty() ? quoted_name : vs.name, name));
          }
          quoted_name = name;
        } else {
          labels::MatchType mt;
          switch (op.type) {
            case TokenType::kAssign:
              mt = labels::MatchType::kEqual;
              break;
            case TokenType::kNeq:
              mt = labels::MatchType::kNotEqual;
              break;
            case TokenType::kEqlRegex:
              mt = labels::MatchType::kRegexMatch;
              break;
            case TokenType::kNeqRegex:
              mt = labels::MatchType::kRegexNoMatch;
              break;
            default:
              Unexpected(op, "label matching", "label matching operator");
          }
          Next();
          const Token& val = Peek();
          if (val.type != TokenType::kString) Unexpected(val, "label matching", "string");
          Next();
          auto v = UnquoteString(val.text);
          if (!v.ok()) Fail(val.pos, std::string(v.status().message()));
          auto m = labels::Matcher::Create(mt, name, *v);
          if (!m.ok()) Fail(val.pos, std::string(m.status().message()));
          matchers.push_back(std::move(*m));
        }
        if (Peek().type == TokenType::kComma) {
          Next();
        } else if (Peek().type != TokenType::kRightBrace) {
          Unexpected(Peek(), "label matching", "\",\" or \"}\"");
        }
      }
    }
    std::string metric = vs.name.empty() ? quoted_name : vs.name;
    if (!metric.empty()) {
      for (const auto& m : matchers) {
        if (m.name() == labels::kMetricName) {
          Fail(start, absl::StrFormat("metric name must not be set twice: \"%s\" or \"%s\"", metric,
                                      m.value()));
        }
      }
      auto nm = labels::Matcher::Create(labels::MatchType::kEqual, std::string(labels::kMetricName),
                                        metric);
      matchers.insert(matchers.begin(), std::move(*nm));
    }
    bool non_empty = false;
    for (const auto& m : matchers) {
      if (!m.MatchesEmpty()) non_empty = true;
    }
    if (!non_empty) Fail(start, "vector selector must contain at least one non-empty matcher");
    vs.name = metric;
    vs.matchers = std::move(matchers);
    return MakeExpr(std::move(vs), start, end);
  }

  ExprPtr ParseCall() {
    const Token& name = Next();
    const FunctionSig* f = LookupFunction(name.text);
    if (f == nullptr)
      Fail(name.pos, absl::StrFormat("unknown function with name \"%s\"", name.text));
    Next();  // '('
    Call c;
    c.func = f;
    int end;
    while (true) {
      if (Peek().type == TokenType::kRightParen) {
        end = Peek().pos + 1;
        Next();
        break;
      }
      c.args.push_back(ParseBinary(1));
      if (Peek().type == TokenType::kComma) {
        Next();
      } else if (Peek().type != TokenType::kRightParen) {
        Unexpected(Peek(), "function call arguments", "\",\" or \")\"");
      }
    }
    int nargs = static_cast<int>(f->arg_types.size());
    int got = static_cast<int>(c.args.size());
    if (f->variadic == 0) {
      if (nargs != got) {
        Fail(name.pos, absl::StrFormat("expected %d argument(s) in call to \"%s\", got %d", nargs,
                                       f->name, got));
      }
    } else {
      int min = nargs - 1;
      if (got < min) {
        Fail(name.pos, absl::StrFormat("expected at least %d argument(s) in call to \"%s\", got %d",
                                       min, f->name, got));
      }
      if (f->variadic > 0 && got > min + f->variadic) {
        Fail(name.pos, absl::StrFormat("expected at most %d argument(s) in call to \"%s\", got %d",
                                       min + f->variadic, f->name, got));
      }
    }
    for (int i = 0; i < got; ++i) {
      ValueType want = f->arg_types[std::min(i, nargs - 1)];
      ValueType have = ValueTypeOf(*c.args[i]);
      if (want != have) {
        Fail(c.args[i]->pos_start,
             absl::StrFormat("expected type %s in call to function \"%s\", got %s",
                             ValueTypeName(want), f->name, ValueTypeName(have)));
      }
    }
    return MakeExpr(std::move(c), name.pos, end);
  }

  ExprPtr ParseAggregate() {
    const Token& op = Next();
    AggregateExpr a;
    a.op = op.type;
    bool have_grouping = false;
    auto grouping = [&] {
      if (Peek().type == TokenType::kBy || Peek().type == TokenType::kWithout) {
        if (have_grouping) Unexpected(Peek(), "aggregation");
        a.without = Next().type == TokenType::kWithout;
        a.grouping = ParseLabelList("grouping opts");
        have_grouping = true;
      }
    };
    grouping();
    Expect(TokenType::kLeftParen, "aggregation", "\"(\"");
    std::vector<ExprPtr> args;
    int end;
    while (true) {
      if (Peek().type == TokenType::kRightParen) {
        end = Peek().pos + 1;
        Next();
        break;
      }
      args.push_back(ParseBinary(1));
      if (Peek().type == TokenType::kComma) {
        Next();
      } else if (Peek().type != TokenType::kRightParen) {
        Unexpected(Peek(), "aggregation", "\",\" or \")\"");
      }
    }
    if (Peek().type == TokenType::kBy || Peek().type == TokenType::kWithout) {
      if (have_grouping) Unexpected(Peek(), "aggregation");
      grouping();
    }
    size_t want = AggregatorTakesParam(op.type) ? 2 : 1;
    if (args.size() != want) {
      Fail(op.pos, absl::StrFormat(
                       "wrong number of arguments for aggregate expression provided, expected %d, "
                       "got %d",
                       want, args.size()));
    }
    if (want == 2) {
      a.param = std::move(args[0]);
      a.expr = std::move(args[1]);
      ValueType pt = ValueTypeOf(*a.param);
      ValueType need = op.type == TokenType::kCountValues ? ValueType::kString : ValueType::kScalar;
      if (pt != need) {
        Fail(a.param->pos_start,
             absl::StrFormat("expected type %s in aggregation parameter, got %s",
                             ValueTypeName(need), ValueTypeName(pt)));
      }
    } else {
      a.expr = std::move(args[0]);
    }
    ValueType et = ValueTypeOf(*a.expr);
    if (et != ValueType::kVector) {
      Fail(a.expr->pos_start,
           absl::StrFormat("expected type instant vector in aggregation expression, got %s",
                           ValueTypeName(et)));
    }
    return MakeExpr(std::move(a), op.pos, end);
  }

  std::string_view input_;
  std::vector<Token> toks_;
  size_t idx_ = 0;
  // Selectors/subqueries whose offset was written explicitly (even as 0).
  std::set<const Expr*> offset_set_;
};

absl::Status ToStatus(std::string_view input, const ParseFailure& f) {
  int line = 1;
  int line_start = 0;
  int pos = std::clamp(f.pos, 0, static_cast<int>(input.size()));
  for (int i = 0; i < pos; ++i) {
    if (input[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("%d:%d: parse error: %s", line, pos - line_start + 1, f.msg));
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t r) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  if (r < 0x80) {
    *out += static_cast<char>(r);
  } else if (r < 0x800) {
    *out += static_cast<char>(0xC0 | (r >> 6));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    *out += static_cast<char>(0xE0 | (r >> 12));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (r >> 18));
    *out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

}  // namespace

absl::StatusOr<std::string> UnquoteString(std::string_view q) {
  if (q.size() < 2 || q.front() != q.back()) return absl::InvalidArgumentError("invalid syntax");
  char quote = q.front();
  std::string_view body = q.substr(1, q.size() - 2);
  if (quote == '`') return std::string(body);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) return absl::InvalidArgumentError("invalid syntax");
    char e = body[i];
    switch (e) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '\'':
      case '"':
        if (e != quote) {
          return absl::InvalidArgumentError(absl::StrFormat("unknown escape sequence '\\%c'", e));
        }
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int k = 1; k <= n; ++k) {
          if (i + k >= body.size()) return absl::InvalidArgumentError("invalid syntax");
          int h = HexVal(body[i + k]);
          if (h < 0) return absl::InvalidArgumentError("invalid syntax");
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF) return absl::InvalidArgumentError("invalid syntax");
          AppendUtf8(&out, v);
        }
        break;
      }
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        uint32_t v = 0;
        for (int k = 0; k < 3; ++k) {
          if (i + k >= body.size() || body[i + k] < '0' || body[i + k] > '7') {
            return absl::InvalidArgumentError("invalid syntax");
          }
          v = v * 8 + static_cast<uint32_t>(body[i + k] - '0');
        }
        if (v > 255) return absl::InvalidArgumentError("invalid syntax");
        i += 2;
        out += static_cast<char>(v);
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrFormat("unknown escape sequence '\\%c'", e));
    }
  }
  return out;
}

absl::StatusOr<int64_t> ParseDuration(std::string_view s) {
  static constexpr struct {
    std::string_view unit;
    int64_t ms;
  } kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                {"w", 7LL * 24 * 3600 * 1000},
                {"d", 24LL * 3600 * 1000},
                {"h", 3600LL * 1000},
                {"m", 60LL * 1000},
                {"s", 1000},
                {"ms", 1}};
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrFormat("not a valid duration string: \"%s\"", s));
  };
  if (s.empty()) return bad();
  if (s == "0") return 0;
  int64_t total = 0;
  size_t i = 0;
  int last_unit = -1;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i) return bad();
    int64_t n = 0;
    for (size_t k = i; k < j; ++k) {
      if (n > std::numeric_limits<int64_t>::max() / 10 - 10) return bad();
      n = n * 10 + (s[k] - '0');
    }
    int unit = -1;
    if (s.substr(j, 2) == "ms") {
      unit = 6;
    } else if (j < s.size()) {
      for (int u = 0; u < 6; ++u) {
        if (s[j] == kUnits[u].unit[0]) unit = u;
      }
    }
    if (unit < 0 || unit <= last_unit) return bad();
    last_unit = unit;
    if (n > std::numeric_limits<int64_t>::max() / kUnits[unit].ms) return bad();
    total += n * kUnits[unit].ms;
    if (total < 0) return bad();
    i = j + kUnits[unit].unit.size();
  }
  return total;
}

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input) {
  try {
    Parser p(input);
    return p.ParseTop();
  } catch (const ParseFailure& f) {
    return ToStatus(input, f);
  }
}

absl::StatusOr<std::vector<labels::Matcher>> ParseMetricSelector(std::string_view input) {
  try {
    Parser p(input);
    return p.ParseSelectorOnly();
  } catch (const ParseFailure& f) {
    return ToStatus(input, f);
  }
}

}  // namespace xscaler::promql
