#include "promql/engine.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/civil_date.h"
#include "base/thread_pool.h"
#include "base/utf8.h"
#include "promql/eval_math.h"
#include "promql/functions.h"
#include "promql/parser.h"
#include "promql/printer.h"
#include "promql/range_functions.h"
#include "re2/re2.h"

namespace xscaler::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Unwinds evaluation to Exec, which returns the status.
struct EvalFailure {
  absl::Status status;
};

[[noreturn]] void ExecError(std::string msg) {
  throw EvalFailure{absl::UnknownError(std::move(msg))};
}

// A series during evaluation: for instant-vector values, points sit at step timestamps.
struct ISeries {
  labels::Labels metric;
  std::vector<Point> points;
  bool drop_name = false;
};

struct Val {
  ValueType type = ValueType::kNone;
  std::vector<double> scalar;  // one per step
  std::string str;
  std::vector<ISeries> series;
};

// One element of an instant vector at one step.
struct StepSample {
  const labels::Labels* metric;
  double v;
  bool drop_name;
  uint32_t series;  // index into the Val's series
};

// Per-step instant vectors of a vector value in one allocation: the samples of step i are
// samples[offsets[i] .. offsets[i+1]), in series order.
struct StepVectors {
  std::vector<uint32_t> offsets;
  std::vector<StepSample> samples;
  size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
  std::span<const StepSample> operator[](size_t i) const {
    return {samples.data() + offsets[i], samples.data() + offsets[i + 1]};
  }
};

struct OutSample {
  labels::Labels metric;
  double v;
  bool drop_name;
};

// Collects per-step output samples into series, detecting duplicate label sets within a step.
class Collector {
 public:
  void Add(int64_t t, labels::Labels metric, double v, bool drop_name) {
    auto it = index_.find(metric);
    if (it == index_.end()) {
      index_.emplace(metric, out_.size());
      out_.push_back(ISeries{std::move(metric), {Point{t, v}}, drop_name});
      return;
    }
    ISeries& s = out_[it->second];
    if (!s.points.empty() && s.points.back().t == t) {
      ExecError("vector cannot contain metrics with the same labelset");
    }
    s.points.push_back(Point{t, v});
  }
  std::vector<ISeries> Take() { return std::move(out_); }

 private:
  std::map<labels::Labels, size_t> index_;
  std::vector<ISeries> out_;
};

// Go's container/heap (up / down / Fix) over sample pointers. topk and bottomk must evict
// exactly the element Prometheus evicts: among equal values that is decided by the heap's
// layout, not by input order, so a sort-and-truncate keeps a different set of series on ties.
using SampleHeap = std::vector<const StepSample*>;
using SampleLess = bool (*)(const StepSample*, const StepSample*);

// Prometheus' vectorByValueHeap.Less (min-heap, NaN smallest) and vectorByReverseValueHeap.Less
// (max-heap, NaN on top). Neither is a strict weak ordering when NaNs are present; only the
// heap moves below use them, never std:: algorithms.
bool ValueHeapLess(const StepSample* a, const StepSample* b) {
  return std::isnan(a->v) || a->v < b->v;
}
bool ReverseValueHeapLess(const StepSample* a, const StepSample* b) {
  return std::isnan(a->v) || a->v > b->v;
}

void GoHeapUp(SampleHeap& h, size_t j, SampleLess less) {
  while (j > 0) {
    size_t i = (j - 1) / 2;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    j = i;
  }
}

bool GoHeapDown(SampleHeap& h, size_t i0, SampleLess less) {
  size_t n = h.size();
  size_t i = i0;
  for (;;) {
    size_t j = 2 * i + 1;
    if (j >= n) break;
    if (j + 1 < n && less(h[j + 1], h[j])) ++j;
    if (!less(h[j], h[i])) break;
    std::swap(h[i], h[j]);
    i = j;
  }
  return i > i0;
}

void GoHeapPush(SampleHeap& h, const StepSample* s, SampleLess less) {
  h.push_back(s);
  GoHeapUp(h, h.size() - 1, less);
}

void GoHeapFix(SampleHeap& h, size_t i, SampleLess less) {
  if (!GoHeapDown(h, i, less)) GoHeapUp(h, i, less);
}

// sort.Sort(sort.Reverse(heap)): Go sorts up to 12 elements with this insertion sort, which
// fixes the output order of tied values. Longer heaps use pdqsort in Go; there a stable sort
// with NaN last gives the same order whenever the values are distinct.
void GoSortReverse(SampleHeap& h, SampleLess less) {
  if (h.size() <= 12) {
    for (size_t i = 1; i < h.size(); ++i) {
      for (size_t j = i; j > 0 && less(h[j - 1], h[j]); --j) std::swap(h[j], h[j - 1]);
    }
    return;
  }
  bool top = less == &ValueHeapLess;
  std::stable_sort(h.begin(), h.end(), [top](const StepSample* x, const StepSample* y) {
    if (std::isnan(x->v)) return false;
    if (std::isnan(y->v)) return true;
    return top ? x->v > y->v : x->v < y->v;
  });
}

// Saturating arithmetic for timestamps: extreme `@`/offset/range values must not overflow.
int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}
int64_t SatAdd(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// Go's math.Min/Max: NaN wins, and the infinities dominate.
double GoMax(double a, double b) {
  if (std::isinf(a) && a > 0) return a;
  if (std::isinf(b) && b > 0) return b;
  if (std::isnan(a) || std::isnan(b)) return kNaN;
  if (a == 0 && b == 0) return std::signbit(a) ? b : a;  // Go: Max(-0, +0) = +0
  return a > b ? a : b;
}
double GoMin(double a, double b) {
  if (std::isinf(a) && a < 0) return a;
  if (std::isinf(b) && b < 0) return b;
  if (std::isnan(a) || std::isnan(b)) return kNaN;
  if (a == 0 && b == 0) return std::signbit(a) ? a : b;  // Go: Min(-0, +0) = -0
  return a < b ? a : b;
}

// Prometheus' labels.Labels.String(): {a="1", b="2"} with the metric name as a label.
std::string PromLabelString(const labels::Labels& l) {
  std::string out = "{";
  bool first = true;
  for (const auto& lb : l) {
    if (!first) out += ", ";
    first = false;
    out += lb.name + "=" + QuoteString(lb.value);
  }
  return out + "}";
}

std::string SignatureOf(const labels::Labels& l, const std::vector<std::string>& names, bool on) {
  std::string sig;
  if (on) {
    for (const auto& n : names) {
      if (!l.Has(n)) continue;
      sig += n;
      sig += '\xff';
      sig += l.Get(n);
      sig += '\xff';
    }
    return sig;
  }
  for (const auto& lb : l) {
    if (lb.name == labels::kMetricName) continue;
    if (std::find(names.begin(), names.end(), lb.name) != names.end()) continue;
    sig += lb.name;
    sig += '\xff';
    sig += lb.value;
    sig += '\xff';
  }
  return sig;
}

// Appends `f` length-prefixed, so that a sequence of fields is identified unambiguously
// whatever bytes the fields hold.
void AppendField(std::string* sig, std::string_view f) {
  const auto n = static_cast<uint32_t>(f.size());
  sig->append(reinterpret_cast<const char*>(&n), sizeof(n));
  sig->append(f);
}

// `l` without the label `name`: equal to LabelsBuilder(l).Del(name).Build() (labels stay
// sorted, so no re-sort is needed).
labels::Labels WithoutLabel(const labels::Labels& l, std::string_view name) {
  if (!l.Has(name)) return l;
  std::vector<labels::Label> items;
  items.reserve(l.size() - 1);
  for (const auto& lb : l) {
    if (lb.name != name) items.push_back(lb);
  }
  return labels::Labels::FromSorted(std::move(items));
}

labels::Labels DropName(const labels::Labels& l) { return WithoutLabel(l, labels::kMetricName); }

uint64_t PromHash(const labels::Labels& l) {
  std::string b;
  for (const auto& lb : l) {
    b += lb.name;
    b += '\xff';
    b += lb.value;
    b += '\xff';
  }
  return XXHash64(b.data(), b.size());
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0, len; i < s.size(); i += len) {
    len = base::Utf8SequenceLengthLax(s, i);
    if (len == 0) return false;
  }
  return true;
}

struct CivilTime {
  int64_t year;
  int month, day, hour, minute, wday, yday;
};

CivilTime ToCivil(double secs) {
  int64_t t = static_cast<int64_t>(secs);
  int64_t days = t / 86400;
  int64_t rem = t % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  CivilTime c;
  c.hour = static_cast<int>(rem / 3600);
  c.minute = static_cast<int>(rem % 3600 / 60);
  c.wday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  base::CivilDate date = base::CivilFromDays(days);
  c.year = date.year;
  c.month = date.month;
  c.day = date.day;
  static constexpr int kCum[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  bool leap = (c.year % 4 == 0 && c.year % 100 != 0) || c.year % 400 == 0;
  c.yday = kCum[c.month - 1] + c.day + (leap && c.month > 2 ? 1 : 0);
  return c;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// Natural ("version") order for sort_by_label: digit runs compare numerically.
int NaturalCompare(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) &&
        std::isdigit(static_cast<unsigned char>(b[j]))) {
      size_t si = i, sj = j;
      while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
      while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
      std::string_view na = a.substr(si, i - si), nb = b.substr(sj, j - sj);
      while (na.size() > 1 && na[0] == '0') na.remove_prefix(1);
      while (nb.size() > 1 && nb[0] == '0') nb.remove_prefix(1);
      if (na.size() != nb.size()) return na.size() < nb.size() ? -1 : 1;
      if (na != nb) return na < nb ? -1 : 1;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
    ++i;
    ++j;
  }
  if (a.size() - i == b.size() - j) return 0;
  return a.size() - i < b.size() - j ? -1 : 1;
}

struct Annotations {
  std::vector<std::string> warnings;
  std::vector<std::string> infos;
  void Warn(std::string m) {
    m = "PromQL warning: " + m;
    if (std::find(warnings.begin(), warnings.end(), m) == warnings.end()) warnings.push_back(m);
  }
  void Info(std::string m) {
    m = "PromQL info: " + m;
    if (std::find(infos.begin(), infos.end(), m) == infos.end()) infos.push_back(m);
  }
};

struct QueryContext {
  storage::Storage* storage;
  const EngineOptions* opts;
  int64_t lookback_ms;
  const std::atomic<bool>* cancel = nullptr;
  int64_t query_start;
  int64_t query_end;
  std::chrono::steady_clock::time_point deadline;
  bool has_deadline = false;
  int64_t samples = 0;
  Annotations annos;
};

// Series and their raw samples plus the per-step window bounds of a range argument.
struct RangeData {
  // Subqueries: the evaluated inner series. Matrix selectors: empty, the series are streamed
  // from storage by ForEachRangeSeries (within [mint, maxt]).
  std::vector<ISeries> series;  // raw samples (no stale markers)
  int64_t mint = 0, maxt = 0;
  std::vector<int64_t> window_end;  // per step: evaluation time after @/offset
  int64_t range = 0;
  const Expr* selector = nullptr;  // the VectorSelector for matrix selectors (for absent_*)
};

// A range function's evaluation over one series, apart from the samples: plain data that the
// query's thread sets up and workers read concurrently.
struct RangeFnSpec {
  std::string_view name;
  const RangeData* rd;
  const std::vector<Val>* scalars;  // the call's arguments by position (matrix_arg unused)
  size_t matrix_arg;
  int64_t start;     // the query's first step
  int64_t interval;  // its step
  size_t steps;
  bool rate_like;  // rate/increase: series not named like counters get an info annotation
  // rate/increase/delta skip EvalWindowFunction's lookup by name (the same computation).
  enum class Extrapolated { kNo, kRate, kIncrease, kDelta } extrapolated = Extrapolated::kNo;
};

