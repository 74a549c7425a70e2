#include "promql/promqltest/promqltest.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "labels/labels.h"
#include "promql/engine.h"
#include "promql/eval_math.h"
#include "promql/functions.h"
#include "promql/parser.h"
#include "promql/printer.h"
#include "re2/re2.h"
#include "storage/db/tsdb.h"
#include "storage/storage.h"

namespace xscaler::promql::promqltest {
namespace {

constexpr double kEpsilon = 0.000001;

// Local string helpers: this absl build's string_view is not std::string_view.
std::string_view Strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
bool HasPrefix(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool AlmostEqual(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  constexpr double kMinNormal = 2.2250738585072014e-308;
  double abs_sum = std::abs(a) + std::abs(b);
  double diff = std::abs(a - b);
  if (a == 0 || b == 0 || abs_sum < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / std::min(abs_sum, std::numeric_limits<double>::max()) < kEpsilon;
}

std::string Str(double v) { return FormatFloatG(v); }

// One value of a series description: a float, a staleness marker, or nothing at this step.
struct SeqValue {
  bool omitted = false;
  bool stale = false;
  double v = 0;
};

struct SeriesDesc {
  labels::Labels metric;
  std::vector<SeqValue> values;
  bool native_histogram = false;
};

// Hex is not accepted: `0x59` in a series description means "0 repeated 59 times".
bool ParseNum(std::string_view s, double* out) {
  std::string str(s);
  if (str.find_first_of("xX") != std::string::npos &&
      !(str.find("inf") != std::string::npos || str.find("Inf") != std::string::npos)) {
    return false;
  }
  return ParseGoFloat(str, out);
}

// Parses `name{a="b", ...}` from the front of `s`; returns the rest.
std::optional<std::string_view> ParseMetric(std::string_view s, labels::Labels* out,
                                            std::string* err) {
  size_t i = 0;
  while (i < s.size() &&
         (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_' || s[i] == ':')) {
    ++i;
  }
  std::vector<labels::Label> ls;
  if (i > 0) ls.push_back({std::string(labels::kMetricName), std::string(s.substr(0, i))});
  if (i < s.size() && s[i] == '{') {
    ++i;
    while (true) {
      while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '\t')) ++i;
      if (i >= s.size()) {
        *err = "unterminated label set";
        return std::nullopt;
      }
      if (s[i] == '}') {
        ++i;
        break;
      }
      std::string name;
      if (s[i] == '"' || s[i] == '\'' || s[i] == '`') {
        char q = s[i];
        size_t j = i + 1;
        while (j < s.size() && s[j] != q) j += s[j] == '\\' ? 2 : 1;
        auto un = UnquoteString(s.substr(i, j + 1 - i));
        if (!un.ok()) {
          *err = std::string(un.status().message());
          return std::nullopt;
        }
        name = *un;
        i = j + 1;
      } else {
        size_t j = i;
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        name = std::string(s.substr(i, j - i));
        i = j;
      }
      while (i < s.size() && s[i] == ' ') ++i;
      if (i < s.size() && (s[i] == ',' || s[i] == '}')) {
        // A quoted metric name alone.
        ls.push_back({std::string(labels::kMetricName), name});
        continue;
      }
      if (i >= s.size() || s[i] != '=') {
        *err = "expected '=' in label set";
        return std::nullopt;
      }
      ++i;
      while (i < s.size() && s[i] == ' ') ++i;
      if (i >= s.size() || (s[i] != '"' && s[i] != '\'' && s[i] != '`')) {
        *err = "expected quoted label value";
        return std::nullopt;
      }
      char q = s[i];
      size_t j = i + 1;
      while (j < s.size() && s[j] != q) j += s[j] == '\\' ? 2 : 1;
      if (j >= s.size()) {
        *err = "unterminated label value";
        return std::nullopt;
      }
      auto un = UnquoteString(s.substr(i, j + 1 - i));
      if (!un.ok()) {
        *err = std::string(un.status().message());
        return std::nullopt;
      }
      ls.push_back({name, *un});
      i = j + 1;
    }
  }
  if (i == 0) {
    *err = "expected a metric";
    return std::nullopt;
  }
  *out = labels::Labels(std::move(ls));
  return s.substr(i);
}

bool ParseValues(std::string_view s, SeriesDesc* d, std::string* err) {
  std::vector<std::string> toks;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i >= s.size()) break;
    if (s.substr(i, 2) == "{{") {
      size_t end = s.find("}}", i);
      if (end == std::string_view::npos) {
        *err = "unterminated native histogram";
        return false;
      }
      d->native_histogram = true;
      i = end + 2;
      // `{{...}}xN` and `{{...}}+{{...}}xN` forms: keep their steps as gaps.
      std::string suffix;
      while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
        if (s.substr(i, 2) == "{{") {
          size_t e2 = s.find("}}", i);
          if (e2 == std::string_view::npos) break;
          i = e2 + 2;
        } else {
          suffix += s[i++];
        }
      }
      int64_t times = 0;
      size_t x = suffix.rfind('x');
      if (x != std::string::npos) (void)absl::SimpleAtoi(suffix.substr(x + 1), &times);
      toks.push_back("{{}}x" + std::to_string(times));
      continue;
    }
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    toks.emplace_back(s.substr(i, j - i));
    i = j;
  }
  for (const auto& t : toks) {
    if (HasPrefix(t, "{{}}x")) {
      // A native histogram (and its repetitions): not loaded, but it occupies its steps.
      int64_t times = std::stoll(t.substr(5));
      for (int64_t k = 0; k <= times; ++k) d->values.push_back({true, false, 0});
      continue;
    }
    if (t == "_") {
      d->values.push_back({true, false, 0});
      continue;
    }
    if (t == "stale") {
      d->values.push_back({false, true, 0});
      continue;
    }
    double v;
    if (ParseNum(t, &v)) {
      d->values.push_back({false, false, v});
      continue;
    }
    size_t x = t.rfind('x');
    int64_t times;
    if (x == std::string::npos || !absl::SimpleAtoi(t.substr(x + 1), &times) || times < 0) {
      *err = "bad value " + t;
      return false;
    }
    std::string head = t.substr(0, x);
    if (head == "_") {
      for (int64_t k = 0; k < times; ++k) d->values.push_back({true, false, 0});
      continue;
    }
    if (head == "stale") {
      for (int64_t k = 0; k < times; ++k) d->values.push_back({false, true, 0});
      continue;
    }
    // a, a+b or a-b; a sign at position 0 or after an exponent belongs to the number.
    size_t op = std::string::npos;
    for (size_t k = 1; k < head.size(); ++k) {
      if ((head[k] == '+' || head[k] == '-') && head[k - 1] != 'e' && head[k - 1] != 'E') {
        op = k;
        break;
      }
    }
    double a, b = 0;
    if (op == std::string::npos) {
      if (!ParseNum(head, &a)) {
        *err = "bad value " + t;
        return false;
      }
    } else {
      if (!ParseNum(head.substr(0, op), &a) || !ParseNum(head.substr(op + 1), &b)) {
        *err = "bad value " + t;
        return false;
      }
      if (head[op] == '-') b = -b;
    }
    double cur = a;
    for (int64_t k = 0; k <= times; ++k) {
      d->values.push_back({false, false, cur});
      cur += b;
    }
  }
  return true;
}

