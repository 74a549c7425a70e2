// PromQL's range-vector functions evaluated over one series' samples in one window (rate with
// Prometheus' extrapolation, irate/idelta, deriv, predict_linear, the *_over_time family,
// changes/resets, double_exponential_smoothing). The engine slides the window; these are pure
// functions and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "promql/value.h"

namespace xscaler::promql {

struct WindowArgs {
  int64_t window_end;  // evaluation time after @ and offset; the window is (end - range, end]
  int64_t range;
  int64_t step_time;  // the query step (predict_linear anchors its intercept here)
  double arg[3];      // the call's scalar arguments at this step, by position (0 elsewhere)
};

enum class WindowStatus { kValue, kEmpty, kUnsupported };

// REQUIRES: `w` is non-empty, in time order, without staleness markers. On kValue `*out` is
// set. `*warning` receives an annotation text (without the "PromQL warning: " prefix) if any.
WindowStatus EvalWindowFunction(std::string_view name, std::span<const Point> w,
                                const WindowArgs& args, double* out, std::string* warning);

// rate (counter, rate), increase (counter) and delta over one window ending at `te`, with
// Prometheus' extrapolation (extrapolatedRate); false when the window has fewer than two
// samples. What EvalWindowFunction computes for those names, callable without the name lookup.
bool ExtrapolatedRate(std::span<const Point> w, int64_t te, int64_t range, bool counter, bool rate,
                      double* out);

// Prometheus' mean: Kahan-compensated direct sum, switching to an incremental mean when the
// sum would overflow. NaN for no values.
double AverageOf(const std::vector<double>& vals);

}  // namespace xscaler::promql