// What evaluating one series recorded instead of touching the query: the annotations and the
// "unsupported" error, replayed on the query's thread in series order (ReplayNotes), so that
// annotations, their order and the first error are those of the sequential evaluation.
struct RangeFnNotes {
  std::vector<std::string> warnings;
  bool not_counter = false;
  bool unsupported = false;
  void Clear() {
    warnings.clear();
    not_counter = false;
    unsupported = false;
  }
};

// Whether `name` passes rate's counter naming check (always, for other functions).
bool CounterNamed(const RangeFnSpec& f, std::string_view name) {
  return !f.rate_like || name.ends_with("_total") || name.ends_with("_sum") ||
         name.ends_with("_count") || name.ends_with("_bucket");
}

// The points of range function `f` over one series' raw samples `pts` (in time order, no
// stale markers), one per step with a non-empty window, appended to *out. Pure: touches
// nothing but its arguments, so workers call it concurrently.
void RangeFunctionPoints(const RangeFnSpec& f, bool counter_named, std::span<const Point> pts,
                         std::vector<Point>* out, RangeFnNotes* notes) {
  const RangeData& rd = *f.rd;
  bool noted = counter_named;
  // Window ends never decrease from step to step (they are the step times, or one `@` time,
  // minus a fixed offset) and the range is fixed, so both window bounds only move forward.
  size_t lo = 0, hi = 0;
  int64_t prev_te = std::numeric_limits<int64_t>::min();
  std::string warning;
  for (size_t i = 0; i < f.steps; ++i) {
    const int64_t te = rd.window_end[i];
    if (te < prev_te) lo = hi = 0;  // not expected; stay correct regardless
    prev_te = te;
    const int64_t from = SatSub(te, rd.range);
    while (lo < pts.size() && pts[lo].t <= from) ++lo;
    if (hi < lo) hi = lo;
    while (hi < pts.size() && pts[hi].t <= te) ++hi;
    if (hi == lo) continue;
    const int64_t step_time = f.start + static_cast<int64_t>(i) * f.interval;
    double v;
    if (f.extrapolated != RangeFnSpec::Extrapolated::kNo) {
      if (!ExtrapolatedRate(pts.subspan(lo, hi - lo), te, rd.range,
                            f.extrapolated != RangeFnSpec::Extrapolated::kDelta,
                            f.extrapolated == RangeFnSpec::Extrapolated::kRate, &v)) {
        continue;
      }
      if (!noted) {
        notes->not_counter = true;
        noted = true;
      }
      out->push_back({step_time, v});
      continue;
    }
    WindowArgs wa{te, rd.range, step_time, {0, 0, 0}};
    for (size_t k = 0; k < f.scalars->size() && k < 3; ++k) {
      if (k != f.matrix_arg) wa.arg[k] = (*f.scalars)[k].scalar[i];
    }
    warning.clear();
    WindowStatus ws = EvalWindowFunction(f.name, pts.subspan(lo, hi - lo), wa, &v, &warning);
    if (!warning.empty()) notes->warnings.push_back(warning);
    if (ws == WindowStatus::kUnsupported) {
      notes->unsupported = true;
      return;
    }
    if (ws == WindowStatus::kEmpty) continue;
    if (!noted) {
      notes->not_counter = true;
      noted = true;
    }
    out->push_back({step_time, v});
  }
}

// One storage series in flight: its iterator is opened on the query's thread (the SeriesSet
// is consumed there, in order), a worker reads it and applies the range function, and the
// query's thread consumes the result in series order.
struct SeriesTask {
  std::unique_ptr<storage::SampleIterator> it;
  bool counter_named = true;
  std::string metric_name;  // only when !counter_named (for the info annotation)
  // Set by the worker.
  bool abandoned = false;  // the query was canceled or timed out first
  absl::Status err;        // the iterator's error
  int64_t raw = 0;         // samples read in [mint, maxt] (counted against max_samples)
  std::vector<Point> out;  // the function's points
  RangeFnNotes notes;
};

// Series pulled from storage per round; each round is evaluated (in parallel) and then
// consumed in order. Bounds the raw iterators and results held at once.
constexpr size_t kSeriesBatch = 512;
// Rounds pulled ahead of the one being consumed, so the query's thread has work while a worker
// finishes (or is descheduled in) the oldest.
constexpr size_t kRoundsInFlight = 3;
// Slots that pull/consume callbacks of EvalRangeSeries index.
constexpr size_t kSeriesSlots = kSeriesBatch * kRoundsInFlight;
// Series per parallel work item, at most.
constexpr size_t kSeriesPerItem = 8;
// Samples a worker's read buffer may keep between work items (16 MiB).
constexpr size_t kMaxKeptBuffer = size_t{1} << 20;

class Evaluator {
 public:
  Evaluator(QueryContext* ctx, int64_t start, int64_t end, int64_t interval)
      : ctx_(ctx), start_(start), end_(end), interval_(interval) {}

  size_t NumSteps() const { return static_cast<size_t>((end_ - start_) / interval_) + 1; }
  int64_t StepTime(size_t i) const { return start_ + static_cast<int64_t>(i) * interval_; }
  size_t StepIndex(int64_t t) const { return static_cast<size_t>((t - start_) / interval_); }

  Val Eval(const Expr& e) {
    Val v = EvalNode(e);
    if (!ctx_->opts->delayed_name_removal && v.type == ValueType::kVector) DropNamesNow(&v);
    return v;
  }

 private:
  // Without delayed name removal, a marked __name__ goes as soon as the node is evaluated;
  // series that become identical merge, and colliding samples at one step are an error.
  void DropNamesNow(Val* v) {
    bool any = false;
    for (const auto& s : v->series) any = any || s.drop_name;
    if (!any) return;
    // Usually no two series differ only in their name: then renaming in place is what the
    // merging Relabel below does. Distinct hashes prove it; on any hash clash (a real
    // collision or not) Relabel decides exactly as before.
    std::vector<labels::Labels> renamed;
    renamed.reserve(v->series.size());
    absl::flat_hash_set<uint64_t> hashes;
    hashes.reserve(v->series.size());
    bool clash = false;
    for (const auto& s : v->series) {
      renamed.push_back(DropName(s.metric));
      if (!hashes.insert(renamed.back().Hash()).second) {
        clash = true;
        break;
      }
    }
    if (!clash) {
      for (size_t k = 0; k < v->series.size(); ++k) {
        v->series[k].metric = std::move(renamed[k]);
        v->series[k].drop_name = false;
      }
      return;
    }
    renamed.clear();
    *v = Relabel(std::move(*v), [](const labels::Labels& l, bool*) { return DropName(l); });
    for (auto& s : v->series) s.drop_name = false;
  }

  Val EvalNode(const Expr& e) {
    CheckDeadline();
    if (const auto* n = e.As<NumberLiteral>()) return ScalarVal(n->value);
    if (const auto* s = e.As<StringLiteral>()) {
      Val v;
      v.type = ValueType::kString;
      v.str = s->value;
      return v;
    }
    if (const auto* p = e.As<ParenExpr>()) return Eval(*p->expr);
    if (const auto* u = e.As<UnaryExpr>()) return EvalUnary(*u);
    if (const auto* vs = e.As<VectorSelector>()) return EvalVectorSelector(*vs, false);
    if (e.As<MatrixSelector>() || e.As<SubqueryExpr>()) {
      // Only reached for an instant query returning a range vector.
      RangeData rd = EvalRange(e);
      Val v;
      v.type = ValueType::kMatrix;
      ForEachRangeSeries(rd, [&](ISeries&& s) {
        ISeries out{s.metric, {}, s.drop_name};
        int64_t te = rd.window_end[0];
        for (const auto& p : s.points) {
          if (p.t > SatSub(te, rd.range) && p.t <= te) out.points.push_back(p);
        }
        AddSamples(static_cast<int64_t>(out.points.size()));
        if (!out.points.empty()) v.series.push_back(std::move(out));
      });
      return v;
    }
    if (const auto* b = e.As<BinaryExpr>()) return EvalBinary(*b);
    if (const auto* a = e.As<AggregateExpr>()) return EvalAggregate(*a);
    if (const auto* c = e.As<Call>()) return EvalCall(*c);
    ExecError("unhandled expression type");
  }

  void CheckDeadline() {
    if (ctx_->cancel != nullptr && ctx_->cancel->load(std::memory_order_relaxed)) {
      throw EvalFailure{absl::CancelledError("query was canceled in expression evaluation")};
    }
    if (ctx_->has_deadline && std::chrono::steady_clock::now() > ctx_->deadline) {
      throw EvalFailure{absl::DeadlineExceededError("query timed out in expression evaluation")};
    }
  }

  void ReleaseSamples(int64_t n) { ctx_->samples -= n; }

  void AddSamples(int64_t n) {
    ctx_->samples += n;
    if (ctx_->samples > ctx_->opts->max_samples) {
      throw EvalFailure{absl::ResourceExhaustedError(
          "query processing would load too many samples into memory in query execution")};
    }
  }

  Val ScalarVal(double v) {
    Val r;
    r.type = ValueType::kScalar;
    r.scalar.assign(NumSteps(), v);
    return r;
  }

  int64_t AtTime(const AtModifier& at, int64_t t) const {
    switch (at.kind) {
      case AtKind::kNone:
        return t;
      case AtKind::kTimestamp:
        return at.timestamp_ms;
      case AtKind::kStart:
        return ctx_->query_start;
      case AtKind::kEnd:
        return ctx_->query_end;
    }
    return t;
  }

  // Loads every series matching `vs` with its samples in [mint, maxt].
  // Streams every series matching `vs` with its samples in [mint, maxt] to `fn`, one at a
  // time, so only one series' raw samples are held (and counted against max_samples) at once.
  void ForEachSeries(const VectorSelector& vs, int64_t mint, int64_t maxt, bool drop_stale,
                     const std::function<void(ISeries&&)>& fn) {
    ISeries is;
    ForEachRawSeries(vs, mint, maxt, drop_stale,
                     [&](const labels::Labels& metric, std::vector<Point>& points) {
                       is.metric = metric;
                       is.points = std::move(points);
                       is.drop_name = false;
                       fn(std::move(is));
                       // Hand the buffer back (if the callee left it) for the next series.
                       points = std::move(is.points);
                     });
  }

  // The same without copying labels: `fn` gets the storage series' labels (valid during the
  // call) and its samples in a buffer reused across series, which it may take.
  template <typename Fn>
  void ForEachRawSeries(const VectorSelector& vs, int64_t mint, int64_t maxt, bool drop_stale,
                        Fn&& fn) {
    auto q = ctx_->storage->NewQuerier(mint, maxt);
    auto set = q->Select(vs.matchers);
    std::vector<Point> points;
    while (set->Next()) {
      CheckDeadline();
      const auto& s = set->At();
      points.clear();
      auto it = s.Iterator();
      while (it->Next()) {
        auto [t, v] = it->At();
        if (t < mint || t > maxt) continue;
        if (drop_stale && storage::IsStaleNaN(v)) continue;
        points.push_back(Point{t, v});
      }
      if (!it->Err().ok()) throw EvalFailure{it->Err()};
      int64_t n = static_cast<int64_t>(points.size());
      AddSamples(n);
      fn(s.Labels(), points);
      ReleaseSamples(n);
    }
    if (!set->Err().ok()) throw EvalFailure{set->Err()};
  }

  // Instant-vector selector at every step. With `timestamps`, the value is the sample's
  // timestamp in seconds (for timestamp()).
  Val EvalVectorSelector(const VectorSelector& vs, bool timestamps) {
    size_t n = NumSteps();
    std::vector<int64_t> te(n);
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (size_t i = 0; i < n; ++i) {
      te[i] = SatSub(AtTime(vs.at, StepTime(i)), vs.offset_ms);
      lo = std::min(lo, te[i]);
      hi = std::max(hi, te[i]);
    }
    int64_t lookback = ctx_->lookback_ms;
    Val out;
    out.type = ValueType::kVector;
    ForEachSeries(vs, SatAdd(SatSub(lo, lookback), 1), hi, false, [&](ISeries&& s) {
      ISeries o{std::move(s.metric), {}, false};
      for (size_t i = 0; i < n; ++i) {
        auto it = std::upper_bound(s.points.begin(), s.points.end(), te[i],
                                   [](int64_t t, const Point& p) { return t < p.t; });
        if (it == s.points.begin()) continue;
        --it;
        if (it->t <= SatSub(te[i], lookback)) continue;
        if (storage::IsStaleNaN(it->v)) continue;
        o.points.push_back(
            Point{StepTime(i), timestamps ? static_cast<double>(it->t) / 1000.0 : it->v});
      }
      AddSamples(static_cast<int64_t>(o.points.size()));
      if (!o.points.empty()) out.series.push_back(std::move(o));
    });
    return out;
  }