bool ParseSeriesDesc(std::string_view line, SeriesDesc* d, std::string* err) {
  auto rest = ParseMetric(line, &d->metric, err);
  if (!rest) return false;
  return ParseValues(*rest, d, err);
}

absl::StatusOr<int64_t> ParseTime(std::string_view s) {
  auto d = ParseDuration(s);
  if (d.ok()) return *d;
  double v;
  if (ParseGoFloat(std::string(s), &v)) return static_cast<int64_t>(std::llround(v * 1000));
  return d.status();
}

struct Expectation {
  std::string kind;  // fail, warn, info, no_warn, no_info, ordered
  std::string msg;
  std::string regex;
};

struct EvalCmd {
  int line = 0;
  std::string expr;
  bool range = false;
  int64_t start = 0, end = 0, step = 0;
  bool fail = false, warn = false, info = false, no_warn = false, no_info = false;
  bool ordered = false;
  std::string fail_msg, fail_regex, warn_msg, warn_regex, info_msg, info_regex;
  bool scalar_expected = false;
  double scalar = 0;
  std::vector<SeriesDesc> series;
  bool native = false;
};

std::string DescribeExpected(const SeriesDesc& d) {
  std::string out = d.metric.ToString() + " [";
  for (size_t i = 0; i < d.values.size(); ++i) {
    if (i) out += " ";
    out += d.values[i].omitted ? "_" : d.values[i].stale ? "stale" : Str(d.values[i].v);
  }
  return out + "]";
}

