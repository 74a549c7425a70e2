#include "storage/index/matchers.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace xscaler::storage::index {
namespace {

using labels::Matcher;
using labels::MatchType;

bool IsMeta(char c) {
  switch (c) {
    case '\\': case '.': case '+': case '*': case '?': case '(': case ')': case '|':
    case '[': case ']': case '{': case '}': case '^': case '$':
      return true;
    default:
      return false;
  }
}

// An escaped character that stands for itself (`\.`), as opposed to a class like `\d`.
bool IsLiteralEscape(char c) {
  return IsMeta(c) || c == '-' || c == '/' || c == '"' || c == '\'' || c == ' ' || c == '#' ||
         c == '&' || c == '~' || c == '=' || c == ',' || c == ':' || c == '<' || c == '>' ||
         c == '@' || c == '%' || c == '!' || c == ';' || c == '`';
}

bool IsQuantifier(char c) { return c == '*' || c == '?' || c == '+' || c == '{'; }

// Precomputed form of one matcher: which values it accepts, cheaply.
class ValueMatcher {
 public:
  explicit ValueMatcher(const Matcher& m) : m_(m) {
    if (m.type() == MatchType::kRegexMatch || m.type() == MatchType::kRegexNoMatch) {
      if (m.value() == ".*") {
        kind_ = Kind::kAny;
      } else if (m.value() == ".+") {
        kind_ = Kind::kNonEmpty;
      } else if (auto alts = LiteralAlternatives(m.value())) {
        kind_ = Kind::kSet;
        alts_ = std::move(*alts);
        set_.insert(alts_.begin(), alts_.end());
      } else {
        prefix_ = LiteralPrefix(m.value());
      }
    }
  }

  // Whether the matcher (ignoring its negation) accepts `v`.
  bool Positive(std::string_view v) const {
    switch (kind_) {
      case Kind::kAny: return true;
      case Kind::kNonEmpty: return !v.empty();
      case Kind::kSet: return set_.contains(absl::string_view(v.data(), v.size()));
      case Kind::kGeneral: break;
    }
    if (m_.type() == MatchType::kEqual || m_.type() == MatchType::kNotEqual) {
      return v == m_.value();
    }
    if (!v.starts_with(prefix_)) return false;
    return m_.type() == MatchType::kRegexMatch ? m_.Matches(v) : !m_.Matches(v);
  }
  bool Negated() const {
    return m_.type() == MatchType::kNotEqual || m_.type() == MatchType::kRegexNoMatch;
  }
  bool Matches(std::string_view v) const { return Positive(v) != Negated(); }

  // Union of postings of the (non-empty) values v of the label with Matches(v) == want.
  Postings Select(const IndexReader& ix, bool want) const {
    const bool positive = want != Negated();
    const std::string& name = m_.name();
    if (positive) {
      if (m_.type() == MatchType::kEqual || m_.type() == MatchType::kNotEqual) {
        if (m_.value().empty()) return {};
        return ix.PostingsFor(name, m_.value());
      }
      if (kind_ == Kind::kSet) return ix.PostingsForValueList(name, alts_);
      if (kind_ == Kind::kAny || kind_ == Kind::kNonEmpty) {
        return ix.PostingsForValues(name, [](std::string_view) { return true; });
      }
    } else if (kind_ == Kind::kAny || kind_ == Kind::kNonEmpty) {
      return {};  // every stored value is non-empty, so all match
    }
    return ix.PostingsForValues(name,
                                [&](std::string_view v) { return Positive(v) == positive; });
  }

 private:
  enum class Kind { kGeneral, kAny, kNonEmpty, kSet };
  const Matcher& m_;
  Kind kind_ = Kind::kGeneral;
  std::vector<std::string> alts_;
  absl::flat_hash_set<std::string> set_;
  std::string prefix_;
};

}  // namespace