  RangeData EvalRange(const Expr& e0) {
    const Expr& e = Unparen(e0);
    RangeData rd;
    size_t n = NumSteps();
    rd.window_end.resize(n);
    if (const auto* ms = e.As<MatrixSelector>()) {
      const auto& vs = *ms->selector->As<VectorSelector>();
      rd.range = ms->range_ms;
      rd.selector = ms->selector.get();
      int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
      for (size_t i = 0; i < n; ++i) {
        rd.window_end[i] = SatSub(AtTime(vs.at, StepTime(i)), vs.offset_ms);
        lo = std::min(lo, rd.window_end[i]);
        hi = std::max(hi, rd.window_end[i]);
      }
      rd.mint = SatAdd(SatSub(lo, rd.range), 1);
      rd.maxt = hi;
      return rd;
    }
    const auto* sq = e.As<SubqueryExpr>();
    if (sq == nullptr) ExecError("expected a range vector");
    rd.range = sq->range_ms;
    int64_t step = sq->step_ms > 0 ? sq->step_ms : ctx_->opts->default_subquery_step_ms;
    int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
    for (size_t i = 0; i < n; ++i) {
      rd.window_end[i] = SatSub(AtTime(sq->at, StepTime(i)), sq->offset_ms);
      lo = std::min(lo, rd.window_end[i]);
      hi = std::max(hi, rd.window_end[i]);
    }
    int64_t from = SatSub(lo, rd.range);
    int64_t inner_start = step * (from / step);
    if (inner_start <= from) inner_start = SatAdd(inner_start, step);
    if (inner_start > hi) return rd;
    // Every inner step costs memory before any sample is read; bound it like samples.
    if (SatSub(hi, inner_start) / step >= ctx_->opts->max_samples) {
      throw EvalFailure{absl::ResourceExhaustedError(
          "query processing would load too many samples into memory in query execution")};
    }
    Evaluator inner(ctx_, inner_start, hi, step);
    Val v = inner.Eval(*sq->expr);
    if (v.type == ValueType::kScalar) {
      ISeries s;
      for (size_t i = 0; i < v.scalar.size(); ++i)
        s.points.push_back({inner.StepTime(i), v.scalar[i]});
      rd.series.push_back(std::move(s));
    } else {
      rd.series = std::move(v.series);
    }
    return rd;
  }

  RangeFnSpec MakeRangeFnSpec(std::string_view name, const RangeData& rd,
                              const std::vector<Val>& scalars, size_t matrix_arg) const {
    RangeFnSpec f{name,   &rd,       &scalars,   matrix_arg,
                  start_, interval_, NumSteps(), name == "rate" || name == "increase"};
    using E = RangeFnSpec::Extrapolated;
    f.extrapolated = name == "rate"       ? E::kRate
                     : name == "increase" ? E::kIncrease
                     : name == "delta"    ? E::kDelta
                                          : E::kNo;
    return f;
  }

  // Whether the query was canceled or ran out of time. Reads only what stays fixed during the
  // query (and the atomic flag), so workers may call it.
  bool Expired() const {
    if (ctx_->cancel != nullptr && ctx_->cancel->load(std::memory_order_relaxed)) return true;
    return ctx_->has_deadline && std::chrono::steady_clock::now() > ctx_->deadline;
  }

  // A worker's part of one series: read its samples within [mint, maxt] (without staleness
  // markers) into `buf` and apply the range function. Touches only `t`, `buf` and read-only
  // query state.
  void ComputeSeries(const RangeFnSpec& f, SeriesTask* t, std::vector<Point>* buf) const {
    if (Expired()) {
      t->abandoned = true;
      t->it.reset();
      return;
    }
    const int64_t mint = f.rd->mint, maxt = f.rd->maxt;
    // `buf` only grows (its size is its capacity); n counts the samples. Stores through a
    // plain pointer: push_back's end pointer would be reloaded around every virtual call.
    size_t n = 0;
    Point* p = buf->data();
    storage::SampleIterator& it = *t->it;
    while (it.Next()) {
      auto [ts, v] = it.At();
      if (ts < mint || ts > maxt) continue;
      if (storage::IsStaleNaN(v)) continue;
      if (n == buf->size()) {
        buf->resize(std::max<size_t>(256, 2 * n));
        p = buf->data();
      }
      p[n++] = Point{ts, v};
    }
    if (absl::Status st = it.Err(); !st.ok()) {
      t->err = std::move(st);
    } else {
      t->raw = static_cast<int64_t>(n);
      if (t->out.capacity() == 0) t->out.reserve(std::min(f.steps, n));
      RangeFunctionPoints(f, t->counter_named, std::span<const Point>(p, n), &t->out, &t->notes);
    }
    t->it.reset();  // release the chunks here rather than on the query's thread
  }

  // Emits what RangeFunctionPoints recorded for one series, as the sequential evaluation would
  // have at that point.
  void ReplayNotes(const RangeFnSpec& f, const SeriesTask& t) {
    for (const auto& w : t.notes.warnings) ctx_->annos.Warn(w);
    if (t.notes.unsupported) {
      ExecError(
          absl::StrFormat("function \"%s\" is not supported by xScaler yet", std::string(f.name)));
    }
    if (t.notes.not_counter) {
      ctx_->annos.Info(absl::StrFormat(
          "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "
          "\"%s\"",
          t.metric_name));
    }
  }

  // Applies range function `f` to every series of its matrix selector. The SeriesSet is read
  // on this thread in rounds of up to kSeriesBatch series: pull(labels, slot) sees each
  // series' labels (valid during the call) while its iterator is opened. Once the selection has
  // parallel_min_series series, a round's series are read and evaluated on the process-wide
  // pool while this thread pulls the next rounds (up to kRoundsInFlight), helps with any open
  // round, and consumes the oldest when it is complete; smaller selections are evaluated here.
  // consume(slot, task) takes each result in series order, after the checks the sequential
  // evaluation makes at that series (deadline, read error, max_samples), so results,
  // annotations and the first error are the same whichever thread computed what. Slots are
  // < kSeriesSlots and are reused once consumed.
  template <typename Pull, typename Consume>
  void EvalRangeSeries(const RangeFnSpec& f, Pull&& pull, Consume&& consume) {
    const RangeData& rd = *f.rd;
    const auto& vs = *rd.selector->As<VectorSelector>();
    auto q = ctx_->storage->NewQuerier(rd.mint, rd.maxt);
    auto set = q->Select(vs.matchers);
    const size_t min_parallel = static_cast<size_t>(std::max(0, ctx_->opts->parallel_min_series));
    base::ThreadPool& pool = base::ThreadPool::Default();
    // The query's thread works too: with one helper fewer than the pool has, a query keeps to
    // the machine's cores.
    const int helpers = std::max(1, pool.size() - 1);
    struct Round {
      std::vector<SeriesTask> tasks;
      size_t n = 0;
      std::unique_ptr<base::ThreadPool::Loop> loop;  // null: already computed
    };
    // Set when leaving (early, on an error): unstarted series are skipped, and the loops'
    // destructors wait for the running ones. Declaration order matters: `leave` sets the flag,
    // then `ring` goes, before anything the workers use.
    std::atomic<bool> leaving{false};
    std::array<Round, kRoundsInFlight> ring;
    struct Leave {
      std::atomic<bool>* flag;
      ~Leave() { flag->store(true); }
    } leave{&leaving};
    std::vector<Point> buf;
    size_t pulled = 0;
    size_t head = 0, tail = 0;  // rounds [head, tail) are pulled and not yet consumed
    bool more = true;
    for (;;) {
      if (more && tail - head < kRoundsInFlight) {
        CheckDeadline();
        Round& r = ring[tail % kRoundsInFlight];
        const size_t base = (tail % kRoundsInFlight) * kSeriesBatch;
        size_t n = 0;
        while (n < kSeriesBatch && (more = set->Next())) {
          const storage::Series& s = set->At();
          if (n == r.tasks.size()) r.tasks.emplace_back();
          SeriesTask& t = r.tasks[n];
          t.it = s.Iterator();
          std::string_view metric_name = s.Labels().MetricName();
          t.counter_named = CounterNamed(f, metric_name);
          if (!t.counter_named) t.metric_name = metric_name;
          t.abandoned = false;
          t.err = absl::OkStatus();
          t.raw = 0;
          t.out.clear();
          t.notes.Clear();
          pull(s.Labels(), base + n);
          ++n;
        }
        if (n == 0) continue;
        r.n = n;
        pulled += n;
        ++tail;
        if (min_parallel > 0 && pulled >= min_parallel && (n > 1 || tail - head > 1)) {
          // Up to kSeriesPerItem series per item, fewer in small rounds so every thread gets
          // some.
          const size_t per_item = std::clamp<size_t>(
              n / (4 * (static_cast<size_t>(pool.size()) + 1)), 1, kSeriesPerItem);
          r.loop = pool.Start(
              (n + per_item - 1) / per_item,
              [this, &f, &r, &leaving, n, per_item](size_t item) {
                // Per thread, reused across items and queries; a huge one is not kept.
                thread_local std::vector<Point> wbuf;
                const size_t end = std::min(n, (item + 1) * per_item);
                for (size_t k = item * per_item; k < end; ++k) {
                  SeriesTask& t = r.tasks[k];
                  if (leaving.load(std::memory_order_relaxed)) {
                    t.abandoned = true;
                    t.it.reset();
                    continue;
                  }
                  try {
                    ComputeSeries(f, &t, &wbuf);
                  } catch (const std::exception& e) {  // bad_alloc: fail the query only
                    t.it.reset();
                    t.err = absl::ResourceExhaustedError(
                        absl::StrCat("query evaluation failed: ", e.what()));
                  }
                }
                if (wbuf.size() > kMaxKeptBuffer) std::vector<Point>().swap(wbuf);
              },
              helpers);
        } else {
          for (size_t k = 0; k < n; ++k) ComputeSeries(f, &r.tasks[k], &buf);
        }
        continue;
      }
      if (head == tail) break;
      Round& r = ring[head % kRoundsInFlight];
      if (r.loop != nullptr) {
        // Help with the oldest round first, then with later ones, rather than wait for a
        // worker that may be descheduled; wait only when nothing is left to claim.
        while (!r.loop->Done()) {
          if (r.loop->RunOne()) continue;
          bool helped = false;
          for (size_t j = head + 1; j < tail && !helped; ++j) {
            Round& o = ring[j % kRoundsInFlight];
            helped = o.loop != nullptr && o.loop->RunOne();
          }
          if (!helped) r.loop->Wait();
        }
        r.loop.reset();
      }
      const size_t base = (head % kRoundsInFlight) * kSeriesBatch;
      for (size_t k = 0; k < r.n; ++k) {
        SeriesTask& t = r.tasks[k];
        CheckDeadline();
        if (t.abandoned) {
          throw EvalFailure{absl::DeadlineExceededError("query timed out in expression evaluation")};
        }
        if (!t.err.ok()) throw EvalFailure{t.err};
        AddSamples(t.raw);
        ReplayNotes(f, t);
        consume(base + k, t);
        ReleaseSamples(t.raw);
      }
      ++head;
    }
    if (!set->Err().ok()) throw EvalFailure{set->Err()};
  }