bool MatchMessage(const std::vector<std::string>& got, const std::string& msg,
                  const std::string& regex) {
  if (msg.empty() && regex.empty()) return !got.empty();
  for (const auto& g : got) {
    if (!msg.empty() && g == msg) return true;
    if (!regex.empty() && re2::RE2::PartialMatch(g, re2::RE2(regex))) return true;
  }
  return false;
}

// Compares a result with the expectation; returns "" on success or the difference.
std::string Check(const EvalCmd& cmd, const absl::StatusOr<Result>& res) {
  if (cmd.fail) {
    if (res.ok()) return "expected an error but the query succeeded";
    std::string m(res.status().message());
    if (!cmd.fail_msg.empty() && m != cmd.fail_msg) {
      return absl::StrFormat("expected error %s but got %s", QuoteString(cmd.fail_msg),
                             QuoteString(m));
    }
    if (!cmd.fail_regex.empty() && !re2::RE2::PartialMatch(m, re2::RE2(cmd.fail_regex))) {
      return absl::StrFormat("expected error matching %s but got %s", QuoteString(cmd.fail_regex),
                             QuoteString(m));
    }
    return "";
  }
  if (!res.ok()) return "unexpected error: " + std::string(res.status().message());
  const Result& r = *res;
  if (cmd.warn && !MatchMessage(r.warnings, cmd.warn_msg, cmd.warn_regex)) {
    return "expected warning " + QuoteString(cmd.warn_msg + cmd.warn_regex) + " but got [" +
           absl::StrJoin(r.warnings, "; ") + "]";
  }
  if (!cmd.warn && !r.warnings.empty()) {
    return "unexpected warnings [" + absl::StrJoin(r.warnings, "; ") + "]";
  }
  if (std::getenv("XS_PROMQLTEST_STRICT") != nullptr && !cmd.info && !r.infos.empty()) {
    return "unexpected infos [" + absl::StrJoin(r.infos, "; ") + "]";
  }
  if (cmd.no_warn && !r.warnings.empty()) {
    return "expected no warnings but got [" + absl::StrJoin(r.warnings, "; ") + "]";
  }
  if (cmd.info && !MatchMessage(r.infos, cmd.info_msg, cmd.info_regex)) {
    return "expected info " + QuoteString(cmd.info_msg + cmd.info_regex) + " but got [" +
           absl::StrJoin(r.infos, "; ") + "]";
  }
  if (cmd.no_info && !r.infos.empty()) {
    return "expected no infos but got [" + absl::StrJoin(r.infos, "; ") + "]";
  }
  if (const auto* s = std::get_if<Scalar>(&r.value)) {
    if (!cmd.scalar_expected) {
      return "got scalar " + Str(s->v) + " but expected " + std::to_string(cmd.series.size()) +
             " series";
    }
    if (!AlmostEqual(cmd.scalar, s->v)) {
      return "expected scalar " + Str(cmd.scalar) + " but got " + Str(s->v);
    }
    return "";
  }
  if (cmd.scalar_expected) return "expected scalar " + Str(cmd.scalar) + " but got a non-scalar";
  std::map<labels::Labels, std::pair<size_t, const SeriesDesc*>> expected;
  for (size_t i = 0; i < cmd.series.size(); ++i) {
    expected[cmd.series[i].metric] = {i, &cmd.series[i]};
  }
  std::set<labels::Labels> seen;
  if (const auto* v = std::get_if<Vector>(&r.value)) {
    for (size_t pos = 0; pos < v->size(); ++pos) {
      const Sample& s = (*v)[pos];
      auto it = expected.find(s.metric);
      if (it == expected.end()) {
        return "unexpected metric " + s.metric.ToString() + " in result, has value " + Str(s.v);
      }
      if (cmd.ordered && it->second.first != pos) {
        return absl::StrFormat("expected metric %s at position %d but was at %d",
                               s.metric.ToString(), it->second.first + 1, pos + 1);
      }
      const auto& vals = it->second.second->values;
      if (vals.size() != 1 || vals[0].omitted) {
        return "expected " + DescribeExpected(*it->second.second) + " but got instant value " +
               Str(s.v);
      }
      if (!AlmostEqual(vals[0].v, s.v)) {
        return "expected " + Str(vals[0].v) + " for " + s.metric.ToString() + " but got " +
               Str(s.v);
      }
      seen.insert(s.metric);
    }
  } else if (const auto* m = std::get_if<Matrix>(&r.value)) {
    for (const auto& s : *m) {
      auto it = expected.find(s.metric);
      if (it == expected.end()) {
        std::string pts;
        for (const auto& p : s.points) pts += " " + Str(p.v) + "@" + std::to_string(p.t);
        return "unexpected metric " + s.metric.ToString() + " in result, has values" + pts;
      }
      const auto& vals = it->second.second->values;
      std::vector<Point> want;
      for (size_t i = 0; i < vals.size(); ++i) {
        if (vals[i].omitted) continue;
        want.push_back({cmd.range ? cmd.start + static_cast<int64_t>(i) * cmd.step : 0, vals[i].v});
      }
      bool ok = want.size() == s.points.size();
      for (size_t i = 0; ok && i < want.size(); ++i) {
        if (cmd.range && want[i].t != s.points[i].t) ok = false;
        if (!AlmostEqual(want[i].v, s.points[i].v)) ok = false;
      }
      if (!ok) {
        std::string got;
        for (const auto& p : s.points)
          got += " " + Str(p.v) + "@" + std::to_string(p.t / 1000) + "s";
        return "expected " + DescribeExpected(*it->second.second) + " for " + s.metric.ToString() +
               " but got [" + got + " ]";
      }
      seen.insert(s.metric);
    }
  } else if (const auto* st = std::get_if<String>(&r.value)) {
    return "got string " + QuoteString(st->v) + ", string results are not checked";
  }
  for (const auto& [l, e] : expected) {
    if (!seen.count(l)) return "expected metric " + DescribeExpected(*e.second) + " not found";
  }
  return "";
}

