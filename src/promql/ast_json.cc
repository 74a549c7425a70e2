#include "promql/ast_json.h"

#include <cstdio>
#include <map>
#include <vector>

#include "absl/strings/str_format.h"
#include "base/format.h"
#include "base/utf8.h"
#include "labels/labels.h"
#include "promql/eval_math.h"
#include "promql/functions.h"

namespace xscaler::promql {
namespace {

// Object with keys kept sorted (Go's encoding/json order for maps).
class Obj {
 public:
  Obj& Set(const std::string& k, std::string raw_json) {
    fields_[k] = std::move(raw_json);
    return *this;
  }
  std::string Str() const {
    std::string out = "{";
    bool first = true;
    for (const auto& [k, v] : fields_) {
      if (!first) out += ",";
      first = false;
      out += JsonString(k) + ":" + v;
    }
    return out + "}";
  }

 private:
  std::map<std::string, std::string> fields_;
};

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += JsonString(items[i]);
  }
  return out + "]";
}

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string TypeName(ValueType t) {
  switch (t) {
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
    case ValueType::kNone:
      return "none";
  }
  return "none";
}

std::string Matchers(const VectorSelector& vs) {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  // Prometheus appends the metric-name matcher after the written ones.
  std::vector<const labels::Matcher*> order;
  const labels::Matcher* name = nullptr;
  for (const auto& m : vs.matchers) {
    if (!vs.name.empty() && name == nullptr && m.name() == labels::kMetricName &&
        m.type() == labels::MatchType::kEqual && m.value() == vs.name) {
      name = &m;
      continue;
    }
    order.push_back(&m);
  }
  if (name != nullptr) order.push_back(name);
  std::string out = "[";
  for (size_t i = 0; i < order.size(); ++i) {
    if (i) out += ",";
    out += Obj()
               .Set("name", JsonString(order[i]->name()))
               .Set("type", JsonString(kOps[static_cast<int>(order[i]->type())]))
               .Set("value", JsonString(order[i]->value()))
               .Str();
  }
  return out + "]";
}

std::string Timestamp(const AtModifier& at) {
  return at.kind == AtKind::kTimestamp ? std::to_string(at.timestamp_ms) : "null";
}
std::string StartOrEnd(const AtModifier& at) {
  if (at.kind == AtKind::kStart) return "\"start\"";
  if (at.kind == AtKind::kEnd) return "\"end\"";
  return "null";
}

std::string Card(Cardinality c) {
  switch (c) {
    case Cardinality::kOneToOne:
      return "one-to-one";
    case Cardinality::kManyToOne:
      return "many-to-one";
    case Cardinality::kOneToMany:
      return "one-to-many";
    case Cardinality::kManyToMany:
      return "many-to-many";
  }
  return "one-to-one";
}

struct JsonVisitor {
  std::string operator()(const NumberLiteral& n) {
    return Obj()
        .Set("type", "\"numberLiteral\"")
        .Set("val", JsonString(FormatFloatF(n.value)))
        .Str();
  }
  std::string operator()(const StringLiteral& s) {
    return Obj().Set("type", "\"stringLiteral\"").Set("val", JsonString(s.value)).Str();
  }
  std::string operator()(const VectorSelector& vs) {
    return Obj()
        .Set("type", "\"vectorSelector\"")
        .Set("name", JsonString(vs.name))
        .Set("offset", std::to_string(vs.offset_ms))
        .Set("matchers", Matchers(vs))
        .Set("timestamp", Timestamp(vs.at))
        .Set("startOrEnd", StartOrEnd(vs.at))
        .Str();
  }
  std::string operator()(const MatrixSelector& m) {
    const auto& vs = *m.selector->As<VectorSelector>();
    return Obj()
        .Set("type", "\"matrixSelector\"")
        .Set("name", JsonString(vs.name))
        .Set("range", std::to_string(m.range_ms))
        .Set("offset", std::to_string(vs.offset_ms))
        .Set("matchers", Matchers(vs))
        .Set("timestamp", Timestamp(vs.at))
        .Set("startOrEnd", StartOrEnd(vs.at))
        .Str();
  }
  std::string operator()(const SubqueryExpr& s) {
    return Obj()
        .Set("type", "\"subquery\"")
        .Set("expr", AstToJson(*s.expr))
        .Set("range", std::to_string(s.range_ms))
        .Set("offset", std::to_string(s.offset_ms))
        .Set("step", std::to_string(s.step_ms))
        .Set("timestamp", Timestamp(s.at))
        .Set("startOrEnd", StartOrEnd(s.at))
        .Str();
  }
  std::string operator()(const ParenExpr& p) {
    return Obj().Set("type", "\"parenExpr\"").Set("expr", AstToJson(*p.expr)).Str();
  }
  std::string operator()(const UnaryExpr& u) {
    return Obj()
        .Set("type", "\"unaryExpr\"")
        .Set("op", JsonString(TokenSpelling(u.op)))
        .Set("expr", AstToJson(*u.expr))
        .Str();
  }
  std::string operator()(const BinaryExpr& b) {
    std::string matching = "null";
    if (b.matching) {
      matching = Obj()
                     .Set("card", JsonString(Card(b.matching->card)))
                     .Set("labels", List(b.matching->matching_labels))
                     .Set("on", Bool(b.matching->on))
                     .Set("include", List(b.matching->include))
                     .Str();
    }
    return Obj()
        .Set("type", "\"binaryExpr\"")
        .Set("op", JsonString(TokenSpelling(b.op)))
        .Set("lhs", AstToJson(*b.lhs))
        .Set("rhs", AstToJson(*b.rhs))
        .Set("matching", matching)
        .Set("bool", Bool(b.return_bool))
        .Str();
  }
  std::string operator()(const AggregateExpr& a) {
    return Obj()
        .Set("type", "\"aggregation\"")
        .Set("op", JsonString(TokenSpelling(a.op)))
        .Set("expr", AstToJson(*a.expr))
        .Set("param", a.param ? AstToJson(*a.param) : "null")
        .Set("grouping", List(a.grouping))
        .Set("without", Bool(a.without))
        .Str();
  }
  std::string operator()(const Call& c) {
    std::vector<std::string> types;
    for (auto t : c.func->arg_types) types.push_back(TypeName(t));
    std::string args = "[";
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i) args += ",";
      args += AstToJson(*c.args[i]);
    }
    args += "]";
    return Obj()
        .Set("type", "\"call\"")
        .Set("func", Obj()
                         .Set("name", JsonString(c.func->name))
                         .Set("argTypes", List(types))
                         .Set("variadic", std::to_string(c.func->variadic))
                         .Set("returnType", JsonString(TypeName(c.func->return_type)))
                         .Str())
        .Set("args", args)
        .Str();
  }
};

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      // Go's json.Marshal also escapes the HTML-significant characters.
      if (c == '<') {
        out += "\\u003c";
      } else if (c == '>') {
        out += "\\u003e";
      } else if (c == '&') {
        out += "\\u0026";
      } else if (!base::AppendJsonEscape(out, c)) {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    if (size_t len = base::Utf8SequenceLengthLax(s, i); len != 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out + "\"";
}

std::string AstToJson(const Expr& e) { return std::visit(JsonVisitor{}, e.node); }

}  // namespace xscaler::promql