  void ForEachRangeSeries(RangeData& rd, const std::function<void(ISeries&&)>& fn) {
    if (rd.selector != nullptr) {
      ForEachSeries(*rd.selector->As<VectorSelector>(), rd.mint, rd.maxt, true, fn);
      return;
    }
    for (auto& s : rd.series) fn(std::move(s));
  }

  // Per-step instant vectors of a vector value (counted first, then filled in place).
  StepVectors ByStep(const Val& v) {
    const size_t n = NumSteps();
    StepVectors out;
    out.offsets.assign(n + 1, 0);
    for (const auto& s : v.series) {
      for (const auto& p : s.points) ++out.offsets[StepIndex(p.t) + 1];
    }
    for (size_t i = 0; i < n; ++i) out.offsets[i + 1] += out.offsets[i];
    out.samples.resize(out.offsets[n]);
    std::vector<uint32_t> fill(out.offsets.begin(), out.offsets.end() - 1);
    for (uint32_t k = 0; k < v.series.size(); ++k) {
      const auto& s = v.series[k];
      for (const auto& p : s.points) {
        out.samples[fill[StepIndex(p.t)]++] = StepSample{&s.metric, p.v, s.drop_name, k};
      }
    }
    return out;
  }

  Val EvalUnary(const UnaryExpr& u) {
    Val v = Eval(*u.expr);
    if (u.op == TokenType::kAdd) return v;
    for (auto& x : v.scalar) x = -x;
    for (auto& s : v.series) {
      s.drop_name = true;
      for (auto& p : s.points) p.v = -p.v;
    }
    return v;
  }

  // Arithmetic/comparison on two floats; *keep false when a comparison is false.
  static double BinOp(TokenType op, double l, double r, bool* keep) {
    *keep = true;
    switch (op) {
      case TokenType::kAdd:
        return l + r;
      case TokenType::kSub:
        return l - r;
      case TokenType::kMul:
        return l * r;
      case TokenType::kDiv:
        return l / r;
      case TokenType::kMod:
        return std::fmod(l, r);
      case TokenType::kPow:
        return std::pow(l, r);
      case TokenType::kAtan2:
        return std::atan2(l, r);
      case TokenType::kEqlc:
        *keep = l == r;
        return l;
      case TokenType::kNeq:
        *keep = l != r;
        return l;
      case TokenType::kGtr:
        *keep = l > r;
        return l;
      case TokenType::kLss:
        *keep = l < r;
        return l;
      case TokenType::kGte:
        *keep = l >= r;
        return l;
      case TokenType::kLte:
        *keep = l <= r;
        return l;
      default:
        ExecError("operator not allowed here");
    }
  }

  Val EvalBinary(const BinaryExpr& b) {
    Val lhs = Eval(*b.lhs);
    Val rhs = Eval(*b.rhs);
    bool drop = !IsComparison(b.op) || b.return_bool;
    if (lhs.type == ValueType::kScalar && rhs.type == ValueType::kScalar) {
      Val out = ScalarVal(0);
      for (size_t i = 0; i < out.scalar.size(); ++i) {
        bool keep;
        double v = BinOp(b.op, lhs.scalar[i], rhs.scalar[i], &keep);
        if (b.return_bool) v = keep ? 1 : 0;
        out.scalar[i] = v;
      }
      return out;
    }
    if (lhs.type == ValueType::kScalar || rhs.type == ValueType::kScalar) {
      bool swap = lhs.type == ValueType::kScalar;
      Val& vec = swap ? rhs : lhs;
      const std::vector<double>& sc = swap ? lhs.scalar : rhs.scalar;
      Val out;
      out.type = ValueType::kVector;
      for (auto& s : vec.series) {
        ISeries o{s.metric, {}, s.drop_name || drop};
        for (const auto& p : s.points) {
          double l = p.v, r = sc[StepIndex(p.t)];
          if (swap) std::swap(l, r);
          bool keep;
          double v = BinOp(b.op, l, r, &keep);
          if (IsComparison(b.op) && swap) v = r;
          if (b.return_bool) {
            v = keep ? 1 : 0;
            keep = true;
          }
          if (keep) o.points.push_back(Point{p.t, v});
        }
        if (!o.points.empty()) out.series.push_back(std::move(o));
      }
      return out;
    }
    return EvalVectorBinary(b, lhs, rhs);
  }

  // Output series of a vector operation, found by label set; two samples for one label set at
  // the same step are an error, as in Prometheus.
  class OutputSet {
   public:
    uint32_t Find(const labels::Labels& l, bool drop_name) {
      auto [it, inserted] = index_.emplace(l, static_cast<uint32_t>(series_.size()));
      if (inserted) series_.push_back(ISeries{l, {}, drop_name});
      return it->second;
    }
    void Add(uint32_t idx, int64_t t, double v) {
      auto& pts = series_[idx].points;
      if (!pts.empty() && pts.back().t == t) {
        ExecError("vector cannot contain metrics with the same labelset");
      }
      pts.push_back(Point{t, v});
    }
    std::vector<ISeries> Take() {
      std::vector<ISeries> out;
      for (auto& s : series_) {
        if (!s.points.empty()) out.push_back(std::move(s));
      }
      return out;
    }

   private:
    std::map<labels::Labels, uint32_t> index_;
    std::vector<ISeries> series_;
  };

  Val EvalVectorBinary(const BinaryExpr& b, const Val& lhs, const Val& rhs) {
    const VectorMatching& vm = *b.matching;
    // Matching signatures are computed once per series and interned to small integers.
    std::map<std::string, uint32_t> sig_ids;
    auto intern = [&](const Val& v) {
      std::vector<uint32_t> ids(v.series.size());
      for (size_t k = 0; k < v.series.size(); ++k) {
        auto [it, ins] = sig_ids.emplace(SignatureOf(v.series[k].metric, vm.matching_labels, vm.on),
                                         static_cast<uint32_t>(sig_ids.size()));
        ids[k] = it->second;
      }
      return ids;
    };
    std::vector<uint32_t> lsig = intern(lhs);
    std::vector<uint32_t> rsig = intern(rhs);
    auto ls = ByStep(lhs);
    auto rs = ByStep(rhs);
    OutputSet outs;
    std::vector<int64_t> lhs_out(lhs.series.size(), -1), rhs_out(rhs.series.size(), -1);
    auto same_series = [&](std::vector<int64_t>& cache, const Val& v, uint32_t k) {
      if (cache[k] < 0) cache[k] = outs.Find(v.series[k].metric, v.series[k].drop_name);
      return static_cast<uint32_t>(cache[k]);
    };
    std::vector<int32_t> mark(sig_ids.size(), -1);  // per-step: sig -> sample index / flag
    std::vector<uint32_t> touched;
    auto reset = [&] {
      for (uint32_t id : touched) mark[id] = -1;
      touched.clear();
    };
    bool one_to_many = vm.card == Cardinality::kOneToMany;
    const std::vector<uint32_t>& many_sig = one_to_many ? rsig : lsig;
    const std::vector<uint32_t>& one_sig = one_to_many ? lsig : rsig;
    absl::flat_hash_map<uint64_t, uint32_t> pair_out;  // (many series, one series) -> output
    std::vector<int32_t> matched(sig_ids.size(), -1);  // one-to-one: sig seen this step
    absl::flat_hash_map<uint64_t, char> group_seen;    // many-to-one: (sig, output) this step
    for (size_t i = 0; i < NumSteps(); ++i) {
      CheckDeadline();
      int64_t t = StepTime(i);
      const auto& L = ls[i];
      const auto& R = rs[i];
      if (b.op == TokenType::kLand || b.op == TokenType::kLunless) {
        for (const auto& r : R) {
          if (mark[rsig[r.series]] < 0) touched.push_back(rsig[r.series]);
          mark[rsig[r.series]] = 1;
        }
        bool want = b.op == TokenType::kLand;
        for (const auto& l : L) {
          if ((mark[lsig[l.series]] >= 0) == want) {
            outs.Add(same_series(lhs_out, lhs, l.series), t, l.v);
          }
        }
        reset();
        continue;
      }
      if (b.op == TokenType::kLor) {
        for (const auto& l : L) {
          if (mark[lsig[l.series]] < 0) touched.push_back(lsig[l.series]);
          mark[lsig[l.series]] = 1;
          outs.Add(same_series(lhs_out, lhs, l.series), t, l.v);
        }
        for (const auto& r : R) {
          if (mark[rsig[r.series]] < 0) outs.Add(same_series(rhs_out, rhs, r.series), t, r.v);
        }
        reset();
        continue;
      }
      const auto& many = one_to_many ? R : L;
      const auto& one = one_to_many ? L : R;
      for (size_t k = 0; k < one.size(); ++k) {
        uint32_t sig = one_sig[one[k].series];
        if (mark[sig] >= 0) {
          const StepSample& prev = one[mark[sig]];
          ExecError(absl::StrFormat(
              "found duplicate series for the match group %s on the %s hand-side of the "
              "operation: [%s, %s];many-to-many matching not allowed: matching labels must be "
              "unique on one side",
              MatchGroupString(*one[k].metric, vm), one_to_many ? "left" : "right",
              PromLabelString(*prev.metric), PromLabelString(*one[k].metric)));
        }
        mark[sig] = static_cast<int32_t>(k);
        touched.push_back(sig);
      }
      for (const auto& m : many) {
        uint32_t sig = many_sig[m.series];
        if (mark[sig] < 0) continue;
        const StepSample& o = one[mark[sig]];
        double fl = m.v, fr = o.v;
        if (one_to_many) std::swap(fl, fr);
        bool keep;
        double v = BinOp(b.op, fl, fr, &keep);
        if (b.return_bool) {
          v = keep ? 1 : 0;
        } else if (!keep) {
          continue;
        }
        uint64_t pair = (static_cast<uint64_t>(m.series) << 32) | o.series;
        auto it = pair_out.find(pair);
        if (it == pair_out.end()) {
          labels::Labels metric = ResultMetric(*m.metric, *o.metric, vm);
          bool drop = !IsComparison(b.op) || b.return_bool || m.drop_name;
          it = pair_out.emplace(pair, outs.Find(metric, drop)).first;
        }
        uint32_t out_idx = it->second;
        if (vm.card == Cardinality::kOneToOne) {
          if (matched[sig] == static_cast<int32_t>(i)) {
            ExecError(
                "multiple matches for labels: many-to-one matching must be explicit "
                "(group_left/group_right)");
          }
          matched[sig] = static_cast<int32_t>(i);
        } else if (!group_seen.emplace((static_cast<uint64_t>(sig) << 32) | out_idx, 1).second) {
          ExecError("multiple matches for labels: grouping labels must ensure unique matches");
        }
        outs.Add(out_idx, t, v);
      }
      group_seen.clear();
      reset();
    }
    Val out;
    out.type = ValueType::kVector;
    out.series = outs.Take();
    return out;
  }

  static std::string MatchGroupString(const labels::Labels& l, const VectorMatching& vm) {
    labels::LabelsBuilder b;
    if (vm.on) {
      for (const auto& n : vm.matching_labels) {
        if (l.Has(n)) b.Set(n, l.Get(n));
      }
    } else {
      b = labels::LabelsBuilder(l);
      b.Del(labels::kMetricName);
      for (const auto& n : vm.matching_labels) b.Del(n);
    }
    return PromLabelString(b.Build());
  }

  static labels::Labels ResultMetric(const labels::Labels& l, const labels::Labels& r,
                                     const VectorMatching& vm) {
    labels::LabelsBuilder b(l);
    if (vm.card == Cardinality::kOneToOne) {
      if (vm.on) {
        labels::LabelsBuilder keep;
        for (const auto& n : vm.matching_labels) {
          if (l.Has(n)) keep.Set(n, l.Get(n));
        }
        if (l.Has(labels::kMetricName)) keep.Set(labels::kMetricName, l.Get(labels::kMetricName));
        b = keep;
      } else {
        for (const auto& n : vm.matching_labels) {
          if (n != labels::kMetricName) b.Del(n);
        }
      }
    }
    for (const auto& n : vm.include) {
      if (r.Has(n)) {
        b.Set(n, r.Get(n));
      } else {
        b.Del(n);
      }
    }
    return b.Build();
  }

