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

}  // namespace

std::string QueryDataJson(const promql::Value& value) {
  JsonWriter w;
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