// As Prometheus' runner does: an instant eval must give the same answer as the middle step of
// a range query from t-1m to t+1m.
std::string CheckRangeMode(Engine& engine, storage::Storage& storage, const EvalCmd& ev,
                           const Result& instant) {
  auto range = engine.RangeQuery(storage, ev.expr, ev.start - 60000, ev.start + 60000, 60000);
  if (!range.ok()) {
    return "range mode: unexpected error: " + std::string(range.status().message());
  }
  const auto* m = std::get_if<Matrix>(&range->value);
  if (m == nullptr) return "range mode: result is not a matrix";
  Result at_t;
  at_t.warnings = range->warnings;
  at_t.infos = range->infos;
  Vector vec;
  for (const auto& s : *m) {
    for (const auto& p : s.points) {
      if (p.t == ev.start) vec.push_back(Sample{s.metric, p.t, p.v});
    }
  }
  if (std::holds_alternative<Scalar>(instant.value)) {
    if (vec.empty()) return "range mode: no value at the evaluation time";
    at_t.value = Scalar{ev.start, vec[0].v};
  } else {
    at_t.value = std::move(vec);
  }
  // Annotations may legitimately differ across the wider range; compare values only.
  EvalCmd values_only = ev;
  values_only.warn = values_only.info = values_only.no_warn = values_only.no_info = false;
  at_t.warnings.clear();
  at_t.infos.clear();
  std::string diff = Check(values_only, at_t);
  return diff.empty() ? "" : "range mode: " + diff;
}

