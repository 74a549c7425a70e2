// PromQL result values (scalar, string, instant vector, range matrix) and the error kinds the
// engine reports. Plain values; safe to share read-only between threads.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "labels/labels.h"

namespace xscaler::promql {

struct Point {
  int64_t t;
  double v;
  friend bool operator==(const Point&, const Point&) = default;
};

struct Sample {
  labels::Labels metric;
  int64_t t;
  double v;
};

struct Series {
  labels::Labels metric;
  std::vector<Point> points;
};

struct Scalar {
  int64_t t;
  double v;
};

struct String {
  int64_t t;
  std::string v;
};

using Vector = std::vector<Sample>;
using Matrix = std::vector<Series>;
using Value = std::variant<Scalar, String, Vector, Matrix>;

struct Result {
  Value value;
  std::vector<std::string> warnings;  // "PromQL warning: ..." annotations
  std::vector<std::string> infos;     // "PromQL info: ..." annotations
};

// Prometheus' error types. The engine maps them onto absl codes: bad_data = InvalidArgument,
// timeout = DeadlineExceeded, canceled = Cancelled, everything else = execution.
enum class ErrorKind { kBadData, kExecution, kTimeout, kCanceled };
ErrorKind KindOf(const absl::Status& s);
std::string_view ErrorKindName(ErrorKind k);  // "bad_data", "execution", "timeout", "canceled"

}  // namespace xscaler::promql
