// Throughput of OTLP decode + translate into an Appender that accepts everything (no storage
// cost), for counters and histograms, protobuf and JSON.
#include <string>

#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "ingest/otlp/ingester.h"
#include "storage/null_appender.h"
#include "metrics.pb.h"

namespace xscaler::ingest::otlp {
namespace {

namespace pb = ::xscaler::test::otlp;

using storage::NullAppender;


void Attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs, const std::string& k,
          const std::string& v) {
  auto* kv = attrs->Add();
  kv->set_key(k);
  kv->mutable_value()->set_string_value(v);
}

// `series` points of a cumulative counter with 4 attributes, or histograms with 10 buckets.
pb::ExportMetricsServiceRequest MakeRequest(int series, bool histogram) {
  pb::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  Attr(rm->mutable_resource()->mutable_attributes(), "service.name", "bench");
  Attr(rm->mutable_resource()->mutable_attributes(), "service.instance.id", "i-1");
  Attr(rm->mutable_resource()->mutable_attributes(), "host.name", "h1");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name(histogram ? "http.server.request.duration" : "http.server.requests");
  m->set_unit(histogram ? "s" : "1");
  for (int i = 0; i < series; ++i) {
    google::protobuf::RepeatedPtrField<pb::KeyValue>* attrs;
    if (histogram) {
      m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
      auto* p = m->mutable_histogram()->add_data_points();
      p->set_start_time_unix_nano(1700000000000000000ULL);
      p->set_time_unix_nano(1700000015000000000ULL);
      p->set_count(100);
      p->set_sum(12.5);
      for (int b = 0; b < 10; ++b) {
        p->add_explicit_bounds(0.005 * (1 << b));
        p->add_bucket_counts(10);
      }
      p->add_bucket_counts(0);
      attrs = p->mutable_attributes();
    } else {
      m->mutable_sum()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
      m->mutable_sum()->set_is_monotonic(true);
      auto* p = m->mutable_sum()->add_data_points();
      p->set_start_time_unix_nano(1700000000000000000ULL);
      p->set_time_unix_nano(1700000015000000000ULL);
      p->set_as_int(i);
      attrs = p->mutable_attributes();
    }
    Attr(attrs, "http.request.method", "GET");
    Attr(attrs, "http.response.status_code", std::to_string(200 + i % 5));
    Attr(attrs, "http.route", "/api/v1/items/" + std::to_string(i));
    Attr(attrs, "server.address", "example.com");
  }
  return req;
}

void Run(benchmark::State& state, bool histogram, Encoding enc) {
  pb::ExportMetricsServiceRequest req = MakeRequest(1000, histogram);
  std::string body;
  if (enc == Encoding::kProtobuf) {
    body = req.SerializeAsString();
  } else {
    (void)google::protobuf::util::MessageToJsonString(req, &body);
  }
  Ingester ing(nullptr, {});
  NullAppender app;
  int64_t samples = 0;
  for (auto _ : state) {
    std::string copy = body;
    IngestReport report;
    if (!ing.Ingest(copy, enc, app, report).ok()) state.SkipWithError("ingest failed");
    samples += report.accepted_samples();
  }
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(state.iterations()) * 1000,
                                                  benchmark::Counter::kIsRate);
  state.counters["samples/s"] =
      benchmark::Counter(static_cast<double>(samples), benchmark::Counter::kIsRate);
}

void BM_CounterProto(benchmark::State& s) { Run(s, false, Encoding::kProtobuf); }
void BM_HistogramProto(benchmark::State& s) { Run(s, true, Encoding::kProtobuf); }
void BM_CounterJson(benchmark::State& s) { Run(s, false, Encoding::kJson); }
BENCHMARK(BM_CounterProto);
BENCHMARK(BM_HistogramProto);
BENCHMARK(BM_CounterJson);

}  // namespace
}  // namespace xscaler::ingest::otlp

BENCHMARK_MAIN();
