#include "promql/range_functions.h"

#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "absl/strings/str_format.h"
#include "promql/eval_math.h"
#include "promql/printer.h"

namespace xscaler::promql {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int64_t SatSub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) {
    return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

WindowStatus Done(bool has_value) {
  return has_value ? WindowStatus::kValue : WindowStatus::kEmpty;
}

std::pair<double, double> LinearRegression(std::span<const Point> s, int64_t intercept_t) {
  double n = 0, sx = 0, cx = 0, sy = 0, cy = 0, sxy = 0, cxy = 0, sx2 = 0, cx2 = 0;
  double init = s[0].v;
  bool const_y = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (const_y && i > 0 && s[i].v != init) const_y = false;
    n += 1;
    double x = static_cast<double>(s[i].t - intercept_t) / 1e3;
    std::tie(sx, cx) = KahanSumInc(x, sx, cx);
    std::tie(sy, cy) = KahanSumInc(s[i].v, sy, cy);
    std::tie(sxy, cxy) = KahanSumInc(x * s[i].v, sxy, cxy);
    std::tie(sx2, cx2) = KahanSumInc(x * x, sx2, cx2);
  }
  if (const_y) {
    if (std::isinf(init)) return {kNaN, kNaN};
    return {0, init};
  }
  sx += cx;
  sy += cy;
  sxy += cxy;
  sx2 += cx2;
  double cov = sxy - sx * sy / n;
  double var = sx2 - sx * sx / n;
  double slope = cov / var;
  return {slope, sy / n - slope * sx / n};
}

}  // namespace

bool ExtrapolatedRate(std::span<const Point> s, int64_t te, int64_t range, bool counter, bool rate,
                      double* out) {
  if (s.size() < 2) return false;
  double result = s.back().v - s.front().v;
  if (counter) {
    double prev = s[0].v;
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i].v < prev) result += prev;
      prev = s[i].v;
    }
  }
  int64_t range_start = SatSub(te, range);
  double to_start = static_cast<double>(s.front().t - range_start) / 1000;
  double to_end = static_cast<double>(te - s.back().t) / 1000;
  double sampled = static_cast<double>(s.back().t - s.front().t) / 1000;
  double avg = sampled / static_cast<double>(s.size() - 1);
  double threshold = avg * 1.1;
  if (to_start >= threshold) to_start = avg / 2;
  if (counter) {
    double to_zero = to_start;
    if (result > 0 && s.front().v >= 0) to_zero = sampled * (s.front().v / result);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = avg / 2;
  double factor = (sampled + to_start + to_end) / sampled;
  if (rate) factor /= static_cast<double>(range) / 1000;
  *out = result * factor;
  return true;
}