  Val EvalAggregate(const AggregateExpr& a) {
    if (Val fused; TryFusedAggregate(a, &fused)) return fused;
    Val param;
    if (a.param) param = Eval(*a.param);
    Val in = Eval(*a.expr);
    auto steps = ByStep(in);
    if (IsReduction(a.op) || a.op == TokenType::kQuantile) {
      return SimpleAggregate(a, param, in, steps);
    }
    Collector col;
    std::string count_label;
    if (a.op == TokenType::kCountValues) {
      count_label = param.str;
      if (count_label.empty() || !IsValidUtf8(count_label)) {
        ExecError(absl::StrFormat("invalid label name %s", QuoteString(count_label)));
      }
    }
    for (size_t i = 0; i < NumSteps(); ++i) {
      CheckDeadline();
      AggregateStep(a, param, i, steps[i], count_label, &col);
    }
    Val out;
    out.type = ValueType::kVector;
    out.series = col.Take();
    return out;
  }

  // Accumulator of one (group, step) of a fused aggregation; count 0 = no sample yet.
  // The aggregations that reduce each group to one value from running sums, counts or
  // extremes (FinishReduction computes it); quantile also reduces but keeps every value.
  static bool IsReduction(TokenType op) {
    switch (op) {
      case TokenType::kSum:
      case TokenType::kAvg:
      case TokenType::kCount:
      case TokenType::kGroup:
      case TokenType::kMin:
      case TokenType::kMax:
      case TokenType::kStddev:
      case TokenType::kStdvar:
        return true;
      default:
        return false;
    }
  }

  // The value of a reducing aggregation's accumulator (FusedState or AggState) for `op`
  // (sum, avg, count, group, min, max, stdvar, stddev; 0 for anything else).
  template <typename State>
  static double FinishReduction(TokenType op, const State& gs) {
    switch (op) {
      case TokenType::kSum:
        return gs.value + gs.c;
      case TokenType::kAvg:
        return gs.incremental ? gs.mean + gs.c : gs.value / gs.count + gs.c / gs.count;
      case TokenType::kCount:
        return gs.count;
      case TokenType::kGroup:
        return 1;
      case TokenType::kMin:
      case TokenType::kMax:
        return gs.value;
      case TokenType::kStdvar:
        return gs.value / gs.count;
      case TokenType::kStddev:
        return std::sqrt(gs.value / gs.count);
      default:
        return 0;
    }
  }

  struct FusedState {
    double value = 0;
    double c = 0;
    double mean = 0;
    double count = 0;
    bool incremental = false;
  };
  struct FuseAbort {};