// Sets `@ t` on every selector and subquery that has none, except inside a subquery that
// already has one; false when the expression calls a function whose value depends on the
// evaluation time itself (those cannot be pinned with @).
bool PinAt(Expr* e, int64_t t, bool under_at) {
  if (auto* vs = e->As<VectorSelector>()) {
    if (!under_at && vs->at.kind == AtKind::kNone) vs->at = AtModifier{AtKind::kTimestamp, t};
    return true;
  }
  if (auto* ms = e->As<MatrixSelector>()) return PinAt(ms->selector.get(), t, under_at);
  if (auto* sq = e->As<SubqueryExpr>()) {
    if (!under_at && sq->at.kind == AtKind::kNone) sq->at = AtModifier{AtKind::kTimestamp, t};
    return PinAt(sq->expr.get(), t, true);
  }
  if (auto* p = e->As<ParenExpr>()) return PinAt(p->expr.get(), t, under_at);
  if (auto* u = e->As<UnaryExpr>()) return PinAt(u->expr.get(), t, under_at);
  if (auto* b = e->As<BinaryExpr>()) {
    bool l = PinAt(b->lhs.get(), t, under_at);
    bool r = PinAt(b->rhs.get(), t, under_at);
    return l && r;
  }
  if (auto* a = e->As<AggregateExpr>()) {
    bool ok = PinAt(a->expr.get(), t, under_at);
    if (a->param) ok = PinAt(a->param.get(), t, under_at) && ok;
    return ok;
  }
  if (auto* c = e->As<Call>()) {
    static const std::set<std::string_view> kUnsafe = {"days_in_month",  "day_of_month",
                                                       "day_of_week",    "day_of_year",
                                                       "hour",           "minute",
                                                       "month",          "year",
                                                       "predict_linear", "time",
                                                       "timestamp"};  // uses its argument's sample
                                                                      // times
    bool ok = kUnsafe.count(c->func->name) == 0;
    for (auto& arg : c->args) ok = PinAt(arg.get(), t, under_at) && ok;
    return ok;
  }
  return true;
}

// As Prometheus' runner does: with every selector pinned to `@ t`, the query must give the same
// answer when evaluated at other times.
std::string CheckAtModifier(Engine& engine, storage::Storage& storage, const EvalCmd& ev) {
  auto parsed = ParseExpr(ev.expr);
  if (!parsed.ok()) return "";
  int64_t t = ev.start;
  if (!PinAt(parsed->get(), t, false)) return "";
  std::string pinned = Print(**parsed);
  std::vector<int64_t> times = {-10 * t, 0, t / 5, t, 10 * t};
  if (t == 0) times = {0, 10, 1000};
  EvalCmd values_only = ev;
  values_only.warn = values_only.info = values_only.no_warn = values_only.no_info = false;
  for (int64_t at : times) {
    auto res = engine.InstantQuery(storage, pinned, at);
    if (res.ok()) {
      res->warnings.clear();
      res->infos.clear();
    }
    std::string diff = Check(values_only, res);
    if (!diff.empty()) {
      return absl::StrFormat("@ mode (%s evaluated at %ds): %s", pinned, at / 1000, diff);
    }
  }
  return "";
}

