#include "api/query_result_json.h"

#include <type_traits>

#include "api/json_writer.h"

namespace xscaler::api {
namespace {

void WriteMetric(JsonWriter& w, const labels::Labels& lset) {
  w.BeginObject();
  for (const auto& l : lset) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

void WritePoint(JsonWriter& w, int64_t t, double v) {
  w.BeginArray();
  w.Timestamp(t);
  w.SampleValue(v);
  w.EndArray();
}

// An upper-end guess of the JSON size of `lset`.
size_t MetricJsonSize(const labels::Labels& lset) {
  size_t n = 2;
  for (const auto& l : lset) n += l.name.size() + l.value.size() + 6;
  return n;
}

// A guess of the answer's size (escapes aside), to reserve the output once.
size_t JsonSizeGuess(const promql::Value& value) {
  size_t n = 64;
  if (const auto* vec = std::get_if<promql::Vector>(&value)) {
    for (const promql::Sample& s : *vec) n += MetricJsonSize(s.metric) + 64;
  } else if (const auto* m = std::get_if<promql::Matrix>(&value)) {
    for (const promql::Series& s : *m) n += MetricJsonSize(s.metric) + 32 + 40 * s.points.size();
  }
  return n;
}

}  // namespace

std::string QueryDataJson(const promql::Value& value) {
  JsonWriter w;
  w.Reserve(JsonSizeGuess(value));
  w.BeginObject();
  w.Key("resultType");
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, promql::Scalar>) {
          w.String("scalar");
          w.Key("result");
          WritePoint(w, v.t, v.v);
        } else if constexpr (std::is_same_v<T, promql::String>) {
          w.String("string");
          w.Key("result");
          w.BeginArray();
          w.Timestamp(v.t);
          w.String(v.v);
          w.EndArray();
        } else if constexpr (std::is_same_v<T, promql::Vector>) {
          w.String("vector");
          w.Key("result");
          w.BeginArray();
          for (const promql::Sample& s : v) {
            w.BeginObject();
            w.Key("metric");
            WriteMetric(w, s.metric);
            w.Key("value");
            WritePoint(w, s.t, s.v);
            w.EndObject();
          }
          w.EndArray();
        } else {
          w.String("matrix");
          w.Key("result");
          w.BeginArray();
          for (const promql::Series& s : v) {
            w.BeginObject();
            w.Key("metric");
            WriteMetric(w, s.metric);
            w.Key("values");
            w.BeginArray();
            for (const promql::Point& p : s.points) WritePoint(w, p.t, p.v);
            w.EndArray();
            w.EndObject();
          }
          w.EndArray();
        }
      },
      value);
  w.EndObject();
  return w.Take();
}

}  // namespace xscaler::api