  // op(f(sel[range])) for the reducing aggregations and the one-argument range functions that
  // drop the metric name, in one pass over storage: each series' window values go straight
  // into per-(group, step) accumulators, without materialising the intermediate vector (its
  // label sets, name removal, per-step regrouping). Additions happen in the order of the
  // step-by-step evaluation (within a group and step, in series order), output series come in
  // the same order, so the result is identical to evaluating the argument first. Applies only
  // when an equality matcher fixes __name__ (so removing it cannot make two series collide,
  // which would be an error or a merge) and the accumulator table stays small; otherwise
  // returns false and the caller evaluates the usual way.
  bool TryFusedAggregate(const AggregateExpr& a, Val* out) {
    if (ctx_->opts->delayed_name_removal || !IsReduction(a.op)) return false;
    const auto* c = Unparen(*a.expr).As<Call>();
    if (c == nullptr || c->args.size() != 1) return false;
    static constexpr std::string_view kFusable[] = {"rate",
                                                    "increase",
                                                    "delta",
                                                    "irate",
                                                    "idelta",
                                                    "deriv",
                                                    "changes",
                                                    "resets",
                                                    "avg_over_time",
                                                    "sum_over_time",
                                                    "count_over_time",
                                                    "min_over_time",
                                                    "max_over_time",
                                                    "stddev_over_time",
                                                    "stdvar_over_time",
                                                    "present_over_time"};
    const std::string_view name = c->func->name;
    if (std::find(std::begin(kFusable), std::end(kFusable), name) == std::end(kFusable)) {
      return false;
    }
    const auto* ms = Unparen(*c->args[0]).As<MatrixSelector>();
    if (ms == nullptr) return false;
    const auto& vs = *ms->selector->As<VectorSelector>();
    if (std::none_of(vs.matchers.begin(), vs.matchers.end(), [](const labels::Matcher& m) {
          return m.type() == labels::MatchType::kEqual && m.name() == labels::kMetricName &&
                 !m.value().empty();
        })) {
      return false;
    }
    // Beyond this many accumulators the per-step evaluation (memory bound by the samples
    // present) is the better plan.
    constexpr size_t kMaxStates = size_t{1} << 21;
    const size_t n = NumSteps();
    if (n > kMaxStates) return false;
    RangeData rd = EvalRange(*c->args[0]);
    const std::vector<Val> no_scalars(1);
    const RangeFnSpec f = MakeRangeFnSpec(name, rd, no_scalars, 0);
    absl::flat_hash_map<std::string, uint32_t> index;
    std::vector<labels::Labels> keys;
    std::vector<FusedState> st;  // st[g * n + i]
    std::vector<uint32_t> first_step, first_series;
    std::vector<uint32_t> group_of(kSeriesSlots);  // per slot
    std::string sig;
    uint32_t k = 0;
    const int64_t samples_before = ctx_->samples;
    try {
      // Groups are created when their first series is pulled, whether or not it yields points
      // (a group without points is not output). This can only give up on fusing earlier than
      // strictly needed, which changes the plan, not the result.
      EvalRangeSeries(
          f,
          [&](const labels::Labels& metric, size_t slot) {
            GroupingSignature(a, metric, &sig, /*name_dropped=*/true);
            auto [it, inserted] = index.try_emplace(sig, static_cast<uint32_t>(keys.size()));
            if (inserted) {
              if ((keys.size() + 1) * n > kMaxStates) throw FuseAbort{};
              keys.push_back(GroupingKey(a, DropName(metric)));
              st.resize(keys.size() * n);
              first_step.push_back(UINT32_MAX);
              first_series.push_back(0);
            }
            group_of[slot] = it->second;
          },
          [&](size_t slot, SeriesTask& t) {
            AddSamples(static_cast<int64_t>(t.out.size()));
            const uint32_t series = k++;
            const uint32_t g = group_of[slot];
            FusedState* gst = &st[g * n];
            // Points are at step times, in step order: find their steps without a division.
            size_t i = 0;
            for (const Point& p : t.out) {
              while (StepTime(i) < p.t) ++i;
              if (i < first_step[g]) {
                first_step[g] = static_cast<uint32_t>(i);
                first_series[g] = series;
              }
              FusedAdd(a.op, &gst[i], p.v);
            }
          });
    } catch (const FuseAbort&) {
      ctx_->samples = samples_before;
      return false;
    }
    std::vector<uint32_t> order(keys.size());
    for (uint32_t g = 0; g < order.size(); ++g) order[g] = g;
    std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
      return std::tie(first_step[x], first_series[x]) < std::tie(first_step[y], first_series[y]);
    });
    out->type = ValueType::kVector;
    out->series.reserve(keys.size());
    for (uint32_t g : order) {
      if (first_step[g] == UINT32_MAX) continue;  // no series of the group had points
      ISeries o{std::move(keys[g]), {}, false};
      for (size_t i = 0; i < n; ++i) {
        const FusedState& gs = st[g * n + i];
        if (gs.count == 0) continue;
        o.points.push_back(Point{StepTime(i), FinishReduction(a.op, gs)});
      }
      out->series.push_back(std::move(o));
    }
    return true;
  }

  // SimpleAggregate's per-sample step for the fused path (no quantile).
  static void FusedAdd(TokenType op, FusedState* gs, double x) {
    if (gs->count == 0) {
      gs->value = x;
      gs->count = 1;
      if (op == TokenType::kStddev || op == TokenType::kStdvar) {
        gs->mean = x;
        gs->value = 0;
        if (std::isinf(x) || std::isnan(x)) gs->value = kNaN;
      }
      return;
    }
    gs->count++;
    switch (op) {
      case TokenType::kSum:
        std::tie(gs->value, gs->c) = KahanSumInc(x, gs->value, gs->c);
        break;
      case TokenType::kAvg: {
        AggState tmp;
        tmp.value = gs->value;
        tmp.c = gs->c;
        tmp.mean = gs->mean;
        tmp.count = gs->count;
        tmp.incremental = gs->incremental;
        AvgAdd(&tmp, x);
        gs->value = tmp.value;
        gs->c = tmp.c;
        gs->mean = tmp.mean;
        gs->incremental = tmp.incremental;
        break;
      }
      case TokenType::kMin:
        if (gs->value > x || std::isnan(gs->value)) gs->value = x;
        break;
      case TokenType::kMax:
        if (gs->value < x || std::isnan(gs->value)) gs->value = x;
        break;
      case TokenType::kStddev:
      case TokenType::kStdvar: {
        double delta = x - gs->mean;
        gs->mean += delta / gs->count;
        gs->value += delta * (x - gs->mean);
        break;
      }
      default:
        break;  // count, group
    }
  }

  // Running state of one group at one step.
  struct AggState {
    double value = 0;  // sum / min / max / stdvar accumulator
    double c = 0;      // Kahan compensation
    double mean = 0;
    double count = 0;
    bool incremental = false;
    std::vector<double> values;  // quantile
  };

  // Aggregations that reduce each group to one value. Group keys are computed once per
  // series; each step touches only the groups present at it.
  Val SimpleAggregate(const AggregateExpr& a, const Val& param, const Val& in,
                      const StepVectors& steps) {
    // Groups are found by a signature of the grouping labels' values; the key label set is
    // built once per group.
    absl::flat_hash_map<std::string, uint32_t> index;
    std::vector<labels::Labels> keys;
    std::vector<uint32_t> group_of(in.series.size());
    std::vector<bool> group_drop;
    bool by_name = !a.without && std::find(a.grouping.begin(), a.grouping.end(),
                                           labels::kMetricName) != a.grouping.end();
    std::string sig;
    for (size_t k = 0; k < in.series.size(); ++k) {
      GroupingSignature(a, in.series[k].metric, &sig);
      auto [it, inserted] = index.try_emplace(sig, static_cast<uint32_t>(keys.size()));
      if (inserted) {
        keys.push_back(GroupingKey(a, in.series[k].metric));
        group_drop.push_back(by_name && in.series[k].drop_name);
      }
      group_of[k] = it->second;
    }
    std::vector<AggState> st(keys.size());
    std::vector<bool> live(keys.size(), false);
    std::vector<int64_t> out_index(keys.size(), -1);
    std::vector<uint32_t> touched;
    Val out;
    out.type = ValueType::kVector;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].empty()) continue;
      CheckDeadline();
      double p = a.op == TokenType::kQuantile ? param.scalar[i] : 0;
      if (a.op == TokenType::kQuantile && (std::isnan(p) || p < 0 || p > 1)) {
        ctx_->annos.Warn(
            absl::StrFormat("quantile value should be between 0 and 1, got %s", FormatFloatG(p)));
      }
      for (const auto& smp : steps[i]) {
        uint32_t g = group_of[smp.series];
        AggState& gs = st[g];
        double x = smp.v;
        if (!live[g]) {
          live[g] = true;
          touched.push_back(g);
          gs.value = x;
          gs.c = 0;
          gs.mean = 0;
          gs.count = 1;
          gs.incremental = false;
          gs.values.clear();
          if (a.op == TokenType::kStddev || a.op == TokenType::kStdvar) {
            gs.mean = x;
            gs.value = 0;
            if (std::isinf(x) || std::isnan(x)) gs.value = kNaN;
          }
          if (a.op == TokenType::kQuantile) gs.values.push_back(x);
          continue;
        }
        gs.count++;
        switch (a.op) {
          case TokenType::kSum:
            std::tie(gs.value, gs.c) = KahanSumInc(x, gs.value, gs.c);
            break;
          case TokenType::kAvg:
            AvgAdd(&gs, x);
            break;
          case TokenType::kMin:
            if (gs.value > x || std::isnan(gs.value)) gs.value = x;
            break;
          case TokenType::kMax:
            if (gs.value < x || std::isnan(gs.value)) gs.value = x;
            break;
          case TokenType::kStddev:
          case TokenType::kStdvar: {
            double delta = x - gs.mean;
            gs.mean += delta / gs.count;
            gs.value += delta * (x - gs.mean);
            break;
          }
          case TokenType::kQuantile:
            gs.values.push_back(x);
            break;
          default:
            break;  // count, group
        }
      }
      int64_t t = StepTime(i);
      for (uint32_t g : touched) {
        AggState& gs = st[g];
        live[g] = false;
        const double v = a.op == TokenType::kQuantile ? Quantile(p, std::move(gs.values))
                                                      : FinishReduction(a.op, gs);
        if (out_index[g] < 0) {
          out_index[g] = static_cast<int64_t>(out.series.size());
          out.series.push_back(ISeries{keys[g], {}, group_drop[g]});
        }
        out.series[out_index[g]].points.push_back(Point{t, v});
      }
      touched.clear();
    }
    return out;
  }

  // One step of Prometheus' mean: Kahan-compensated sum, switching to an incremental mean
  // when the sum would overflow. REQUIRES: gs->count already counts x.
  static void AvgAdd(AggState* gs, double x) {
    if (!gs->incremental) {
      auto [ns, nc] = KahanSumInc(x, gs->value, gs->c);
      if (!std::isinf(ns)) {
        gs->value = ns;
        gs->c = nc;
        return;
      }
      gs->incremental = true;
      gs->mean = gs->value / (gs->count - 1);
      gs->c /= gs->count - 1;
    }
    if (std::isinf(gs->mean)) {
      if (std::isinf(x) && (gs->mean > 0) == (x > 0)) return;
      if (!std::isinf(x) && !std::isnan(x)) return;
    }
    double current = gs->mean + gs->c;
    std::tie(gs->mean, gs->c) = KahanSumInc(x / gs->count - current / gs->count, gs->mean, gs->c);
  }

  // A byte string equal for two label sets exactly when their GroupingKeys are equal.
  // With `name_dropped`, for `l` as if its __name__ had been removed.
  static void GroupingSignature(const AggregateExpr& a, const labels::Labels& l, std::string* sig,
                                bool name_dropped = false) {
    sig->clear();
    if (a.without) {
      for (const auto& lb : l) {
        if (lb.name == labels::kMetricName) continue;
        if (std::find(a.grouping.begin(), a.grouping.end(), lb.name) != a.grouping.end()) {
          continue;
        }
        AppendField(sig, lb.name);
        AppendField(sig, lb.value);
      }
      return;
    }
    // Labels never hold empty values, so an absent label and "" are the same key.
    for (const auto& g : a.grouping) {
      AppendField(sig, name_dropped && g == labels::kMetricName ? std::string_view() : l.Get(g));
    }
  }

  labels::Labels GroupingKey(const AggregateExpr& a, const labels::Labels& l) {
    if (a.without) {
      labels::LabelsBuilder b(l);
      b.Del(labels::kMetricName);
      for (const auto& g : a.grouping) b.Del(g);
      return b.Build();
    }
    labels::LabelsBuilder b;
    for (const auto& g : a.grouping) {
      if (l.Has(g)) b.Set(g, l.Get(g));
    }
    return b.Build();
  }

  struct Group {
    labels::Labels key;
    std::vector<const StepSample*> members;
  };

  void AggregateStep(const AggregateExpr& a, const Val& param, size_t step,
                     std::span<const StepSample> in, const std::string& count_label,
                     Collector* col) {
    int64_t t = StepTime(step);
    if (a.op == TokenType::kCountValues) {
      std::map<labels::Labels, std::pair<size_t, double>> counts;
      size_t order = 0;
      for (const auto& s : in) {
        labels::LabelsBuilder lb(*s.metric);
        lb.Set(count_label, FormatFloatF(s.v));
        labels::Labels with = lb.Build();
        AggregateExpr tmp;
        tmp.without = a.without;
        tmp.grouping = a.grouping;
        if (!a.without) {
          tmp.grouping.push_back(count_label);
        } else {
          tmp.grouping.erase(std::remove(tmp.grouping.begin(), tmp.grouping.end(), count_label),
                             tmp.grouping.end());
        }
        labels::Labels key = GroupingKey(tmp, with);
        auto [it, ins] = counts.emplace(key, std::make_pair(order++, 0.0));
        it->second.second += 1;
      }
      std::vector<std::pair<size_t, std::pair<labels::Labels, double>>> ordered;
      for (auto& [k, v] : counts) ordered.push_back({v.first, {k, v.second}});
      std::sort(ordered.begin(), ordered.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
      for (auto& [o, kv] : ordered) col->Add(t, kv.first, kv.second, false);
      return;
    }
    // Group preserving first-appearance order.
    std::vector<Group> groups;
    std::map<labels::Labels, size_t> gi;
    for (const auto& s : in) {
      labels::Labels key = GroupingKey(a, *s.metric);
      auto it = gi.find(key);
      if (it == gi.end()) {
        gi.emplace(key, groups.size());
        groups.push_back(Group{std::move(key), {&s}});
      } else {
        groups[it->second].members.push_back(&s);
      }
    }
    double p = param.type == ValueType::kScalar ? param.scalar[step] : 0;
    switch (a.op) {
      case TokenType::kTopk:
      case TokenType::kBottomk:
      case TokenType::kLimitk: {
        if (std::isnan(p) || std::abs(p) >= 9.2e18) {
          ExecError(absl::StrFormat("Parameter value %s is out of range", FormatFloatG(p)));
        }
        int64_t k = static_cast<int64_t>(p);
        if (k < 1) return;
        // Mirrors Prometheus' aggregationK: members arrive in the inner expression's series
        // order (storage order: ascending label sets) and go through the same bounded heap.
        const bool top = a.op == TokenType::kTopk;
        const bool bottom = a.op == TokenType::kBottomk;
        SampleLess less = bottom ? &ReverseValueHeapLess : &ValueHeapLess;
        for (auto& g : groups) {
          SampleHeap h;
          h.reserve(static_cast<size_t>(std::min<int64_t>(k, g.members.size())));
          for (const StepSample* s : g.members) {
            if (static_cast<int64_t>(h.size()) < k) {
              // limitk keeps the first k; Go still pushes them through the value heap, which
              // only decides the instant-query output order.
              GoHeapPush(h, s, less);
              continue;
            }
            if (!top && !bottom) break;
            double root = h[0]->v;
            bool replace = top ? root < s->v : root > s->v;
            if (replace || (std::isnan(root) && !std::isnan(s->v))) {
              h[0] = s;
              if (k > 1) GoHeapFix(h, 0, less);
            }
          }
          if ((top || bottom) && h.size() > 1) GoSortReverse(h, less);
          for (const auto* s : h) col->Add(t, *s->metric, s->v, s->drop_name);
        }
        return;
      }
      case TokenType::kLimitRatio: {
        double r = p;
        if (std::isnan(r)) ExecError("Ratio value is NaN");
        if (r > 1) {
          ctx_->annos.Warn(absl::StrFormat(
              "ratio value should be between -1 and 1, got %s, capping to 1", FormatFloatG(r)));
          r = 1;
        } else if (r < -1) {
          ctx_->annos.Warn(absl::StrFormat(
              "ratio value should be between -1 and 1, got %s, capping to -1", FormatFloatG(r)));
          r = -1;
        }
        for (auto& g : groups) {
          // Prometheus pushes the kept samples through its value heap, whose layout is the
          // instant-query output order.
          SampleHeap h;
          for (const auto* s : g.members) {
            double off = static_cast<double>(PromHash(*s->metric)) /
                         static_cast<double>(std::numeric_limits<uint64_t>::max());
            bool take = (r >= 0 && off < r) || (r < 0 && off >= 1.0 + r);
            if (take) GoHeapPush(h, s, &ValueHeapLess);
          }
          for (const auto* s : h) col->Add(t, *s->metric, s->v, s->drop_name);
        }
        return;
      }
      default:
        break;
    }
    ExecError("unsupported aggregation");
  }

  // ---- Functions ----

  Val EvalCall(const Call& c) {
    std::string_view name = c.func->name;
    if (name == "time") {
      Val v = ScalarVal(0);
      for (size_t i = 0; i < v.scalar.size(); ++i) v.scalar[i] = StepTime(i) / 1000.0;
      return v;
    }
    if (name == "pi") return ScalarVal(M_PI);
    if (name == "vector") {
      Val s = Eval(*c.args[0]);
      Val out;
      out.type = ValueType::kVector;
      ISeries o;
      for (size_t i = 0; i < s.scalar.size(); ++i) o.points.push_back({StepTime(i), s.scalar[i]});
      out.series.push_back(std::move(o));
      return out;
    }
    if (name == "scalar") {
      Val in = Eval(*c.args[0]);
      Val out = ScalarVal(kNaN);
      std::vector<int> counts(NumSteps(), 0);
      for (const auto& s : in.series) {
        for (const auto& p : s.points) {
          size_t i = StepIndex(p.t);
          out.scalar[i] = ++counts[i] == 1 ? p.v : kNaN;
        }
      }
      return out;
    }
    if (name == "timestamp") {
      const Expr& arg = Unparen(*c.args[0]);
      Val in;
      if (const auto* vs = arg.As<VectorSelector>()) {
        in = EvalVectorSelector(*vs, true);
      } else {
        in = Eval(arg);
        for (auto& s : in.series) {
          for (auto& p : s.points) p.v = p.t / 1000.0;
        }
      }
      for (auto& s : in.series) s.drop_name = true;
      return in;
    }
    if (c.func->arg_types.size() >= 1 &&
        std::any_of(c.func->arg_types.begin(), c.func->arg_types.end(),
                    [](ValueType t) { return t == ValueType::kMatrix; })) {
      return EvalRangeFunction(c);
    }
    if (name == "absent") {
      Val in = Eval(*c.args[0]);
      std::vector<bool> present(NumSteps(), false);
      for (const auto& s : in.series) {
        for (const auto& p : s.points) present[StepIndex(p.t)] = true;
      }
      Val out;
      out.type = ValueType::kVector;
      ISeries o{AbsentLabels(*c.args[0]), {}, false};
      for (size_t i = 0; i < present.size(); ++i) {
        if (!present[i]) o.points.push_back({StepTime(i), 1});
      }
      if (!o.points.empty()) out.series.push_back(std::move(o));
      return out;
    }
    if (name == "label_replace") return LabelReplace(c);
    if (name == "label_join") return LabelJoin(c);
    if (name == "sort" || name == "sort_desc") {
      Val in = Eval(*c.args[0]);
      bool desc = name == "sort_desc";
      SortSeriesByLastValue(&in, desc);
      return in;
    }
    if (name == "sort_by_label" || name == "sort_by_label_desc") {
      Val in = Eval(*c.args[0]);
      std::vector<std::string> names;
      for (size_t i = 1; i < c.args.size(); ++i) names.push_back(Eval(*c.args[i]).str);
      bool desc = name == "sort_by_label_desc";
      std::stable_sort(in.series.begin(), in.series.end(), [&](const ISeries& x, const ISeries& y) {
        for (const auto& n : names) {
          int cmp = NaturalCompare(x.metric.Get(n), y.metric.Get(n));
          if (cmp != 0) return desc ? cmp > 0 : cmp < 0;
        }
        return desc ? y.metric < x.metric : x.metric < y.metric;
      });
      return in;
    }
    if (name == "histogram_quantile") return HistogramQuantile(c);
    if (name == "histogram_avg" || name == "histogram_count" || name == "histogram_sum" ||
        name == "histogram_stddev" || name == "histogram_stdvar" || name == "histogram_fraction") {
      // These read native histograms only; float samples are ignored.
      for (const auto& a : c.args) Eval(*a);
      Val out;
      out.type = ValueType::kVector;
      return out;
    }
    if (name == "info") {
      ExecError("function \"info\" is not supported by xScaler yet");
    }
    return EvalPointwise(c, name);
  }

  void SortSeriesByLastValue(Val* in, bool desc) {
    auto last = [](const ISeries& s) { return s.points.empty() ? kNaN : s.points.back().v; };
    std::stable_sort(in->series.begin(), in->series.end(), [&](const ISeries& x, const ISeries& y) {
      double a = last(x), b = last(y);
      if (std::isnan(a)) return false;
      if (std::isnan(b)) return true;
      return desc ? a > b : a < b;
    });
  }

  labels::Labels AbsentLabels(const Expr& arg) {
    const VectorSelector* vs = arg.As<VectorSelector>();
    if (const auto* ms = arg.As<MatrixSelector>()) vs = ms->selector->As<VectorSelector>();
    if (vs == nullptr) return {};
    labels::LabelsBuilder b;
    std::set<std::string> has;
    for (const auto& m : vs->matchers) {
      if (m.name() == labels::kMetricName) continue;
      if (m.type() == labels::MatchType::kEqual && !has.count(m.name())) {
        b.Set(m.name(), m.value());
        has.insert(m.name());
      } else {
        b.Del(m.name());
      }
    }
    return b.Build();
  }

  Val EvalPointwise(const Call& c, std::string_view name) {
    Val in;
    if (c.args.empty()) {
      // Date functions default to vector(time()).
      in.type = ValueType::kVector;
      ISeries o;
      for (size_t i = 0; i < NumSteps(); ++i)
        o.points.push_back({StepTime(i), StepTime(i) / 1000.0});
      in.series.push_back(std::move(o));
    } else {
      in = Eval(*c.args[0]);
    }
    std::vector<Val> extra;
    for (size_t i = 1; i < c.args.size(); ++i) extra.push_back(Eval(*c.args[i]));
    auto arg = [&](size_t k, size_t step) { return extra[k].scalar[step]; };
    std::function<double(double, size_t)> f;
    bool drop_empty_clamp = false;
    if (name == "abs")
      f = [](double x, size_t) { return std::abs(x); };
    else if (name == "ceil")
      f = [](double x, size_t) { return std::ceil(x); };
    else if (name == "floor")
      f = [](double x, size_t) { return std::floor(x); };
    else if (name == "exp")
      f = [](double x, size_t) { return std::exp(x); };
    else if (name == "sqrt")
      f = [](double x, size_t) { return std::sqrt(x); };
    else if (name == "ln")
      f = [](double x, size_t) { return std::log(x); };
    else if (name == "log2")
      f = [](double x, size_t) { return std::log2(x); };
    else if (name == "log10")
      f = [](double x, size_t) { return std::log10(x); };
    else if (name == "sin")
      f = [](double x, size_t) { return std::sin(x); };
    else if (name == "cos")
      f = [](double x, size_t) { return std::cos(x); };
    else if (name == "tan")
      f = [](double x, size_t) { return std::tan(x); };
    else if (name == "asin")
      f = [](double x, size_t) { return std::asin(x); };
    else if (name == "acos")
      f = [](double x, size_t) { return std::acos(x); };
    else if (name == "atan")
      f = [](double x, size_t) { return std::atan(x); };
    else if (name == "sinh")
      f = [](double x, size_t) { return std::sinh(x); };
    else if (name == "cosh")
      f = [](double x, size_t) { return std::cosh(x); };
    else if (name == "tanh")
      f = [](double x, size_t) { return std::tanh(x); };
    else if (name == "asinh")
      f = [](double x, size_t) { return std::asinh(x); };
    else if (name == "acosh")
      f = [](double x, size_t) { return std::acosh(x); };
    else if (name == "atanh")
      f = [](double x, size_t) { return std::atanh(x); };
    else if (name == "deg")
      f = [](double x, size_t) { return x * 180 / M_PI; };
    else if (name == "rad")
      f = [](double x, size_t) { return x * M_PI / 180; };
    else if (name == "sgn")
      f = [](double x, size_t) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x; };
    else if (name == "round") {
      f = [&](double x, size_t i) {
        double to = extra.empty() ? 1 : arg(0, i);
        double inv = 1.0 / to;
        return std::floor(x * inv + 0.5) / inv;
      };
    } else if (name == "clamp") {
      drop_empty_clamp = true;
      f = [&](double x, size_t i) {
        double lo = arg(0, i), hi = arg(1, i);
        if (hi < lo) return kNaN;  // filtered below
        return GoMax(lo, GoMin(hi, x));
      };
    } else if (name == "clamp_max") {
      f = [&](double x, size_t i) { return GoMin(arg(0, i), x); };
    } else if (name == "clamp_min") {
      f = [&](double x, size_t i) { return GoMax(arg(0, i), x); };
    } else if (name == "days_in_month" || name == "day_of_month" || name == "day_of_week" ||
               name == "day_of_year" || name == "hour" || name == "minute" || name == "month" ||
               name == "year") {
      f = [name](double x, size_t) {
        // Timestamps beyond int64 seconds have no calendar date.
        if (std::isnan(x) || !(std::abs(x) < 9.2e18)) return kNaN;
        CivilTime ct = ToCivil(x);
        if (name == "days_in_month") return static_cast<double>(DaysInMonth(ct.year, ct.month));
        if (name == "day_of_month") return static_cast<double>(ct.day);
        if (name == "day_of_week") return static_cast<double>(ct.wday);
        if (name == "day_of_year") return static_cast<double>(ct.yday);
        if (name == "hour") return static_cast<double>(ct.hour);
        if (name == "minute") return static_cast<double>(ct.minute);
        if (name == "month") return static_cast<double>(ct.month);
        return static_cast<double>(ct.year);
      };
    } else {
      ExecError(
          absl::StrFormat("function \"%s\" is not supported by xScaler yet", std::string(name)));
    }
    Val out;
    out.type = ValueType::kVector;
    for (auto& s : in.series) {
      ISeries o{std::move(s.metric), {}, true};
      for (const auto& p : s.points) {
        size_t i = StepIndex(p.t);
        if (drop_empty_clamp && arg(1, i) < arg(0, i)) continue;
        o.points.push_back({p.t, f(p.v, i)});
      }
      if (!o.points.empty()) out.series.push_back(std::move(o));
    }
    return out;
  }

  // Re-labels each series, merging those that end up identical (an error if both have a
  // sample at the same step).
  Val Relabel(Val in, const std::function<labels::Labels(const labels::Labels&, bool*)>& fn) {
    std::map<labels::Labels, size_t> idx;
    Val out;
    out.type = ValueType::kVector;
    for (auto& s : in.series) {
      bool keep_name = false;
      labels::Labels nl = fn(s.metric, &keep_name);
      bool drop = s.drop_name && !keep_name;
      auto it = idx.find(nl);
      if (it == idx.end()) {
        idx.emplace(nl, out.series.size());
        out.series.push_back(ISeries{std::move(nl), std::move(s.points), drop});
        continue;
      }
      ISeries& dst = out.series[it->second];
      std::vector<Point> merged;
      std::merge(dst.points.begin(), dst.points.end(), s.points.begin(), s.points.end(),
                 std::back_inserter(merged),
                 [](const Point& a, const Point& b) { return a.t < b.t; });
      for (size_t i = 1; i < merged.size(); ++i) {
        if (merged[i].t == merged[i - 1].t) {
          ExecError("vector cannot contain metrics with the same labelset");
        }
      }
      dst.points = std::move(merged);
    }
    return out;
  }

  Val LabelReplace(const Call& c) {
    Val in = Eval(*c.args[0]);
    std::string dst = Eval(*c.args[1]).str;
    std::string repl = Eval(*c.args[2]).str;
    std::string src = Eval(*c.args[3]).str;
    std::string regex = Eval(*c.args[4]).str;
    re2::RE2::Options o;
    o.set_log_errors(false);
    o.set_dot_nl(true);
    re2::RE2 re("^(?:" + regex + ")$", o);
    if (!re.ok()) {
      ExecError(absl::StrFormat("invalid regular expression in label_replace(): %s", regex));
    }
    if (dst.empty() || !IsValidUtf8(dst)) {
      ExecError(absl::StrFormat("invalid destination label name in label_replace(): %s", dst));
    }
    int ngroups = re.NumberOfCapturingGroups();
    const auto& named = re.NamedCapturingGroups();
    return Relabel(std::move(in), [&](const labels::Labels& l, bool* keep_name) {
      std::string val(l.Get(src));
      std::vector<re2::StringPiece> groups(ngroups + 1);
      if (!re.Match(val, 0, val.size(), re2::RE2::UNANCHORED, groups.data(), ngroups + 1)) {
        return l;
      }
      std::string res = ExpandTemplate(repl, groups, named);
      if (dst == labels::kMetricName) *keep_name = true;
      labels::LabelsBuilder b(l);
      if (res.empty()) {
        b.Del(dst);
      } else {
        b.Set(dst, res);
      }
      return b.Build();
    });
  }

  // Go regexp's Expand: $1, ${1}, $name, ${name}, $$.
  static std::string ExpandTemplate(const std::string& tmpl,
                                    const std::vector<re2::StringPiece>& groups,
                                    const std::map<std::string, int>& named) {
    std::string out;
    for (size_t i = 0; i < tmpl.size(); ++i) {
      if (tmpl[i] != '$' || i + 1 >= tmpl.size()) {
        out += tmpl[i];
        continue;
      }
      if (tmpl[i + 1] == '$') {
        out += '$';
        ++i;
        continue;
      }
      std::string name;
      size_t j = i + 1;
      if (tmpl[j] == '{') {
        size_t close = tmpl.find('}', j);
        if (close == std::string::npos) {
          out += tmpl[i];
          continue;
        }
        name = tmpl.substr(j + 1, close - j - 1);
        j = close + 1;
      } else {
        while (j < tmpl.size() &&
               (std::isalnum(static_cast<unsigned char>(tmpl[j])) || tmpl[j] == '_')) {
          name += tmpl[j++];
        }
      }
      if (name.empty()) {
        out += tmpl[i];
        continue;
      }
      i = j - 1;
      bool numeric = std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isdigit(static_cast<unsigned char>(ch));
      });
      int idx = -1;
      if (numeric) {
        idx = name.size() < 9 ? std::stoi(name) : -1;
      } else {
        auto it = named.find(name);
        if (it != named.end()) idx = it->second;
      }
      if (idx >= 0 && idx < static_cast<int>(groups.size()) && groups[idx].data() != nullptr) {
        out.append(groups[idx].data(), groups[idx].size());
      }
    }
    return out;
  }

  Val LabelJoin(const Call& c) {
    Val in = Eval(*c.args[0]);
    std::string dst = Eval(*c.args[1]).str;
    std::string sep = Eval(*c.args[2]).str;
    std::vector<std::string> srcs;
    for (size_t i = 3; i < c.args.size(); ++i) {
      srcs.push_back(Eval(*c.args[i]).str);
      if (!IsValidUtf8(srcs.back())) {
        ExecError(absl::StrFormat("invalid source label name in label_join(): %s", srcs.back()));
      }
    }
    if (dst.empty() || !IsValidUtf8(dst)) {
      ExecError(absl::StrFormat("invalid destination label name in label_join(): %s", dst));
    }
    return Relabel(std::move(in), [&](const labels::Labels& l, bool* keep_name) {
      std::vector<std::string> vals;
      for (const auto& s : srcs) vals.emplace_back(l.Get(s));
      std::string res = absl::StrJoin(vals, sep);
      if (dst == labels::kMetricName) *keep_name = true;
      labels::LabelsBuilder b(l);
      if (res.empty()) {
        b.Del(dst);
      } else {
        b.Set(dst, res);
      }
      return b.Build();
    });
  }

  Val HistogramQuantile(const Call& c) {
    Val q = Eval(*c.args[0]);
    Val in = Eval(*c.args[1]);
    auto steps = ByStep(in);
    // Per series, once: its upper bound and its histogram (labels without `le`).
    // Histograms are found by a signature of the labels other than `le`; the key label set
    // is built once per histogram.
    absl::flat_hash_map<std::string, uint32_t> index;
    std::vector<labels::Labels> keys;
    std::vector<std::string> names;
    std::vector<double> upper(in.series.size());
    std::vector<int64_t> group_of(in.series.size(), -1);  // -1: missing or malformed `le`
    std::string sig;
    for (size_t k = 0; k < in.series.size(); ++k) {
      const auto& m = in.series[k].metric;
      if (!m.Has("le") || !ParseGoFloat(std::string(m.Get("le")), &upper[k])) continue;
      sig.clear();
      for (const auto& lb : m) {
        if (lb.name == "le") continue;
        AppendField(&sig, lb.name);
        AppendField(&sig, lb.value);
      }
      auto [it, inserted] = index.try_emplace(sig, static_cast<uint32_t>(keys.size()));
      if (inserted) {
        keys.push_back(WithoutLabel(m, "le"));
        names.emplace_back(m.MetricName());
      }
      group_of[k] = it->second;
    }
    std::vector<std::vector<Bucket>> buckets(keys.size());
    std::vector<int64_t> out_index(keys.size(), -1);
    std::vector<uint32_t> touched;
    Val out;
    out.type = ValueType::kVector;
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].empty()) continue;
      CheckDeadline();
      double qv = q.scalar[i];
      for (const auto& smp : steps[i]) {
        int64_t g = group_of[smp.series];
        if (g < 0) {
          ctx_->annos.Warn(absl::StrFormat(
              "bucket label \"le\" is missing or has a malformed value of \"%s\" for metric name "
              "\"%s\"",
              std::string(smp.metric->Get("le")), std::string(smp.metric->MetricName())));
          continue;
        }
        if (buckets[g].empty()) touched.push_back(static_cast<uint32_t>(g));
        buckets[g].push_back(Bucket{upper[smp.series], smp.v});
      }
      if (!touched.empty() && (std::isnan(qv) || qv < 0 || qv > 1)) {
        ctx_->annos.Warn(
            absl::StrFormat("quantile value should be between 0 and 1, got %s", FormatFloatG(qv)));
      }
      for (uint32_t g : touched) {
        bool forced = false;
        double v = BucketQuantile(qv, std::move(buckets[g]), &forced);
        buckets[g].clear();
        if (forced) {
          ctx_->annos.Info(absl::StrFormat(
              "input to histogram_quantile needed to be fixed for monotonicity (see "
              "https://prometheus.io/docs/prometheus/latest/querying/functions/"
              "#histogram_quantile) for metric name \"%s\"",
              names[g]));
        }
        if (out_index[g] < 0) {
          out_index[g] = static_cast<int64_t>(out.series.size());
          out.series.push_back(ISeries{keys[g], {}, true});
        }
        out.series[out_index[g]].points.push_back(Point{StepTime(i), v});
      }
      touched.clear();
    }
    return out;
  }

  // Functions whose (first matrix) argument is a range vector.
  Val EvalRangeFunction(const Call& c) {
    std::string_view name = c.func->name;
    size_t matrix_arg = 0;
    while (c.func->arg_types[std::min(matrix_arg, c.func->arg_types.size() - 1)] !=
           ValueType::kMatrix) {
      ++matrix_arg;
    }
    std::vector<Val> scalars(c.args.size());
    for (size_t i = 0; i < c.args.size(); ++i) {
      if (i != matrix_arg) scalars[i] = Eval(*c.args[i]);
    }
    RangeData rd = EvalRange(*c.args[matrix_arg]);
    size_t n = NumSteps();
    Val out;
    out.type = ValueType::kVector;
    if (name == "absent_over_time") {
      std::vector<bool> present(n, false);
      ForEachRangeSeries(rd, [&](ISeries&& s) {
        for (size_t i = 0; i < n; ++i) {
          if (present[i]) continue;
          int64_t te = rd.window_end[i];
          auto lo = std::upper_bound(s.points.begin(), s.points.end(), SatSub(te, rd.range),
                                     [](int64_t t, const Point& p) { return t < p.t; });
          if (lo != s.points.end() && lo->t <= te) present[i] = true;
        }
      });
      const Expr& arg = Unparen(*c.args[matrix_arg]);
      ISeries o{AbsentLabels(arg), {}, false};
      for (size_t i = 0; i < n; ++i) {
        if (!present[i]) o.points.push_back({StepTime(i), 1});
      }
      if (!o.points.empty()) out.series.push_back(std::move(o));
      return out;
    }
    if (name == "double_exponential_smoothing") {
      for (size_t i = 0; i < n; ++i) {
        double sf = scalars[1].scalar[i], tf = scalars[2].scalar[i];
        if (!(sf > 0 && sf < 1)) {
          ExecError(absl::StrFormat("invalid smoothing factor. Expected: 0 < sf < 1, got: %s",
                                    FormatFloatG(sf)));
        }
        if (!(tf > 0 && tf < 1)) {
          ExecError(absl::StrFormat("invalid trend factor. Expected: 0 < tf < 1, got: %s",
                                    FormatFloatG(tf)));
        }
      }
    }
    bool keep_name = name == "last_over_time";
    const RangeFnSpec f = MakeRangeFnSpec(name, rd, scalars, matrix_arg);
    if (rd.selector != nullptr) {
      std::vector<labels::Labels> metric(kSeriesSlots);
      EvalRangeSeries(
          f, [&](const labels::Labels& l, size_t slot) { metric[slot] = l; },
          [&](size_t slot, SeriesTask& t) {
            AddSamples(static_cast<int64_t>(t.out.size()));
            if (t.out.empty()) return;
            out.series.push_back(ISeries{std::move(metric[slot]), std::move(t.out), !keep_name});
          });
      return out;
    }
    SeriesTask t;
    for (auto& s : rd.series) {
      CheckDeadline();
      t.counter_named = CounterNamed(f, s.metric.MetricName());
      if (!t.counter_named) t.metric_name = s.metric.MetricName();
      t.notes.Clear();
      RangeFunctionPoints(f, t.counter_named, s.points, &t.out, &t.notes);
      ReplayNotes(f, t);
      AddSamples(static_cast<int64_t>(t.out.size()));
      if (!t.out.empty()) {
        out.series.push_back(ISeries{std::move(s.metric), std::move(t.out), !keep_name || s.drop_name});
      }
      t.out.clear();
    }
    return out;
  }

  QueryContext* ctx_;
  int64_t start_;
  int64_t end_;
  int64_t interval_;
};