std::vector<std::string> Tokens(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

// Splits "w1 w2 ... rest" after `n` whitespace-separated words.
bool SplitWords(std::string_view s, size_t n, std::vector<std::string>* words, std::string* rest) {
  size_t i = 0;
  for (size_t k = 0; k < n; ++k) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i) return false;
    words->emplace_back(s.substr(i, j - i));
    i = j;
  }
  *rest = std::string(Strip(s.substr(i)));
  return true;
}

// The storage a test file loads into: the real TSDB (head + WAL) in a scratch directory that
// `clear` replaces.
class TestStorage {
 public:
  TestStorage() {
    base_ = std::filesystem::temp_directory_path() /
            ("xscaler-promqltest-" + std::to_string(::getpid()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this)));
  }
  ~TestStorage() {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  absl::Status Reset() {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
    storage::TsdbOptions opts;
    opts.wal.sync = false;  // scratch data: durability is not under test here
    opts.background = false;  // no head cuts behind the test's back: "load" writes old samples
    auto db = storage::Tsdb::Open((base_ / std::to_string(generation_++)).string(), opts);
    if (!db.ok()) return db.status();
    db_ = std::move(*db);
    return absl::OkStatus();
  }

  storage::Storage& Get() { return *db_; }

  // Appends one load block: every series' samples in time order, one commit.
  absl::Status Load(const std::vector<std::pair<labels::Labels, std::vector<Point>>>& series) {
    auto app = db_->NewAppender();
    for (const auto& [l, pts] : series) {
      storage::SeriesRef ref = 0;
      for (const auto& p : pts) {
        auto r = app->Append(ref, l, p.t, p.v);
        if (!r.ok()) {
          app->Rollback();
          return absl::Status(r.status().code(),
                              l.ToString() + ": " + std::string(r.status().message()));
        }
        ref = *r;
      }
    }
    return app->Commit();
  }

 private:
  std::filesystem::path base_;
  int generation_ = 0;
  std::unique_ptr<storage::Tsdb> db_;
};

}  // namespace

std::set<std::string> LoadExclusions(const std::string& path) {
  std::set<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = Strip(line);
    if (l.empty() || l[0] == '#') continue;
    size_t sp = l.find_first_of(" \t");
    out.insert(std::string(l.substr(0, sp)));
  }
  return out;
}

