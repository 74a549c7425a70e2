// Numeric helpers shared by the engine's operators, aggregations and functions, matching
// Prometheus' float semantics (Kahan-Neumaier summation, quantiles, classic-histogram bucket
// interpolation, Go float formatting). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/format.h"

namespace xscaler::promql {

// One Kahan-Neumaier step: returns (new sum, new compensation).
std::pair<double, double> KahanSumInc(double inc, double sum, double c);

// Prometheus' quantile over plain values (sorts `values`): NaN for empty input or NaN q,
// -Inf/+Inf for q outside [0, 1].
double Quantile(double q, std::vector<double> values);

struct Bucket {
  double upper_bound;
  double count;
};
// Classic-histogram quantile; sets *forced_monotonic when counts had to be fixed up.
double BucketQuantile(double q, std::vector<Bucket> buckets, bool* forced_monotonic);

// Go's strconv.FormatFloat(v, 'f', -1, 64), "+Inf", "-Inf", "NaN".
using base::FormatFloatF;

// Go's strconv.ParseFloat(s, 64) acceptance (incl. "+Inf", "NaN", "1e3"); false on junk.
bool ParseGoFloat(const std::string& s, double* out);

// Prometheus' labels.Hash(): xxhash64 over name 0xff value 0xff ... .
uint64_t XXHash64(const void* data, size_t len, uint64_t seed = 0);

}  // namespace xscaler::promql