// Removes __name__ from series marked for it; the result must still be unique.
void FinalizeNames(std::vector<ISeries>* series) {
  std::set<labels::Labels> seen;
  bool any = false;
  for (auto& s : *series) {
    if (s.drop_name) {
      s.metric = DropName(s.metric);
      s.drop_name = false;
      any = true;
    }
  }
  if (!any) return;
  for (const auto& s : *series) {
    if (!seen.insert(s.metric).second) {
      ExecError("vector cannot contain metrics with the same labelset");
    }
  }
}

}  // namespace

absl::StatusOr<Result> Engine::InstantQuery(storage::Storage& storage, std::string_view query,
                                            int64_t t_ms, const QueryOptions& qo) {
  auto expr = ParseExpr(query);
  if (!expr.ok()) return expr.status();
  return Exec(storage, **expr, t_ms, t_ms, 1, false, qo);
}

absl::StatusOr<Result> Engine::RangeQuery(storage::Storage& storage, std::string_view query,
                                          int64_t start_ms, int64_t end_ms, int64_t step_ms,
                                          const QueryOptions& qo) {
  auto expr = ParseExpr(query);
  if (!expr.ok()) return expr.status();
  return Exec(storage, **expr, start_ms, end_ms, step_ms, true, qo);
}

absl::StatusOr<Result> Engine::Exec(storage::Storage& storage, const Expr& expr, int64_t start_ms,
                                    int64_t end_ms, int64_t step_ms, bool range,
                                    const QueryOptions& qo) {
  ValueType vt = ValueTypeOf(expr);
  if (range) {
    if (step_ms <= 0) {
      return absl::InvalidArgumentError(
          "zero or negative query resolution step widths are not accepted. Try a positive "
          "integer");
    }
    if (end_ms < start_ms)
      return absl::InvalidArgumentError("end timestamp must not be before start time");
    if (vt != ValueType::kScalar && vt != ValueType::kVector) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "invalid expression type \"%s\" for range query, must be Scalar or instant Vector",
          std::string(ValueTypeName(vt))));
    }
  } else {
    end_ms = start_ms;
    step_ms = 1;
  }
  if (range && (end_ms - start_ms) / step_ms >= 11000) {
    return absl::InvalidArgumentError(
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
        "resolution (?step=XX)");
  }
  QueryContext ctx;
  ctx.storage = &storage;
  ctx.opts = &options_;
  ctx.lookback_ms = qo.lookback_delta_ms > 0 ? qo.lookback_delta_ms : options_.lookback_delta_ms;
  ctx.cancel = qo.cancel;
  ctx.query_start = start_ms;
  ctx.query_end = end_ms;
  int64_t timeout_ms = qo.timeout_ms >= 0 ? qo.timeout_ms : options_.timeout_ms;
  if (timeout_ms > 0) {
    ctx.has_deadline = true;
    ctx.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  // Admission: wait for a free slot, but no longer than the query's own budget.
  {
    absl::MutexLock lock(&mu_);
    auto has_slot = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return active_ < std::max(1, options_.max_concurrent_queries);
    };
    if (timeout_ms > 0) {
      if (!mu_.AwaitWithTimeout(absl::Condition(&has_slot), absl::Milliseconds(timeout_ms))) {
        return absl::DeadlineExceededError("query timed out in query queue");
      }
    } else {
      mu_.Await(absl::Condition(&has_slot));
    }
    ++active_;
  }
  struct Release {
    Engine* e;
    ~Release() {
      absl::MutexLock lock(&e->mu_);
      --e->active_;
    }
  } release{this};
  try {
    Evaluator ev(&ctx, start_ms, end_ms, step_ms);
    Val v = ev.Eval(expr);
    Result r;
    switch (v.type) {
      case ValueType::kScalar:
        if (range) {
          Series s;
          for (size_t i = 0; i < v.scalar.size(); ++i) {
            s.points.push_back(Point{start_ms + static_cast<int64_t>(i) * step_ms, v.scalar[i]});
          }
          r.value = Matrix{std::move(s)};
        } else {
          r.value = Scalar{start_ms, v.scalar[0]};
        }
        break;
      case ValueType::kString:
        r.value = String{start_ms, v.str};
        break;
      case ValueType::kVector:
      case ValueType::kMatrix: {
        FinalizeNames(&v.series);
        if (range || v.type == ValueType::kMatrix) {
          Matrix m;
          for (auto& s : v.series) {
            if (!s.points.empty()) m.push_back(Series{std::move(s.metric), std::move(s.points)});
          }
          if (range) {
            std::sort(m.begin(), m.end(),
                      [](const Series& a, const Series& b) { return a.metric < b.metric; });
          }
          r.value = std::move(m);
        } else {
          Vector vec;
          for (auto& s : v.series) {
            // One step: at most one point per series, so its labels can move.
            for (size_t i = 0; i < s.points.size(); ++i) {
              vec.push_back(Sample{i + 1 == s.points.size() ? std::move(s.metric) : s.metric,
                                   start_ms, s.points[i].v});
            }
          }
          r.value = std::move(vec);
        }
        break;
      }
      case ValueType::kNone:
        return absl::InternalError("expression produced no value");
    }
    r.warnings = std::move(ctx.annos.warnings);
    r.infos = std::move(ctx.annos.infos);
    return r;
  } catch (const EvalFailure& f) {
    return f.status;
  }
}

}  // namespace xscaler::promql