FileStats RunFile(const std::string& path, const std::set<std::string>& exclusions,
                  std::ostream& out) {
  FileStats st;
  std::string base = std::filesystem::path(path).filename().string();
  st.file = base;
  std::ifstream in(path);
  if (!in) {
    out << path << ": cannot open file\n";
    st.failed = 1;
    return st;
  }
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) {
    std::string t(Strip(l));
    if (HasPrefix(t, "#")) t.clear();
    lines.push_back(t);
  }
  TestStorage storage;
  if (auto st0 = storage.Reset(); !st0.ok()) {
    out << path << ": cannot open the test database: " << st0.message() << "\n";
    st.failed = 1;
    return st;
  }
  EngineOptions opts;
  opts.timeout_ms = 0;
  opts.delayed_name_removal = true;  // as Prometheus' test engine
  // Every range function over a matrix selector runs on the thread pool, so that these files
  // check the parallel evaluation too (the engine tests compare it with the one-thread one).
  opts.parallel_min_series = 1;
  Engine engine(opts);
  bool native_loaded = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    int lineno = static_cast<int>(i) + 1;
    auto block_end = [&] {
      size_t j = i + 1;
      while (j < lines.size() && !lines[j].empty()) ++j;
      return j;
    };
    std::vector<std::string> toks = Tokens(line);
    const std::string& cmd = toks[0];
    if (cmd == "clear") {
      if (auto cs = storage.Reset(); !cs.ok()) {
        out << base << ":" << lineno << ": cannot reset the test database: " << cs.message()
            << "\n";
        st.failed++;
        return st;
      }
      native_loaded = false;
      continue;
    }
    if (cmd == "load" || cmd == "load_with_nhcb") {
      size_t end = block_end();
      auto interval = toks.size() > 1 ? ParseDuration(toks[1]) : absl::InvalidArgumentError("");
      if (!interval.ok()) {
        out << base << ":" << lineno << ": bad load interval\n";
        st.failed++;
        i = end;
        continue;
      }
      if (cmd == "load_with_nhcb") native_loaded = true;
      std::vector<std::pair<labels::Labels, std::vector<Point>>> batch;
      for (size_t j = i + 1; j < end; ++j) {
        SeriesDesc d;
        std::string err;
        if (!ParseSeriesDesc(lines[j], &d, &err)) {
          out << base << ":" << j + 1 << ": cannot parse series: " << err << "\n";
          st.failed++;
          continue;
        }
        if (d.native_histogram) native_loaded = true;
        std::vector<Point> pts;
        for (size_t k = 0; k < d.values.size(); ++k) {
          if (d.values[k].omitted) continue;
          pts.push_back({static_cast<int64_t>(k) * *interval,
                         d.values[k].stale ? storage::StaleNaN() : d.values[k].v});
        }
        // As in Prometheus' loader, a later line for the same series replaces the earlier one.
        auto same = std::find_if(batch.begin(), batch.end(),
                                 [&](const auto& b) { return b.first == d.metric; });
        if (same != batch.end()) {
          same->second = std::move(pts);
        } else {
          batch.emplace_back(d.metric, std::move(pts));
        }
      }
      if (auto ls = storage.Load(batch); !ls.ok()) {
        out << base << ":" << lineno << ": load failed: " << ls.message() << "\n";
        st.failed++;
      }
      i = end;
      continue;
    }
    if (!HasPrefix(cmd, "eval")) {
      out << base << ":" << lineno << ": unknown command " << cmd << "\n";
      st.failed++;
      continue;
    }
    EvalCmd ev;
    ev.line = lineno;
    if (cmd == "eval_fail") ev.fail = true;
    if (cmd == "eval_warn") ev.warn = true;
    if (cmd == "eval_info") ev.info = true;
    if (cmd == "eval_ordered") ev.ordered = true;
    std::vector<std::string> words;
    std::string rest;
    bool ok = false;
    if (toks.size() > 1 && toks[1] == "instant") {
      // eval instant at <t> <expr>
      if (SplitWords(line, 4, &words, &rest) && words[2] == "at") {
        auto t = ParseTime(words[3]);
        if (t.ok()) {
          ev.start = ev.end = *t;
          ev.expr = rest;
          ok = true;
        }
      }
    } else if (toks.size() > 1 && toks[1] == "range") {
      // eval range from <s> to <e> step <st> <expr>
      if (SplitWords(line, 8, &words, &rest) && words[2] == "from" && words[4] == "to" &&
          words[6] == "step") {
        auto s = ParseTime(words[3]), e = ParseTime(words[5]), p = ParseDuration(words[7]);
        if (s.ok() && e.ok() && p.ok()) {
          ev.range = true;
          ev.start = *s;
          ev.end = *e;
          ev.step = *p;
          ev.expr = rest;
          ok = true;
        }
      }
    }
    size_t end = block_end();
    if (!ok) {
      out << base << ":" << lineno << ": cannot parse eval command\n";
      st.failed++;
      i = end;
      continue;
    }
    std::string parse_err;
    for (size_t j = i + 1; j < end; ++j) {
      std::string_view bl = lines[j];
      if (HasPrefix(bl, "expect ")) {
        std::string_view r = Strip(bl.substr(7));
        size_t sp = r.find_first_of(" \t");
        std::string kind(r.substr(0, sp));
        std::string_view arg = sp == std::string_view::npos ? "" : Strip(r.substr(sp));
        std::string msg, regex;
        if (HasPrefix(arg, "msg:")) msg = std::string(Strip(arg.substr(4)));
        if (HasPrefix(arg, "regex:")) regex = std::string(Strip(arg.substr(6)));
        if (kind == "fail") {
          ev.fail = true;
          ev.fail_msg = msg;
          ev.fail_regex = regex;
        } else if (kind == "warn") {
          ev.warn = true;
          ev.warn_msg = msg;
          ev.warn_regex = regex;
        } else if (kind == "info") {
          ev.info = true;
          ev.info_msg = msg;
          ev.info_regex = regex;
        } else if (kind == "no_warn") {
          ev.no_warn = true;
        } else if (kind == "no_info") {
          ev.no_info = true;
        } else if (kind == "ordered") {
          ev.ordered = true;
        } else {
          parse_err = "unknown expectation " + kind;
        }
        continue;
      }
      if (HasPrefix(bl, "expected_fail_message ")) {
        ev.fail_msg = std::string(Strip(bl.substr(22)));
        continue;
      }
      if (HasPrefix(bl, "expected_fail_regexp ")) {
        ev.fail_regex = std::string(Strip(bl.substr(21)));
        continue;
      }
      double num;
      if (ParseNum(bl, &num)) {
        ev.scalar_expected = true;
        ev.scalar = num;
        continue;
      }
      SeriesDesc d;
      std::string err;
      if (!ParseSeriesDesc(bl, &d, &err)) {
        parse_err = "cannot parse expected result: " + err;
        continue;
      }
      if (d.native_histogram) ev.native = true;
      ev.series.push_back(std::move(d));
    }
    i = end;
    std::string key = base + ":" + std::to_string(lineno);
    bool excluded = exclusions.count(key) > 0;
    if (ev.native) {
      st.skipped++;
      continue;
    }
    std::string diff = parse_err;
    if (diff.empty()) {
      absl::StatusOr<Result> res =
          ev.range ? engine.RangeQuery(storage.Get(), ev.expr, ev.start, ev.end, ev.step)
                   : engine.InstantQuery(storage.Get(), ev.expr, ev.start);
      diff = Check(ev, res);
      if (diff.empty() && !ev.range && !ev.fail && !ev.ordered && res.ok() &&
          (std::holds_alternative<Vector>(res->value) ||
           std::holds_alternative<Scalar>(res->value))) {
        diff = CheckRangeMode(engine, storage.Get(), ev, *res);
      }
      if (diff.empty() && !ev.range && !ev.fail && res.ok()) {
        diff = CheckAtModifier(engine, storage.Get(), ev);
      }
    }
    if (diff.empty()) {
      st.passed++;
      if (excluded) {
        st.stale_exclusions++;
        out << key << ": passes but is listed in the exclusions file (remove it): " << ev.expr
            << "\n";
      }
      continue;
    }
    if (excluded) {
      st.excluded++;
      continue;
    }
    st.failed++;
    out << key << ": FAIL " << ev.expr << "\n    " << diff;
    if (native_loaded) out << " (native histograms were loaded; they are not supported yet)";
    out << "\n";
  }
  return st;
}

int RunPromqlTestFiles(const std::vector<std::string>& files, const std::string& exclusions_file,
                       std::ostream& out) {
  std::set<std::string> excl;
  if (!exclusions_file.empty()) excl = LoadExclusions(exclusions_file);
  int passed = 0, failed = 0, excluded = 0, skipped = 0;
  std::vector<FileStats> all;
  for (const auto& f : files) {
    FileStats s = RunFile(f, excl, out);
    passed += s.passed;
    failed += s.failed;
    excluded += s.excluded;
    skipped += s.skipped;
    all.push_back(s);
  }
  for (const auto& s : all) {
    out << absl::StrFormat("%-28s %4d passed, %3d failed, %3d excluded, %3d skipped\n", s.file,
                           s.passed, s.failed, s.excluded, s.skipped);
  }
  out << passed << " passed, " << failed + excluded << " failed";
  if (excluded > 0 || skipped > 0) {
    out << " (" << excluded << " of them excluded; " << skipped
        << " skipped: native histograms not supported)";
  }
  out << "\n";
  return failed > 0 ? 1 : 0;
}

}  // namespace xscaler::promql::promqltest
