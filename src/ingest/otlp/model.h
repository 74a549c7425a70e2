// A decoded OTLP ExportMetricsServiceRequest, flattened into a few arrays of plain structs so
// both decoders (protobuf and JSON) produce the same thing and the translator never sees the
// wire format. Strings are views into the request body (or into `arena` for attribute values
// that had to be rendered, e.g. ints); the body must outlive the Request.
//
// Invariants: every Span32 indexes the array named in its comment; a metric's points, a point's
// attributes/buckets/bounds/quantiles are contiguous. Not thread-safe; reuse with Clear() to keep
// the capacity of the arrays between requests.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xscaler::ingest::otlp {

struct Span32 {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t size() const { return end - begin; }
  bool empty() const { return begin == end; }
};

struct Attr {
  std::string_view key;
  std::string_view value;  // AnyValue rendered as text (see attribute rules in ingester.h)
};

enum class MetricKind : uint8_t {
  kNone,
  kGauge,
  kSum,
  kHistogram,
  kExponentialHistogram,
  kSummary
};
enum class Temporality : uint8_t { kUnspecified = 0, kDelta = 1, kCumulative = 2 };

struct Point {
  Span32 attrs;  // Request::attrs
  uint64_t start_ns = 0;
  uint64_t time_ns = 0;
  uint32_t flags = 0;
  // Number points.
  bool has_value = false;
  double value = 0;
  // Histogram and summary points.
  bool has_sum = false;
  uint64_t count = 0;
  double sum = 0;
  Span32 buckets;    // Request::bucket_counts
  Span32 bounds;     // Request::bounds
  Span32 quantiles;  // Request::quantiles
  // A problem the decoder found in an otherwise well-formed point (e.g. a JSON bucket count that
  // is "NaN"); the translator rejects the point with this reason. Static string or nullptr.
  const char* invalid = nullptr;
};

struct Metric {
  std::string_view name;
  std::string_view description;
  std::string_view unit;
  MetricKind kind = MetricKind::kNone;
  Temporality temporality = Temporality::kUnspecified;
  bool monotonic = false;
  Span32 points;  // Request::points
};

struct Scope {
  std::string_view name;
  std::string_view version;
  Span32 metrics;  // Request::metrics
};

struct Resource {
  Span32 attrs;   // Request::attrs
  Span32 scopes;  // Request::scopes
};

struct Request {
  std::vector<Resource> resources;
  std::vector<Scope> scopes;
  std::vector<Metric> metrics;
  std::vector<Point> points;
  std::vector<Attr> attrs;
  std::vector<uint64_t> bucket_counts;
  std::vector<double> bounds;
  std::vector<std::pair<double, double>> quantiles;  // (quantile, value)
  // Storage for rendered attribute values; a deque so views stay valid as it grows.
  std::deque<std::string> arena;

  void Clear() {
    resources.clear();
    scopes.clear();
    metrics.clear();
    points.clear();
    attrs.clear();
    bucket_counts.clear();
    bounds.clear();
    quantiles.clear();
    arena.clear();
  }
  std::string_view Keep(std::string s) { return arena.emplace_back(std::move(s)); }
};

}  // namespace xscaler::ingest::otlp