std::optional<std::vector<std::string>> LiteralAlternatives(std::string_view re) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    if (c == '|') {
      out.emplace_back();
    } else if (c == '\\') {
      if (i + 1 >= re.size() || !IsLiteralEscape(re[i + 1])) return std::nullopt;
      out.back() += re[++i];
    } else if (IsMeta(c)) {
      return std::nullopt;
    } else {
      out.back() += c;
    }
  }
  return out;
}

std::string LiteralPrefix(std::string_view re) {
  // An alternation anywhere could make the prefix optional (`ab|c`, `a(b|)`): give up.
  if (re.find('|') != std::string_view::npos) return "";
  std::string prefix;
  for (size_t i = 0; i < re.size(); ++i) {
    char c = re[i];
    char lit;
    size_t next;
    if (c == '\\') {
      if (i + 1 >= re.size() || !IsLiteralEscape(re[i + 1])) break;
      lit = re[i + 1];
      next = i + 2;
    } else if (IsMeta(c)) {
      break;
    } else {
      lit = c;
      next = i + 1;
    }
    // A quantified character may be absent (`ab?`, `ab*`, `ab{0,1}`) or repeated: stop before it.
    if (next < re.size() && IsQuantifier(re[next]) && re[next] != '+') break;
    prefix += lit;
    if (next < re.size() && re[next] == '+') break;
    i = next - 1;
  }
  return prefix;
}

absl::StatusOr<Postings> PostingsForMatchers(const IndexReader& ix,
                                             std::span<const labels::Matcher> matchers) {
  std::vector<ValueMatcher> vms;
  vms.reserve(matchers.size());
  absl::flat_hash_set<std::string_view> must_be_set;
  for (const auto& m : matchers) {
    vms.emplace_back(m);
    if (!vms.back().Matches("")) must_be_set.insert(m.name());
  }

  std::vector<Postings> its;
  std::vector<Postings> not_its;
  // Intersecting matchers first: an empty one ends the query before any subtraction work.
  std::vector<size_t> order(vms.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto rank = [&](size_t i) {
    const auto& m = matchers[i];
    bool intersecting = must_be_set.contains(m.name()) &&
                        !(vms[i].Negated() && vms[i].Matches(""));
    if (!intersecting) return 3;
    if (m.type() == MatchType::kEqual) return 0;
    return m.type() == MatchType::kRegexMatch ? 1 : 2;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank(a) < rank(b); });

  for (size_t i : order) {
    const auto& m = matchers[i];
    const auto& vm = vms[i];
    if (must_be_set.contains(m.name())) {
      if (vm.Negated() && vm.Matches("")) {
        // `l!="foo"` where another matcher requires l: subtract the series with l="foo".
        not_its.push_back(vm.Select(ix, /*want=*/false));
      } else {
        Postings p = vm.Select(ix, /*want=*/true);
        if (p.empty()) return Postings{};
        its.push_back(std::move(p));
      }
    } else {
      // Matches "", so series without the label qualify: remove those whose value fails.
      not_its.push_back(vm.Select(ix, /*want=*/false));
    }
  }

  Postings result = its.empty()       ? ix.AllPostings()
                    : its.size() == 1 ? std::move(its[0])
                                      : Intersect(its);
  std::erase_if(not_its, [](const Postings& p) { return p.empty(); });
  if (!not_its.empty() && !result.empty()) {
    result = Without(result, not_its.size() == 1 ? not_its[0] : Merge(not_its));
  }
  return result;
}

absl::StatusOr<std::vector<std::string>> LabelNames(const IndexReader& ix,
                                                    std::span<const labels::Matcher> matchers) {
  if (matchers.empty()) return ix.LabelNames();
  auto p = PostingsForMatchers(ix, matchers);
  if (!p.ok()) return p.status();
  return ix.LabelNamesFor(*p);
}

absl::StatusOr<std::vector<std::string>> LabelValues(const IndexReader& ix, std::string_view name,
                                                     std::span<const labels::Matcher> matchers) {
  if (matchers.empty()) return ix.LabelValues(name);
  auto p = PostingsForMatchers(ix, matchers);
  if (!p.ok()) return p.status();
  return ix.LabelValuesFor(name, *p);
}

}  // namespace xscaler::storage::index
