#include "promql/printer.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "base/utf8.h"
#include "absl/strings/str_join.h"
#include "labels/labels.h"
#include "promql/functions.h"

namespace xscaler::promql {
namespace {

// A label name as Prometheus 3 prints it: bare when it is a legacy-valid name, quoted otherwise.
std::string LabelName(const std::string& n) {
  return labels::IsValidLabelName(n) ? n : QuoteString(n);
}

std::string JoinLabels(const std::vector<std::string>& ls) {
  std::vector<std::string> out;
  out.reserve(ls.size());
  for (const auto& l : ls) out.push_back(LabelName(l));
  return absl::StrJoin(out, ", ");
}

std::string PrintAt(const AtModifier& at) {
  switch (at.kind) {
    case AtKind::kNone:
      return "";
    case AtKind::kStart:
      return " @ start()";
    case AtKind::kEnd:
      return " @ end()";
    case AtKind::kTimestamp:
      return absl::StrFormat(" @ %.3f", static_cast<double>(at.timestamp_ms) / 1000.0);
  }
  return "";
}

std::string PrintOffset(int64_t off) {
  if (off > 0) return " offset " + FormatDuration(off);
  if (off < 0) return " offset -" + FormatDuration(-off);
  return "";
}

std::string SelectorBody(const VectorSelector& vs) {
  std::vector<std::string> ms;
  for (const auto& m : vs.matchers) {
    if (m.name() == labels::kMetricName && m.type() == labels::MatchType::kEqual &&
        m.value() == vs.name && !vs.name.empty()) {
      continue;
    }
    static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
    ms.push_back(LabelName(m.name()) + kOps[static_cast<int>(m.type())] + QuoteString(m.value()));
  }
  std::string out;
  // Keyword-like names (`sum`, `end`, `inf`, ...) are quoted so the output re-parses.
  bool legacy_name =
      !vs.name.empty() && labels::IsValidMetricName(vs.name) && !IsKeywordWord(vs.name);
  if (legacy_name) {
    out = vs.name;
  } else if (!vs.name.empty()) {
    ms.insert(ms.begin(), QuoteString(vs.name));
  }
  if (!ms.empty() || vs.name.empty() || !legacy_name) out += "{" + absl::StrJoin(ms, ",") + "}";
  return out;
}

struct PrintVisitor {
  std::string operator()(const NumberLiteral& n) { return FormatFloatG(n.value); }
  std::string operator()(const StringLiteral& s) { return QuoteString(s.value); }
  std::string operator()(const VectorSelector& vs) {
    return SelectorBody(vs) + PrintAt(vs.at) + PrintOffset(vs.offset_ms);
  }
  std::string operator()(const MatrixSelector& m) {
    const auto& vs = *m.selector->As<VectorSelector>();
    return SelectorBody(vs) + "[" + FormatDuration(m.range_ms) + "]" + PrintAt(vs.at) +
           PrintOffset(vs.offset_ms);
  }
  std::string operator()(const SubqueryExpr& s) {
    std::string step = s.step_ms > 0 ? FormatDuration(s.step_ms) : "";
    return Print(*s.expr) + "[" + FormatDuration(s.range_ms) + ":" + step + "]" + PrintAt(s.at) +
           PrintOffset(s.offset_ms);
  }
  std::string operator()(const ParenExpr& p) { return "(" + Print(*p.expr) + ")"; }
  std::string operator()(const UnaryExpr& u) {
    return std::string(TokenSpelling(u.op)) + Print(*u.expr);
  }
  std::string operator()(const BinaryExpr& b) {
    std::string mod;
    if (b.return_bool) mod += " bool";
    if (b.matching) {
      const auto& vm = *b.matching;
      bool grouped = vm.card == Cardinality::kManyToOne || vm.card == Cardinality::kOneToMany;
      if (!vm.matching_labels.empty() || vm.on || grouped) {
        mod +=
            absl::StrFormat(" %s (%s)", vm.on ? "on" : "ignoring", JoinLabels(vm.matching_labels));
        if (grouped) {
          mod += absl::StrFormat(" group_%s (%s)",
                                 vm.card == Cardinality::kManyToOne ? "left" : "right",
                                 JoinLabels(vm.include));
        }
      }
    }
    std::string lhs = Print(*b.lhs);
    // `+Inf ^ x` would re-parse as `+(Inf ^ x)`: unary operators bind looser than `^`.
    if (b.op == TokenType::kPow && lhs == "+Inf") lhs = "Inf";
    return lhs + " " + std::string(TokenSpelling(b.op)) + mod + " " + Print(*b.rhs);
  }
  std::string operator()(const AggregateExpr& a) {
    std::string out(TokenSpelling(a.op));
    if (a.without) {
      out += " without (" + JoinLabels(a.grouping) + ") ";
    } else if (!a.grouping.empty()) {
      out += " by (" + JoinLabels(a.grouping) + ") ";
    }
    out += "(";
    if (a.param) out += Print(*a.param) + ", ";
    return out + Print(*a.expr) + ")";
  }
  std::string operator()(const Call& c) {
    std::vector<std::string> args;
    for (const auto& a : c.args) args.push_back(Print(*a));
    return std::string(c.func->name) + "(" + absl::StrJoin(args, ", ") + ")";
  }
};

}  // namespace

std::string Print(const Expr& e) { return std::visit(PrintVisitor{}, e.node); }

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string r;
  auto f = [&](const char* unit, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    int64_t v = ms / mult;
    if (v > 0) {
      r += std::to_string(v) + unit;
      ms -= v * mult;
    }
  };
  f("y", 1000LL * 60 * 60 * 24 * 365, true);
  f("w", 1000LL * 60 * 60 * 24 * 7, true);
  f("d", 1000LL * 60 * 60 * 24, false);
  f("h", 1000LL * 60 * 60, false);
  f("m", 1000LL * 60, false);
  f("s", 1000, false);
  f("ms", 1, false);
  return r;
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '"':
          out += "\\\"";
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            out += absl::StrFormat("\\x%02x", c);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    // Copy a valid UTF-8 sequence; escape stray bytes.
    if (size_t len = base::Utf8SequenceLengthLax(s, i); len != 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += absl::StrFormat("\\x%02x", c);
      ++i;
    }
  }
  return out + "\"";
}

}  // namespace xscaler::promql