WindowStatus EvalWindowFunction(std::string_view name, std::span<const Point> w,
                                const WindowArgs& a, double* out, std::string* warning) {
  const int64_t te = a.window_end;
  const int64_t range = a.range;
  const int64_t step_time = a.step_time;
  if (name == "rate") return Done(ExtrapolatedRate(w, te, range, true, true, out));
  if (name == "increase") return Done(ExtrapolatedRate(w, te, range, true, false, out));
  if (name == "delta") return Done(ExtrapolatedRate(w, te, range, false, false, out));
  if (name == "irate" || name == "idelta") {
    if (w.size() < 2) return WindowStatus::kEmpty;
    const Point& last = w[w.size() - 1];
    const Point& prev = w[w.size() - 2];
    bool is_rate = name == "irate";
    double v = is_rate && last.v < prev.v ? last.v : last.v - prev.v;
    int64_t dt = last.t - prev.t;
    if (dt == 0) return WindowStatus::kEmpty;
    if (is_rate) v /= static_cast<double>(dt) / 1000;
    *out = v;
    return WindowStatus::kValue;
  }
  if (name == "deriv") {
    if (w.size() < 2) return WindowStatus::kEmpty;
    *out = LinearRegression(w, w[0].t).first;
    return WindowStatus::kValue;
  }
  if (name == "predict_linear") {
    if (w.size() < 2) return WindowStatus::kEmpty;
    // Prometheus anchors the intercept at the evaluation step, even under `@`.
    auto [slope, intercept] = LinearRegression(w, step_time);
    *out = slope * a.arg[1] + intercept;
    return WindowStatus::kValue;
  }
  if (name == "avg_over_time") {
    std::vector<double> vals;
    for (const auto& p : w) vals.push_back(p.v);
    *out = AverageOf(vals);
    return WindowStatus::kValue;
  }
  if (name == "sum_over_time") {
    double sum = 0, c = 0;
    for (const auto& p : w) std::tie(sum, c) = KahanSumInc(p.v, sum, c);
    *out = sum + c;
    return WindowStatus::kValue;
  }
  if (name == "count_over_time") {
    *out = static_cast<double>(w.size());
    return WindowStatus::kValue;
  }
  if (name == "min_over_time" || name == "max_over_time") {
    bool mx = name == "max_over_time";
    double v = w[0].v;
    for (const auto& p : w) {
      if ((mx ? p.v > v : p.v < v) || std::isnan(v)) v = p.v;
    }
    *out = v;
    return WindowStatus::kValue;
  }
  if (name == "ts_of_min_over_time" || name == "ts_of_max_over_time") {
    bool mx = name == "ts_of_max_over_time";
    double v = w[0].v;
    int64_t t = w[0].t;
    for (const auto& p : w) {
      if ((mx ? p.v >= v : p.v <= v) || std::isnan(v)) {
        v = p.v;
        t = p.t;
      }
    }
    *out = static_cast<double>(t) / 1000;
    return WindowStatus::kValue;
  }
  if (name == "last_over_time") {
    *out = w.back().v;
    return WindowStatus::kValue;
  }
  if (name == "ts_of_last_over_time") {
    *out = static_cast<double>(w.back().t) / 1000;
    return WindowStatus::kValue;
  }
  if (name == "present_over_time") {
    *out = 1;
    return WindowStatus::kValue;
  }
  if (name == "stddev_over_time" || name == "stdvar_over_time") {
    double count = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (const auto& p : w) {
      count++;
      double delta = p.v - (mean + cmean);
      std::tie(mean, cmean) = KahanSumInc(delta / count, mean, cmean);
      std::tie(aux, caux) = KahanSumInc(delta * (p.v - (mean + cmean)), aux, caux);
    }
    double var = (aux + caux) / count;
    *out = name == "stddev_over_time" ? std::sqrt(var) : var;
    return WindowStatus::kValue;
  }
  if (name == "quantile_over_time") {
    double q = a.arg[0];
    if (std::isnan(q) || q < 0 || q > 1) {
      *warning =
          absl::StrFormat("quantile value should be between 0 and 1, got %s", FormatFloatG(q));
    }
    std::vector<double> vals;
    for (const auto& p : w) vals.push_back(p.v);
    *out = Quantile(q, std::move(vals));
    return WindowStatus::kValue;
  }
  if (name == "mad_over_time") {
    std::vector<double> vals;
    for (const auto& p : w) vals.push_back(p.v);
    double median = Quantile(0.5, vals);
    for (auto& v : vals) v = std::abs(v - median);
    *out = Quantile(0.5, std::move(vals));
    return WindowStatus::kValue;
  }
  if (name == "changes" || name == "resets") {
    double count = 0;
    for (size_t i = 1; i < w.size(); ++i) {
      double prev = w[i - 1].v, cur = w[i].v;
      if (name == "changes") {
        if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) count++;
      } else if (cur < prev) {
        count++;
      }
    }
    *out = count;
    return WindowStatus::kValue;
  }
  if (name == "double_exponential_smoothing") {
    if (w.size() < 2) return WindowStatus::kEmpty;
    double sf = a.arg[1], tf = a.arg[2];
    double s0 = 0, s1 = w[0].v, b = w[1].v - w[0].v;
    for (size_t i = 1; i < w.size(); ++i) {
      double x = sf * w[i].v;
      if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
      double y = (1 - sf) * (s1 + b);
      s0 = s1;
      s1 = x + y;
    }
    *out = s1;
    return WindowStatus::kValue;
  }
  return WindowStatus::kUnsupported;
}

// Prometheus' mean: Kahan-compensated direct sum, switching to an incremental mean on
// overflow.
double AverageOf(const std::vector<double>& vals) {
  if (vals.empty()) return kNaN;
  double sum = vals[0], c = 0, mean = 0, count = 1;
  bool incremental = false;
  for (size_t i = 1; i < vals.size(); ++i) {
    double x = vals[i];
    count++;
    if (!incremental) {
      auto [ns, nc] = KahanSumInc(x, sum, c);
      if (!std::isinf(ns)) {
        sum = ns;
        c = nc;
        continue;
      }
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    if (std::isinf(mean)) {
      if (std::isinf(x) && (mean > 0) == (x > 0)) continue;
      if (!std::isinf(x) && !std::isnan(x)) continue;
    }
    double current = mean + c;
    std::tie(mean, c) = KahanSumInc(x / count - current / count, mean, c);
  }
  if (incremental) return mean + c;
  return sum / count + c / count;
}

}  // namespace xscaler::promql
